//! Round trips, properties and error mapping of the KENV1 stream API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::RefCell;
use std::io::{self, Cursor, Read, Write};
use std::rc::Rc;

use common::{ctx, opts, pattern, seal, wrapper};
use keywarden_envelope::testing::LocalWrapper;
use keywarden_envelope::{
    EncryptionContext, EnvelopeKey, Error, Header, RangeReader, WrapErrorKind, decrypt, encrypt,
    read_header, read_range,
};
use proptest::prelude::*;

const S: u32 = 4096;

fn open(ct: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    decrypt(&wrapper(), ct, &mut out).map(|_| out)
}

#[test]
fn sizes_around_segment_boundaries() {
    for len in [0, 1, 4095, 4096, 4097, 8191, 8192, 8193, 5 * 4096 + 17] {
        let data = pattern(len);
        let ct = seal(&data, S);
        let header_len = 4096;
        let segments = len / 4096 + 1;
        assert_eq!(ct.len(), header_len + len + 16 * segments, "len {len}");
        let mut out = Vec::new();
        let summary = decrypt(&wrapper(), &ct[..], &mut out).unwrap();
        assert_eq!(out, data, "len {len}");
        assert_eq!(summary.segments, segments as u64);
        assert_eq!(summary.plaintext_len, len as u64);
        assert_eq!(summary.ciphertext_len, ct.len() as u64);
        assert_eq!(summary.key_id, "k1");
    }
}

#[test]
fn sizes_around_batch_boundaries() {
    // 64 KiB segments: a batch is 64 segments (4 MiB); cross several batch boundaries.
    let seg = 64 << 10;
    for len in [4 << 20, (4 << 20) - 1, (8 << 20) + 1, (12 << 20) + 5] {
        let data = pattern(len);
        let ct = seal(&data, seg);
        assert_eq!(open(&ct).unwrap(), data, "len {len}");
    }
}

#[test]
fn summary_of_encrypt_matches_output() {
    let mut out = Vec::new();
    let data = pattern(10_000);
    let s = encrypt(
        &wrapper(),
        &["k2", "k1"],
        &ctx(&[("p", "q")]),
        &data[..],
        &mut out,
        &opts(S),
    )
    .unwrap();
    assert_eq!(s.key_id, "k2");
    assert_eq!(s.ciphertext_len, out.len() as u64);
    assert_eq!(s.header_len, 4096);
    assert_eq!(s.segment_size, S);
    assert_eq!(s.segments, 3);
    assert_eq!(s.plaintext_len, 10_000);
    let h = read_header(&out[..]).unwrap();
    assert_eq!(h.key_ids().collect::<Vec<_>>(), ["k2", "k1"]);
    assert_eq!(h.context(), &ctx(&[("p", "q")]));
}

#[test]
fn compact_header_option() {
    let mut o = opts(S);
    o.header_align = 1;
    let mut out = Vec::new();
    let s = encrypt(
        &wrapper(),
        &["k1"],
        &EncryptionContext::new(),
        &b"hi"[..],
        &mut out,
        &o,
    )
    .unwrap();
    assert!(s.header_len < 200, "{}", s.header_len);
    assert_eq!(open(&out).unwrap(), b"hi");
}

#[test]
fn any_listed_key_opens_the_file() {
    let mut ct = Vec::new();
    let c = ctx(&[("tenant", "a")]);
    encrypt(
        &wrapper(),
        &["k1", "k2"],
        &c,
        &b"secret"[..],
        &mut ct,
        &opts(S),
    )
    .unwrap();
    let only_k2 = LocalWrapper::new().with_key("k2", &[2; 32]);
    let mut out = Vec::new();
    let s = decrypt(&only_k2, &ct[..], &mut out).unwrap();
    assert_eq!(out, b"secret");
    assert_eq!(s.key_id, "k2");
}

#[test]
fn key_service_errors_are_typed() {
    let ct = seal(b"x", S);
    let nobody = LocalWrapper::new();
    match decrypt(&nobody, &ct[..], Vec::new()) {
        Err(Error::Wrap(e)) => assert_eq!(e.kind(), WrapErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
    let mut disabled = wrapper();
    disabled.disable("k1");
    match decrypt(&disabled, &ct[..], Vec::new()) {
        Err(Error::Wrap(e)) => assert_eq!(e.kind(), WrapErrorKind::KeyDisabled),
        other => panic!("{other:?}"),
    }
    match encrypt(
        &wrapper(),
        &["nope"],
        &EncryptionContext::new(),
        &b""[..],
        Vec::new(),
        &opts(S),
    ) {
        Err(Error::Wrap(e)) => assert_eq!(e.kind(), WrapErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_arguments_are_rejected_before_any_key_call() {
    let nobody = LocalWrapper::new();
    let none: [&str; 0] = [];
    let c = EncryptionContext::new();
    for result in [
        encrypt(&nobody, &none, &c, &b""[..], Vec::new(), &opts(S)),
        encrypt(&nobody, &["a", "a"], &c, &b""[..], Vec::new(), &opts(S)),
        encrypt(&nobody, &["a"], &c, &b""[..], Vec::new(), &opts(1000)),
    ] {
        assert!(
            matches!(result, Err(Error::InvalidArgument(_))),
            "{result:?}"
        );
    }
}

#[test]
fn envelope_key_seals_many_files_with_fresh_salts() {
    let key = EnvelopeKey::generate(&wrapper(), &["k1"], &EncryptionContext::new()).unwrap();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    key.encrypt(&b"same"[..], &mut a, &opts(S)).unwrap();
    key.encrypt(&b"same"[..], &mut b, &opts(S)).unwrap();
    let (ha, hb) = (read_header(&a[..]).unwrap(), read_header(&b[..]).unwrap());
    assert_ne!(ha.salt(), hb.salt());
    assert_eq!(ha.wrapped_keys(), hb.wrapped_keys());
    assert_ne!(a[4096..], b[4096..]);
    assert_eq!(open(&a).unwrap(), b"same");
    assert_eq!(open(&b).unwrap(), b"same");
    assert_eq!(key.wrapped_keys().len(), 1);
    assert!(key.context().is_empty());
}

#[test]
fn missing_final_segment_is_truncated() {
    let ct = seal(&pattern(2 * 4096), S); // three segments, the last one empty
    let without_final = &ct[..ct.len() - 16];
    assert!(matches!(open(without_final), Err(Error::Truncated)));
    assert!(matches!(open(&ct[..4096]), Err(Error::Truncated)));
    assert!(matches!(open(&ct[..4096 + 10]), Err(Error::Truncated)));
}

/// A reader and a writer that are not `Send`: all I/O stays on the calling thread.
struct NotSend<T>(Rc<RefCell<T>>);

impl Read for NotSend<Cursor<Vec<u8>>> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

impl Write for NotSend<Vec<u8>> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn io_need_not_be_send() {
    let data = pattern(50_000);
    let input = NotSend(Rc::new(RefCell::new(Cursor::new(data.clone()))));
    let sink = Rc::new(RefCell::new(Vec::new()));
    encrypt(
        &wrapper(),
        &["k1"],
        &EncryptionContext::new(),
        input,
        NotSend(sink.clone()),
        &opts(S),
    )
    .unwrap();
    let ct = sink.borrow().clone();
    assert_eq!(open(&ct).unwrap(), data);
}

/// Fails every write after `budget` bytes.
struct FailingWriter(usize);

impl Write for FailingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0 < buf.len() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.0 -= buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn output_errors_surface_as_io() {
    let data = pattern(100_000);
    let r = encrypt(
        &wrapper(),
        &["k1"],
        &EncryptionContext::new(),
        &data[..],
        FailingWriter(5000),
        &opts(S),
    );
    assert!(
        matches!(r, Err(Error::Io(ref e)) if e.kind() == io::ErrorKind::BrokenPipe),
        "{r:?}"
    );
    let ct = seal(&data, S);
    let r = decrypt(&wrapper(), &ct[..], FailingWriter(5000));
    assert!(matches!(r, Err(Error::Io(_))), "{r:?}");
}

#[test]
fn range_reader_reads_ranges_and_verifies_the_end() {
    let data = pattern(3 * 4096 + 100);
    let ct = seal(&data, S);
    let mut reader = RangeReader::open(&wrapper(), Cursor::new(&ct)).unwrap();
    assert_eq!(reader.plaintext_len(), data.len() as u64);
    assert_eq!(reader.header().segment_size(), S);
    for (offset, len) in [
        (0, 0),
        (0, 1),
        (4095, 2),
        (4096, 4096),
        (100, 20_000),
        (12_388, 10),
        (99_999, 5),
    ] {
        let mut out = Vec::new();
        let n = reader.read_range(offset, len, &mut out).unwrap();
        let start = (offset as usize).min(data.len());
        let end = (offset + len).min(data.len() as u64) as usize;
        assert_eq!(n as usize, end - start);
        assert_eq!(out, &data[start..end], "({offset}, {len})");
    }
    // Truncation or extension is caught when opening, whatever range is asked for later.
    for bad in [
        &ct[..ct.len() - 1],
        &ct[..ct.len() - 116],
        &ct[..4096 + 4112],
    ] {
        assert!(RangeReader::open(&wrapper(), Cursor::new(bad)).is_err());
    }
    let mut extended = ct.clone();
    extended.extend_from_slice(&[0; 20]);
    assert!(matches!(
        RangeReader::open(&wrapper(), Cursor::new(&extended)),
        Err(Error::Tampered)
    ));
    let mut out = Vec::new();
    assert_eq!(
        read_range(&wrapper(), Cursor::new(&ct), 4090, 10, &mut out).unwrap(),
        10
    );
    assert_eq!(out, &data[4090..4100]);
}

#[test]
fn range_reader_starts_at_the_current_position() {
    let data = pattern(5000);
    let mut input = b"some prefix".to_vec();
    input.extend_from_slice(&seal(&data, S));
    let mut cursor = Cursor::new(&input);
    cursor.set_position(11);
    let mut reader = RangeReader::open(&wrapper(), cursor).unwrap();
    assert_eq!(reader.plaintext_len(), 5000);
    let mut out = Vec::new();
    reader.read_range(4000, 1000, &mut out).unwrap();
    assert_eq!(out, &data[4000..]);
}

#[test]
fn range_reader_reports_a_corrupt_segment() {
    let data = pattern(3 * 4096 + 100);
    let mut ct = seal(&data, S);
    ct[4096 + 4112 + 5] ^= 1; // segment 1
    let mut reader = RangeReader::open(&wrapper(), Cursor::new(&ct)).unwrap();
    assert_eq!(reader.read_range(0, 4096, Vec::new()).unwrap(), 4096);
    assert!(matches!(
        reader.read_range(4096, 1, Vec::new()),
        Err(Error::Tampered)
    ));
}

fn arb_context() -> impl Strategy<Value = EncryptionContext> {
    prop::collection::btree_map("[a-zA-Z0-9_:/é-]{0,12}", ".{0,20}", 0..5)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn decrypt_inverts_encrypt(
        segments in 0usize..4,
        delta in -3i64..=3,
        context in arb_context(),
    ) {
        let len = (segments as i64 * S as i64 + delta).max(0) as usize;
        let data = pattern(len);
        let mut ct = Vec::new();
        encrypt(&wrapper(), &["k1", "k3"], &context, &data[..], &mut ct, &opts(S)).unwrap();
        let mut out = Vec::new();
        decrypt(&wrapper(), &ct[..], &mut out).unwrap();
        prop_assert_eq!(out, data);
        let header = read_header(&ct[..]).unwrap();
        prop_assert_eq!(header.context(), &context);
    }

    #[test]
    fn read_range_equals_slice(
        len in 0usize..20_000,
        offset in 0u64..21_000,
        want in 0u64..12_000,
    ) {
        let data = pattern(len);
        let ct = seal(&data, S);
        let mut out = Vec::new();
        read_range(&wrapper(), Cursor::new(&ct), offset, want, &mut out).unwrap();
        let start = (offset as usize).min(len);
        let end = (offset.saturating_add(want) as usize).min(len);
        prop_assert_eq!(&out[..], &data[start..end]);
    }

    #[test]
    fn any_modification_fails_and_never_releases_wrong_bytes(
        len in 0usize..12_000,
        pos in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let data = pattern(len);
        let mut ct = seal(&data, S);
        let at = pos.index(ct.len());
        ct[at] ^= flip;
        let mut out = Vec::new();
        prop_assert!(decrypt(&wrapper(), &ct[..], &mut out).is_err());
        prop_assert!(data.starts_with(&out));
    }

    #[test]
    fn any_truncation_fails(len in 0usize..12_000, cut in any::<prop::sample::Index>()) {
        let data = pattern(len);
        let ct = seal(&data, S);
        let keep = cut.index(ct.len());
        let mut out = Vec::new();
        prop_assert!(decrypt(&wrapper(), &ct[..keep], &mut out).is_err());
        prop_assert!(data.starts_with(&out));
    }

    #[test]
    fn header_write_read_round_trip(
        context in arb_context(),
        ids in prop::collection::btree_set("[a-z0-9-]{1,40}", 1..6),
        seg_log2 in 12u32..=24,
        align_log2 in 0u32..=13,
    ) {
        let mut w = LocalWrapper::new();
        for id in &ids {
            w = w.with_random_key(id.clone());
        }
        let ids: Vec<_> = ids.into_iter().collect();
        let mut o = opts(1 << seg_log2);
        o.header_align = 1 << align_log2;
        let mut ct = Vec::new();
        encrypt(&w, &ids, &context, &b""[..], &mut ct, &o).unwrap();
        let h = read_header(&ct[..]).unwrap();
        prop_assert_eq!(h.to_bytes(), h.as_bytes().to_vec());
        prop_assert_eq!(Header::parse(h.as_bytes()).unwrap(), h.clone());
        prop_assert_eq!(h.context(), &context);
        let expected_ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        prop_assert_eq!(h.key_ids().collect::<Vec<_>>(), expected_ids);
        prop_assert_eq!(h.segment_size(), 1 << seg_log2);
        prop_assert_eq!(h.header_len() % (1 << align_log2), 0);
    }
}
