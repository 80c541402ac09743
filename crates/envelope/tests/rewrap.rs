//! Rewrapping: new wrapped keys, same body, same length when it fits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{ctx, opts, pattern, wrapper};
use keywarden_envelope::testing::LocalWrapper;
use keywarden_envelope::{Error, WrapErrorKind, decrypt, encrypt, read_header, rewrap_header};

fn sealed(ids: &[&str], align: u32) -> (Vec<u8>, Vec<u8>) {
    let data = pattern(9000);
    let mut o = opts(4096);
    o.header_align = align;
    let mut ct = Vec::new();
    encrypt(
        &wrapper(),
        ids,
        &ctx(&[("team", "x")]),
        &data[..],
        &mut ct,
        &o,
    )
    .unwrap();
    (data, ct)
}

#[test]
fn rewrap_in_place_keeps_length_and_body() {
    let (data, mut ct) = sealed(&["k1"], 4096);
    let old = read_header(&ct[..]).unwrap();
    let new = rewrap_header(&wrapper(), &old, &["k2", "k3"]).unwrap();
    assert_eq!(new.len(), old.as_bytes().len());
    ct[..new.len()].copy_from_slice(&new);
    let h = read_header(&ct[..]).unwrap();
    assert_eq!(h.key_ids().collect::<Vec<_>>(), ["k2", "k3"]);
    assert_eq!(h.salt(), old.salt());
    assert_eq!(h.context(), old.context());
    // Only k2 is needed now; k1 no longer opens it.
    let only_k2 = LocalWrapper::new().with_key("k2", &[2; 32]);
    let mut out = Vec::new();
    decrypt(&only_k2, &ct[..], &mut out).unwrap();
    assert_eq!(out, data);
    let only_k1 = LocalWrapper::new().with_key("k1", &[1; 32]);
    match decrypt(&only_k1, &ct[..], Vec::new()) {
        Err(Error::Wrap(e)) => assert_eq!(e.kind(), WrapErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rewrap_grows_a_compact_header_and_body_still_follows() {
    let (data, ct) = sealed(&["k1"], 1);
    let old = read_header(&ct[..]).unwrap();
    let new = rewrap_header(&wrapper(), &old, &["k1", "k2"]).unwrap();
    assert!(new.len() > old.as_bytes().len());
    assert_eq!(new.len() % 4096, 0);
    let mut file = new.clone();
    file.extend_from_slice(&ct[old.as_bytes().len()..]);
    let mut out = Vec::new();
    decrypt(&wrapper(), &file[..], &mut out).unwrap();
    assert_eq!(out, data);
}

#[test]
fn rewrap_refuses_a_tampered_header_and_bad_ids() {
    let (_, mut ct) = sealed(&["k1"], 4096);
    ct[20] ^= 1; // salt
    let h = read_header(&ct[..]).unwrap();
    assert!(matches!(
        rewrap_header(&wrapper(), &h, &["k2"]),
        Err(Error::Tampered)
    ));
    let (_, ct) = sealed(&["k1"], 4096);
    let h = read_header(&ct[..]).unwrap();
    let none: [&str; 0] = [];
    assert!(matches!(
        rewrap_header(&wrapper(), &h, &none),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        rewrap_header(&wrapper(), &h, &["k2", "k2"]),
        Err(Error::InvalidArgument(_))
    ));
    match rewrap_header(&wrapper(), &h, &["unknown"]) {
        Err(Error::Wrap(e)) => assert_eq!(e.kind(), WrapErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rewrap_with_the_same_key_refreshes_the_blob() {
    let (data, mut ct) = sealed(&["k1"], 4096);
    let old = read_header(&ct[..]).unwrap();
    let new = rewrap_header(&wrapper(), &old, &["k1"]).unwrap();
    assert_ne!(new, old.as_bytes());
    ct[..new.len()].copy_from_slice(&new);
    let mut out = Vec::new();
    decrypt(&wrapper(), &ct[..], &mut out).unwrap();
    assert_eq!(out, data);
}
