//! Unit tests for the header codec: one test per reader rule, plus round trips.

use super::*;

fn wk(id: &str, blob: &[u8]) -> WrappedKey {
    WrappedKey {
        key_id: id.into(),
        blob: blob.to_vec(),
    }
}

fn ctx(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A structurally valid header (zero MAC) of `len` bytes.
fn sample(len: usize) -> Vec<u8> {
    let ec = encode_context(&ctx(&[("a", "1"), ("b", "2")])).unwrap();
    encode_unsigned(
        16,
        &[7; SALT_LEN],
        &ec,
        &[wk("k1", b"blob1"), wk("k2", b"b2")],
        len,
    )
}

fn with(mut raw: Vec<u8>, at: usize, byte: u8) -> Vec<u8> {
    raw[at] = byte;
    raw
}

fn malformed(raw: &[u8]) -> &'static str {
    match Header::parse(raw) {
        Err(Error::Malformed(why)) => why,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn round_trip_and_accessors() {
    let raw = sample(4096);
    let h = Header::parse(&raw).unwrap();
    assert_eq!(h.as_bytes(), &raw[..]);
    assert_eq!(h.to_bytes(), raw);
    assert_eq!(h.header_len(), 4096);
    assert_eq!(h.segment_size(), 1 << 16);
    assert_eq!(h.version(), VERSION);
    assert_eq!(h.suite(), SUITE_AES256GCM_HKDF_SHA256);
    assert_eq!(h.salt(), &[7; SALT_LEN]);
    assert_eq!(h.context(), &ctx(&[("a", "1"), ("b", "2")]));
    assert_eq!(h.key_ids().collect::<Vec<_>>(), ["k1", "k2"]);
    assert_eq!(h.mac(), &[0; MAC_LEN]);
    assert_eq!(h.mac_input().len(), 4096 - MAC_LEN);
    // Parsing ignores bytes after the header.
    let mut longer = raw.clone();
    longer.extend_from_slice(b"body");
    assert_eq!(Header::parse(&longer).unwrap(), h);
    assert_eq!(read_header(&longer[..]).unwrap(), h);
}

#[test]
fn compact_header_has_minimum_length() {
    let wrapped = [wk("k", b"x")];
    let len = min_header_len(&[], &wrapped);
    assert_eq!(len, MIN_HEADER_LEN as usize);
    let raw = encode_unsigned(12, &[0; SALT_LEN], &[], &wrapped, len);
    assert_eq!(Header::parse(&raw).unwrap().to_bytes(), raw);
}

#[test]
fn magic_checks() {
    assert!(matches!(Header::parse(b""), Err(Error::NotEnvelope)));
    assert!(matches!(Header::parse(b"QUJD\n"), Err(Error::NotEnvelope)));
    assert!(matches!(
        Header::parse(&with(sample(4096), 1, b'k')),
        Err(Error::NotEnvelope)
    ));
    assert!(matches!(Header::parse(&MAGIC[..5]), Err(Error::Truncated)));
    assert!(matches!(
        Header::parse(&sample(4096)[..15]),
        Err(Error::Truncated)
    ));
    assert!(matches!(
        Header::parse(&sample(4096)[..4000]),
        Err(Error::Truncated)
    ));
    assert!(matches!(
        read_header(&sample(4096)[..4000]),
        Err(Error::Truncated)
    ));
    assert!(matches!(
        read_header(&sample(4096)[..3]),
        Err(Error::Truncated)
    ));
}

#[test]
fn prefix_checks_in_order() {
    assert!(matches!(
        Header::parse(&with(sample(4096), 8, 2)),
        Err(Error::UnsupportedVersion(2))
    ));
    assert!(matches!(
        Header::parse(&with(sample(4096), 9, 2)),
        Err(Error::UnsupportedSuite(2))
    ));
    // Version is checked before suite.
    let both = with(with(sample(4096), 8, 9), 9, 9);
    assert!(matches!(
        Header::parse(&both),
        Err(Error::UnsupportedVersion(9))
    ));
    assert_eq!(
        malformed(&with(sample(4096), 10, 11)),
        "segment size out of range"
    );
    assert_eq!(
        malformed(&with(sample(4096), 10, 25)),
        "segment size out of range"
    );
    assert_eq!(malformed(&with(sample(4096), 11, 1)), "unknown flags");
    let mut raw = sample(4096);
    raw[12..16].copy_from_slice(&(MIN_HEADER_LEN - 1).to_be_bytes());
    assert_eq!(malformed(&raw), "header length out of range");
    raw[12..16].copy_from_slice(&(MAX_HEADER_LEN + 1).to_be_bytes());
    assert_eq!(malformed(&raw), "header length out of range");
}

#[test]
fn fields_must_fit_in_header_len() {
    // Claim a header shorter than its fields.
    let mut raw = sample(4096);
    raw[12..16].copy_from_slice(&100u32.to_be_bytes());
    assert_eq!(malformed(&raw), "field overruns the header");
}

#[test]
fn padding_must_be_zero() {
    let raw = with(sample(4096), 4096 - MAC_LEN - 1, 1);
    assert_eq!(malformed(&raw), "non-zero header padding");
}

#[test]
fn context_rules() {
    let pairs = |list: &[(&[u8], &[u8])]| {
        let mut out = (list.len() as u16).to_be_bytes().to_vec();
        for (k, v) in list {
            out.extend_from_slice(&(k.len() as u16).to_be_bytes());
            out.extend_from_slice(k);
            out.extend_from_slice(&(v.len() as u16).to_be_bytes());
            out.extend_from_slice(v);
        }
        out
    };
    let header_with = |ec: &[u8]| encode_unsigned(12, &[0; SALT_LEN], ec, &[wk("k", b"x")], 4096);
    let ok = pairs(&[(b"a", b"1"), (b"b", b"")]);
    assert_eq!(Header::parse(&header_with(&ok)).unwrap().context().len(), 2);
    let unsorted = pairs(&[(b"b", b"1"), (b"a", b"1")]);
    assert_eq!(
        malformed(&header_with(&unsorted)),
        "encryption context keys not sorted and unique"
    );
    let duplicate = pairs(&[(b"a", b"1"), (b"a", b"2")]);
    assert_eq!(
        malformed(&header_with(&duplicate)),
        "encryption context keys not sorted and unique"
    );
    assert_eq!(
        malformed(&header_with(&[0, 0])),
        "non-canonical empty encryption context"
    );
    let mut extra = ok.clone();
    extra.push(0);
    assert_eq!(
        malformed(&header_with(&extra)),
        "encryption context length mismatch"
    );
    let bad_utf8 = pairs(&[(b"\xff", b"1")]);
    assert_eq!(malformed(&header_with(&bad_utf8)), "string is not UTF-8");
    let short = pairs(&[(b"a", b"1")]);
    assert_eq!(
        malformed(&header_with(&short[..short.len() - 1])),
        "field overruns the header"
    );
}

#[test]
fn encode_context_is_canonical_and_bounded() {
    assert!(
        encode_context(&EncryptionContext::new())
            .unwrap()
            .is_empty()
    );
    let c = ctx(&[("b", "2"), ("a", "1")]);
    assert_eq!(
        encode_context(&c).unwrap(),
        b"\0\x02\0\x01a\0\x011\0\x01b\0\x012"
    );
    assert_eq!(decode_context(&encode_context(&c).unwrap()).unwrap(), c);
    let huge = ctx(&[("k", &"v".repeat(70_000))]);
    assert!(matches!(
        encode_context(&huge),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn wrapped_key_rules() {
    let header_with = |keys: &[WrappedKey]| encode_unsigned(12, &[0; SALT_LEN], &[], keys, 4096);
    assert_eq!(
        malformed(&header_with(&[])),
        "wrapped key count out of range"
    );
    let many: Vec<_> = (0..17).map(|i| wk(&format!("k{i}"), b"x")).collect();
    assert_eq!(
        malformed(&header_with(&many)),
        "wrapped key count out of range"
    );
    assert_eq!(
        Header::parse(&header_with(&many[..16]))
            .unwrap()
            .wrapped_keys()
            .len(),
        16
    );
    assert_eq!(
        malformed(&header_with(&[wk("", b"x")])),
        "key id length out of range"
    );
    assert_eq!(
        malformed(&header_with(&[wk("k", b"")])),
        "wrapped key length out of range"
    );
    assert_eq!(
        malformed(&header_with(&[wk("k", b"x"), wk("k", b"y")])),
        "duplicate key id"
    );
    let long_id = "i".repeat(MAX_KEY_ID_LEN + 1);
    assert_eq!(
        malformed(&header_with(&[wk(&long_id, b"x")])),
        "key id length out of range"
    );
    let long_blob = vec![1; MAX_BLOB_LEN + 1];
    assert_eq!(
        malformed(&header_with(&[wk("k", &long_blob)])),
        "wrapped key length out of range"
    );
    let mut raw = header_with(&[wk("kk", b"x")]);
    raw[54] = 0xff; // first byte of the key id: 48 (salt end) + ec_len + count + klen
    assert_eq!(malformed(&raw), "string is not UTF-8");
}

#[test]
fn writer_side_checks() {
    assert!(check_key_ids(["a", "b"].into_iter()).is_ok());
    assert!(check_key_ids([].into_iter()).is_err());
    assert!(check_key_ids(["a", "a"].into_iter()).is_err());
    assert!(check_key_ids([""].into_iter()).is_err());
    assert!(check_wrapped_keys(&[wk("a", b"")]).is_err());
    assert!(check_wrapped_keys(&[wk("a", b"1")]).is_ok());
}
