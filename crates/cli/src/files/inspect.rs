//! `keywarden inspect`: a file's header as JSON, without any key (nothing here is verified: the
//! header MAC needs the data key).

use std::io::{BufRead, BufReader, Read};

use base64::Engine;
use keywarden_envelope::{Format, TAG_LEN, detect, read_header};
use serde_json::{Value, json};

use crate::cli::InspectArgs;
use crate::files::open_input;

/// Runs the command.
pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let (input, len) = open_input(&args.file)?;
    let mut input = BufReader::new(input);
    let format = detect(input.fill_buf()?).ok_or(keywarden_envelope::Error::NotEnvelope)?;
    let info = match format {
        Format::Seed => seed_info(input)?,
        _ => kenv_info(input, len)?,
    };
    println!("{}", serde_json::to_string_pretty(&info)?);
    Ok(())
}

fn kenv_info(input: impl Read, file_len: Option<u64>) -> anyhow::Result<Value> {
    let h = read_header(input)?;
    let mut v = json!({
        "Format": "KENV",
        "Version": h.version(),
        "Suite": "AES-256-GCM, HKDF-SHA256",
        "KeyIds": h.key_ids().collect::<Vec<_>>(),
        "EncryptionContext": h.context(),
        "SegmentSize": h.segment_size(),
        "HeaderLength": h.header_len(),
    });
    if let (Some(total), Some(obj)) = (file_len, v.as_object_mut()) {
        if let Some(plain) = plaintext_len(
            total,
            u64::from(h.header_len()),
            u64::from(h.segment_size()),
        ) {
            obj.insert("PlaintextLength".into(), json!(plain));
        }
    }
    Ok(v)
}

/// Plaintext length implied by the file length (every segment carries a 16-byte tag; the final
/// one holds less than a full segment).
fn plaintext_len(total: u64, header_len: u64, segment: u64) -> Option<u64> {
    let body = total.checked_sub(header_len)?;
    let tag = TAG_LEN as u64;
    let full = segment + tag;
    let segments = body / full + 1;
    let rem = body % full;
    (rem >= tag).then(|| body - segments * tag)
}

fn seed_info(input: impl BufRead) -> anyhow::Result<Value> {
    let mut first = String::new();
    input.take(64 * 1024).read_line(&mut first)?;
    let first = first.trim();
    let blob = base64::engine::general_purpose::STANDARD
        .decode(first)
        .unwrap_or_default();
    let version = blob
        .get(..36)
        .and_then(|v| std::str::from_utf8(v).ok())
        .unwrap_or_default();
    Ok(json!({
        "Format": "seed",
        "CiphertextBlob": first,
        "KeyVersionId": version,
        "Cipher": "AES-EAX (16-byte nonce, 16-byte tag), whole file",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_length_from_file_length() {
        // 4096-byte header, 1 MiB segments: 0 bytes → one empty final segment (16 bytes).
        assert_eq!(plaintext_len(4096 + 16, 4096, 1 << 20), Some(0));
        assert_eq!(plaintext_len(4096 + 16 + 5, 4096, 1 << 20), Some(5));
        // Exactly one full segment → a full one plus an empty final one.
        assert_eq!(
            plaintext_len(4096 + (1 << 20) + 32, 4096, 1 << 20),
            Some(1 << 20)
        );
        assert_eq!(plaintext_len(4096 + 10, 4096, 1 << 20), None);
    }
}
