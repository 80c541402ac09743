//! Known-answer tests against pycryptodome (`tests/vectors/seed_eax_pycryptodome.json`),
//! through the real seed writer.

use super::*;

const VECTORS: &str = include_str!("../../tests/vectors/seed_eax_pycryptodome.json");

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data))
}

#[test]
fn writer_matches_pycryptodome_eax() {
    let json: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let kats = json["kat"].as_array().unwrap();
    assert_eq!(kats.len(), 41);
    for v in kats {
        let key = SeedKey::new(&hex::decode(v["key"].as_str().unwrap()).unwrap()).unwrap();
        let nonce: [u8; 16] = hex::decode(v["nonce"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let len = v["len"].as_u64().unwrap() as usize;
        let mut file = Vec::new();
        let n = encrypt_with_nonce(b"blob", &key, &nonce, &pattern(len)[..], &mut file).unwrap();
        assert_eq!(n, len as u64);
        let text = String::from_utf8(file).unwrap();
        let lines: Vec<&str> = text.split_terminator('\n').collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(STANDARD.decode(lines[1]).unwrap(), nonce);
        let ciphertext = STANDARD.decode(lines[2]).unwrap();
        assert_eq!(
            sha256_hex(&ciphertext),
            v["ciphertext_sha256"].as_str().unwrap(),
            "len {len}"
        );
        if let Some(expected) = v["ciphertext"].as_str() {
            assert_eq!(hex::encode(&ciphertext), expected);
        }
        assert_eq!(
            hex::encode(STANDARD.decode(lines[3]).unwrap()),
            v["tag"].as_str().unwrap()
        );
    }
}

#[test]
fn writer_reproduces_python_files_byte_for_byte() {
    let json: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    for f in json["files"].as_array().unwrap() {
        let key = SeedKey::new(&hex::decode(f["key"].as_str().unwrap()).unwrap()).unwrap();
        let blob = hex::decode(f["blob"].as_str().unwrap()).unwrap();
        let python = f["file"].as_str().unwrap();
        let nonce_line = python.lines().nth(1).unwrap();
        let nonce: [u8; 16] = STANDARD.decode(nonce_line).unwrap().try_into().unwrap();
        let len = f["len"].as_u64().unwrap() as usize;
        let mut ours = Vec::new();
        encrypt_with_nonce(&blob, &key, &nonce, &pattern(len)[..], &mut ours).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), python, "{}", f["name"]);
    }
}

#[test]
fn chunked_encoding_matches_one_shot_across_chunk_boundaries() {
    let key = SeedKey::new(&[9; 32]).unwrap();
    let nonce = [3; 16];
    for len in [
        PLAIN_CHUNK - 1,
        PLAIN_CHUNK,
        PLAIN_CHUNK + 1,
        2 * PLAIN_CHUNK + 2,
    ] {
        let data = pattern(len);
        let mut file = Vec::new();
        encrypt_with_nonce(b"b", &key, &nonce, &data[..], &mut file).unwrap();
        let mut expected = data.clone();
        let mut one_shot = EaxEncrypt::new(&key, &nonce).unwrap();
        one_shot.apply(&mut expected);
        let text = String::from_utf8(file).unwrap();
        assert_eq!(
            text.lines().nth(2).unwrap(),
            STANDARD.encode(&expected),
            "len {len}"
        );
        assert_eq!(
            text.lines().nth(3).unwrap(),
            STANDARD.encode(one_shot.finish())
        );
    }
}

#[test]
fn seed_key_lengths() {
    for ok in [16, 24, 32] {
        assert_eq!(SeedKey::new(&vec![1; ok]).unwrap().bits(), ok * 8);
    }
    for bad in [0, 15, 31, 33, 64] {
        assert!(matches!(
            SeedKey::new(&vec![1; bad]),
            Err(Error::InvalidArgument(_))
        ));
    }
    assert_eq!(SeedKey::from(&DataKey::from_array([5; 32])).bits(), 256);
    assert!(matches!(
        encrypt(b"", &SeedKey::new(&[1; 16]).unwrap(), &b""[..], Vec::new()),
        Err(Error::InvalidArgument(_))
    ));
}
