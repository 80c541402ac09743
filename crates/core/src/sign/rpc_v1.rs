//! RPC signature v1 (HMAC-SHA1), sent by the old SDK and by the new SDK with
//! `signature_algorithm='v2'`:
//!
//! ```text
//! StringToSign = METHOD & enc("/") & enc(join("&", sorted(enc(k) "=" enc(v))))
//! Signature    = base64(HMAC-SHA1(secret + "&", StringToSign))
//! ```
//! Every parameter but `Signature` is signed, including empty ones such as `SignatureType=`.

use aws_lc_rs::hmac;
use base64::Engine;

/// The string-to-sign for `method` and the decoded parameters (without `Signature`). Built in
/// one buffer: each pair is percent-encoded twice on the fly (`enc(enc(x))`: an unreserved
/// byte stays, any other byte `b` becomes `%25XX`), sorted by the encoded name.
pub fn string_to_sign<'p>(
    method: &str,
    params: impl IntoIterator<Item = (&'p str, &'p str)>,
) -> String {
    // Each pair with whether its name is unreserved throughout (parameter names nearly always
    // are): between two such names `enc` keeps the plain byte order, so they compare as they
    // are; any other comparison is of the encodings, built on the fly.
    let mut pairs: Vec<(&str, &str, bool)> = params
        .into_iter()
        .filter(|(k, _)| *k != "Signature")
        .map(|(k, v)| (k, v, k.bytes().all(unreserved)))
        .collect();
    pairs.sort_unstable_by(|a, b| {
        let names = if a.2 && b.2 {
            a.0.cmp(b.0)
        } else {
            encoded(a.0).cmp(encoded(b.0))
        };
        names.then_with(|| encoded(a.1).cmp(encoded(b.1)))
    });
    let len: usize = pairs.iter().map(|(k, v, _)| k.len() + v.len()).sum();
    let mut out = Vec::with_capacity(method.len() + 8 + len * 2 + pairs.len() * 6);
    out.extend_from_slice(method.as_bytes());
    out.extend_from_slice(b"&%2F&");
    for (i, (k, v, _)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"%26");
        }
        push_twice_encoded(&mut out, k);
        out.extend_from_slice(b"%3D");
        push_twice_encoded(&mut out, v);
    }
    // Only ASCII was pushed: `method` is a token and every other byte is encoded.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Whether `b` is left as is by `enc`.
fn unreserved(b: u8) -> bool {
    UNRESERVED[usize::from(b)]
}

/// [`unreserved`] as a table (it runs for every byte of every signed request).
static UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~');
        b += 1;
    }
    table
};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The bytes of `enc(s)`, without allocating.
fn encoded(s: &str) -> impl Iterator<Item = u8> + '_ {
    s.bytes().flat_map(|b| {
        let (len, bytes) = if unreserved(b) {
            (1, [b, 0, 0])
        } else {
            (3, [b'%', hex(b >> 4), hex(b & 0xF)])
        };
        bytes.into_iter().take(len)
    })
}

/// The upper-case hex digit of `n` (< 16).
fn hex(n: u8) -> u8 {
    HEX.get(usize::from(n)).copied().unwrap_or(b'0')
}

/// Appends `enc(enc(s))`: runs of unreserved bytes are copied whole.
fn push_twice_encoded(out: &mut Vec<u8>, s: &str) {
    let mut rest = s.as_bytes();
    while !rest.is_empty() {
        let run = rest
            .iter()
            .position(|&b| !unreserved(b))
            .unwrap_or(rest.len());
        let (plain, tail) = rest.split_at(run);
        out.extend_from_slice(plain);
        let Some((&b, tail)) = tail.split_first() else {
            break;
        };
        out.extend_from_slice(&[b'%', b'2', b'5', hex(b >> 4), hex(b & 0xF)]);
        rest = tail;
    }
}

/// The base64 signature of `string_to_sign` under `secret`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    sign_with(&signing_key(secret), string_to_sign)
}

/// The HMAC key of `secret` (`secret + "&"`), to sign many requests with [`sign_with`].
pub fn signing_key(secret: &str) -> hmac::Key {
    // The copy with `&`, in one buffer of its final size, is wiped when dropped.
    let mut key = zeroize::Zeroizing::new(Vec::with_capacity(secret.len() + 1));
    key.extend_from_slice(secret.as_bytes());
    key.push(b'&');
    hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key)
}

/// The base64 signature of `string_to_sign` under a key from [`signing_key`].
pub fn sign_with(key: &hmac::Key, string_to_sign: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac::sign(key, string_to_sign.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::super::percent::decode_form;
    use super::*;

    fn owned(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn one_buffer_form_equals_the_definition(
            params in proptest::collection::btree_map("[A-Za-z0-9.*~ %+/-]{1,12}", "\\PC{0,16}", 0..8)
        ) {
            use super::super::percent::enc;
            let params: Vec<(String, String)> = params.into_iter().collect();
            let mut pairs: Vec<(String, String)> =
                params.iter().map(|(k, v)| (enc(k), enc(v))).collect();
            pairs.sort();
            let canonical: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
            let definition = format!("POST&{}&{}", enc("/"), enc(&canonical.join("&")));
            proptest::prop_assert_eq!(string_to_sign("POST", crate::sign::pairs(&params)), definition);
        }
    }

    #[test]
    fn documentation_vector() {
        let p = owned(&[
            ("AccessKeyId", "testid"),
            ("Action", "CreateKey"),
            ("Format", "json"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-03-28T03:13:08Z"),
            ("Version", "2016-01-20"),
        ]);
        let sts = string_to_sign("GET", crate::sign::pairs(&p));
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateKey%26Format%3Djson%26SignatureMethod%3DHMAC-SHA1%26SignatureVersion%3D1.0%26Timestamp%3D2016-03-28T03%253A13%253A08Z%26Version%3D2016-01-20"
        );
        assert_eq!(sign("testsecret", &sts), "41wk2SSX1GJh7fwnc5eqOfiJPFg=");
    }

    #[test]
    fn captured_old_sdk_generate_data_key() {
        let q = "KeyId=alias%2Fmy-key&NumberOfBytes=32&EncryptionContext=%7B%22purpose%22%3A%20%22test%20data%22%2C%20%22a%2Ab%22%3A%20%22x%2By%2Fz~%22%7D&Version=2016-01-20&Action=GenerateDataKey&Format=JSON&RegionId=cn-hangzhou&Timestamp=2026-11-22T08%3A50%3A01Z&SignatureMethod=HMAC-SHA1&SignatureType=&SignatureVersion=1.0&SignatureNonce=a9b18817be624409ff4986fd0a83c7ed&AccessKeyId=LTAI5tTestAccessKeyId&Signature=4iQT4xVVkmUIq%2FRjcC%2FKTq9tJxQ%3D";
        let p = decode_form(q).unwrap();
        let sts = string_to_sign("POST", crate::sign::pairs(&p));
        assert_eq!(
            sts,
            "POST&%2F&AccessKeyId%3DLTAI5tTestAccessKeyId%26Action%3DGenerateDataKey%26EncryptionContext%3D%257B%2522purpose%2522%253A%2520%2522test%2520data%2522%252C%2520%2522a%252Ab%2522%253A%2520%2522x%252By%252Fz~%2522%257D%26Format%3DJSON%26KeyId%3Dalias%252Fmy-key%26NumberOfBytes%3D32%26RegionId%3Dcn-hangzhou%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Da9b18817be624409ff4986fd0a83c7ed%26SignatureType%3D%26SignatureVersion%3D1.0%26Timestamp%3D2026-11-22T08%253A50%253A01Z%26Version%3D2016-01-20"
        );
        assert_eq!(
            sign("TestAccessKeySecret123", &sts),
            "4iQT4xVVkmUIq/RjcC/KTq9tJxQ="
        );
        assert_ne!(
            sign("TestAccessKeySecret124", &sts),
            "4iQT4xVVkmUIq/RjcC/KTq9tJxQ="
        );
    }

    #[test]
    fn captured_new_sdk_v2_encrypt_with_plus_spaces() {
        let q = "Action=Encrypt&Format=json&Version=2016-01-20&Timestamp=2026-11-22T08%3A50%3A15Z&SignatureNonce=0cc9f8b822720d14ba9c6dafe24ba5c6&EncryptionContext=%7B%22k%22%3A%22v%22%7D&KeyId=1234abcd-12ab-34cd-56ef-12345678%2A%2A%2A%2A&Plaintext=hello+world+%2B%2F%3D+%C3%BC&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=LTAI5tTestAccessKeyId&Signature=FP%2FSjFN5B%2FvFe%2Bu4ELYFWGwxN9c%3D";
        let p = decode_form(q).unwrap();
        assert_eq!(
            sign(
                "TestAccessKeySecret123",
                &string_to_sign("POST", crate::sign::pairs(&p))
            ),
            "FP/SjFN5B/vFe+u4ELYFWGwxN9c="
        );
    }
}
