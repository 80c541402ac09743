//! The audit trail's record format and hash chain.
//!
//! Every API call appends one [`AuditRecord`]: when, which request, who (access key and user),
//! from where, which action on which key and version, with which encryption context, and the
//! outcome code. Records are chained: each stored record carries the hash of its predecessor, and
//!
//! ```text
//! hash = SHA-256(prev_hash || canonical(record))      prev_hash of record #1 = 32 zero bytes
//! ```
//!
//! where `canonical` is the length-prefixed binary encoding documented on
//! [`AuditRecord::canonical`]. [`verify`] walks a run of records and reports the first that does
//! not fit (altered, missing, reordered, inserted) as an [`AuditError`] naming its `seq`.
//!
//! # What a record never contains
//!
//! The type has no field for plaintext, data keys, key material, access-key secrets, passwords,
//! signatures or policy documents, so none can be logged by mistake. The encryption context is
//! included: it is additional authenticated data, not a secret (it travels in clear inside
//! requests and is needed to decrypt). Operators should still treat the log as confidential,
//! since contexts and key ids describe what is being protected.
//!
//! # What the chain proves, and what it does not
//!
//! The chain makes edits *evident*, not impossible. Changing, deleting, inserting or reordering a
//! record breaks every later link, so an attacker who can only alter some rows is caught. But
//! the hash uses no secret: someone with write access to the whole store can rewrite a record
//! and recompute every later hash, and can cut records off the end (the remaining chain is still
//! valid). Both are detected only against a head hash kept somewhere the attacker cannot write.
//! The server should therefore publish the head (`seq` and `hash`) outside the store: log it to
//! stderr/syslog periodically and on shutdown, or ship it to a remote log; and
//! `keywarden audit --verify --expect-head <seq>:<hex>` should check the chain ends there
//! ([`ChainSummary::check_head`]). To verify a suffix (`--since`) without re-reading old
//! records, start from an anchor [`ChainStart::After`] with a previously published `(seq, hash)`.

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};

/// Length of a chain hash (SHA-256).
pub const HASH_LEN: usize = 32;

/// A chain hash.
pub type Hash = [u8; HASH_LEN];

/// The `prev_hash` of the first record: 32 zero bytes.
pub const GENESIS_HASH: Hash = [0u8; HASH_LEN];

/// The `seq` of the first record. Sequence numbers then increase by exactly one.
pub const FIRST_SEQ: u64 = 1;

/// Domain separation and format version, the first bytes of every canonical encoding. A future
/// format gets a new tag, so old and new records can never hash alike.
const FORMAT_TAG: &[u8] = b"keywarden-audit-v1\0";

/// The tag of a record that stands for more than one request ([`AuditRecord::count`] > 1): the
/// v1 encoding under this tag, followed by the count.
const FORMAT_TAG_V2: &[u8] = b"keywarden-audit-v2\0";

/// One audited API call. Everything here is safe to log; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain, from [`FIRST_SEQ`], assigned by the store on append.
    pub seq: u64,
    /// When the call was received, unix milliseconds (UTC).
    pub time_ms: i64,
    /// The `RequestId` returned to the caller.
    pub request_id: String,
    /// The access key that signed the request; `None` when the request was refused before an
    /// access key could be read.
    pub access_key_id: Option<String>,
    /// The RAM user owning the access key; `None` when the key is unknown.
    pub user_name: Option<String>,
    /// The caller's address as the server saw it.
    pub source_ip: String,
    /// `<product>:<Action>`, e.g. `kms:Encrypt` (empty if the request named no action).
    pub action: String,
    /// The key the call acted on (after resolving an alias), if any.
    pub key_id: Option<String>,
    /// The key version used, if any.
    pub key_version_id: Option<String>,
    /// The request's encryption context (AAD, not secret), if it had one.
    pub encryption_context: Option<BTreeMap<String, String>>,
    /// `Success`, or the error `Code` returned (e.g. `Forbidden.KeyNotFound`).
    pub outcome_code: String,
    /// The HTTP status returned.
    pub http_status: u16,
    /// How many requests this record stands for: 1 for every call that authenticated. Requests
    /// that did not authenticate are aggregated per source address and outcome over a short
    /// interval (the server's `audit` module): then `time_ms` and `request_id` are the first
    /// one's, and a field the requests did not all share is empty.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_one(n: &u64) -> bool {
    *n == 1
}

impl AuditRecord {
    /// The canonical encoding that is hashed. Unambiguous by construction: every variable-length
    /// field is prefixed by its length, every optional field by a presence byte, so no two
    /// different records encode alike.
    ///
    /// ```text
    /// "keywarden-audit-v1\0"
    /// seq u64 BE || time_ms i64 BE
    /// str(request_id) || opt(access_key_id) || opt(user_name) || str(source_ip) || str(action)
    /// opt(key_id) || opt(key_version_id)
    /// 0x00 | 0x01 || u64 BE count || (str(key) || str(value))*   encryption_context, sorted by key
    /// str(outcome_code) || http_status u16 BE
    ///
    /// str(s) = u64 BE byte length || UTF-8 bytes;  opt(None) = 0x00;  opt(Some(s)) = 0x01 || str(s)
    /// ```
    ///
    /// A record with `count` > 1 is encoded the same way under the tag `"keywarden-audit-v2\0"`,
    /// followed by `count u64 BE`; a record of one request keeps the v1 bytes, so records written
    /// before counts existed verify unchanged.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(if self.count == 1 {
            FORMAT_TAG
        } else {
            FORMAT_TAG_V2
        });
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        put_str(&mut out, &self.request_id);
        put_opt(&mut out, self.access_key_id.as_deref());
        put_opt(&mut out, self.user_name.as_deref());
        put_str(&mut out, &self.source_ip);
        put_str(&mut out, &self.action);
        put_opt(&mut out, self.key_id.as_deref());
        put_opt(&mut out, self.key_version_id.as_deref());
        match &self.encryption_context {
            None => out.push(0),
            Some(ctx) => {
                out.push(1);
                put_len(&mut out, ctx.len());
                for (k, v) in ctx {
                    put_str(&mut out, k);
                    put_str(&mut out, v);
                }
            }
        }
        put_str(&mut out, &self.outcome_code);
        out.extend_from_slice(&self.http_status.to_be_bytes());
        if self.count != 1 {
            out.extend_from_slice(&self.count.to_be_bytes());
        }
        out
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // usize is at most 64 bits on every supported target, so this never truncates.
    out.extend_from_slice(&(len as u64).to_be_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// `SHA-256(prev_hash || canonical(record))`.
pub fn record_hash(prev_hash: &Hash, record: &AuditRecord) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(prev_hash);
    ctx.update(&record.canonical());
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// A record as stored: with its predecessor's hash and its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainedRecord {
    /// The record (serialized flat, so the JSON form is one object).
    #[serde(flatten)]
    pub record: AuditRecord,
    /// The previous record's `hash` ([`GENESIS_HASH`] for the first record).
    #[serde(with = "hex_hash")]
    pub prev_hash: Hash,
    /// `SHA-256(prev_hash || canonical(record))`.
    #[serde(with = "hex_hash")]
    pub hash: Hash,
}

/// Links `record` after a record whose hash is `prev_hash`. The caller (the store, inside the
/// transaction that appends) sets `record.seq` to the previous `seq + 1`.
pub fn chain(prev_hash: Hash, record: AuditRecord) -> ChainedRecord {
    let hash = record_hash(&prev_hash, &record);
    ChainedRecord {
        record,
        prev_hash,
        hash,
    }
}

/// Where verification starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainStart {
    /// The first record must be `seq` [`FIRST_SEQ`] with `prev_hash` [`GENESIS_HASH`]: verifies
    /// the whole log, and detects a truncated head.
    Genesis,
    /// The first record must follow a trusted anchor (a head published earlier): `seq + 1`,
    /// with `prev_hash == hash`.
    After {
        /// The anchor's sequence number.
        seq: u64,
        /// The anchor's hash.
        hash: Hash,
    },
    /// Trust the first record's `seq` and `prev_hash` as found, and check only the links from
    /// there on (`--since` without an anchor). Proves the least.
    Unanchored,
}

/// What was wrong with a record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TamperReason {
    /// The stored hash does not match the record's contents: a field was changed.
    HashMismatch,
    /// The record's `prev_hash` is not the previous record's hash: a record before it was
    /// removed, replaced or inserted, or its link was edited.
    BrokenLink,
    /// The `seq` is not the one expected: records are missing, duplicated or reordered.
    UnexpectedSeq {
        /// The `seq` that should have come next.
        expected: u64,
    },
    /// The chain does not end at the expected head: records were cut off the end, or the chain
    /// was rewritten.
    HeadMismatch {
        /// The `seq` of the expected head.
        expected_seq: u64,
        /// The `seq` the chain actually ends at (`None` if it is empty).
        found_seq: Option<u64>,
    },
}

impl fmt::Display for TamperReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TamperReason::HashMismatch => {
                f.write_str("the stored hash does not match the record: the record was altered")
            }
            TamperReason::BrokenLink => f.write_str(
                "prev_hash does not match the previous record's hash: a record was removed, inserted or altered before this one",
            ),
            TamperReason::UnexpectedSeq { expected } => write!(
                f,
                "expected seq {expected}: records are missing, duplicated or out of order"
            ),
            TamperReason::HeadMismatch {
                expected_seq,
                found_seq: Some(found),
            } => write!(
                f,
                "the chain ends at seq {found} but the expected head is seq {expected_seq} with a different hash: records were truncated or rewritten"
            ),
            TamperReason::HeadMismatch {
                expected_seq,
                found_seq: None,
            } => write!(
                f,
                "the chain is empty but the expected head is seq {expected_seq}: records were deleted"
            ),
        }
    }
}

/// The first record that failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit record seq {seq}: {reason}")]
pub struct AuditError {
    /// The `seq` of the offending record as stored (for a head mismatch, the `seq` the chain
    /// ends at, or the expected head's when the chain is empty).
    pub seq: u64,
    /// What was wrong.
    pub reason: TamperReason,
}

/// The state after verifying a run of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainSummary {
    /// Records checked.
    pub count: u64,
    /// The last record's `seq` (or the anchor's, if none were checked).
    pub head_seq: Option<u64>,
    /// The last record's hash (or the anchor's).
    pub head_hash: Hash,
}

impl ChainSummary {
    /// Checks that the chain ends exactly at `(seq, hash)`, a head published earlier outside the
    /// store. Detects truncation of the tail and a recomputed chain.
    pub fn check_head(&self, seq: u64, hash: &Hash) -> Result<(), AuditError> {
        if self.head_seq == Some(seq) && self.head_hash == *hash {
            return Ok(());
        }
        Err(AuditError {
            seq: self.head_seq.unwrap_or(seq),
            reason: TamperReason::HeadMismatch {
                expected_seq: seq,
                found_seq: self.head_seq,
            },
        })
    }
}

/// Verifies records one at a time, for callers that stream rows from the store.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    /// `(seq, hash)` the next record must follow; `None` until the first record when unanchored.
    last: Option<(Option<u64>, Hash)>,
    count: u64,
}

impl ChainVerifier {
    /// Starts verification at `start`.
    pub fn new(start: ChainStart) -> Self {
        let last = match start {
            ChainStart::Genesis => Some((None, GENESIS_HASH)),
            ChainStart::After { seq, hash } => Some((Some(seq), hash)),
            ChainStart::Unanchored => None,
        };
        Self { last, count: 0 }
    }

    /// Checks the next record. After an error the verifier should not be used further.
    pub fn push(&mut self, rec: &ChainedRecord) -> Result<(), AuditError> {
        let seq = rec.record.seq;
        let fail = |reason| Err(AuditError { seq, reason });
        if let Some((last_seq, last_hash)) = self.last {
            let expected = match last_seq {
                None => FIRST_SEQ,
                Some(s) => s.saturating_add(1),
            };
            if seq != expected {
                return fail(TamperReason::UnexpectedSeq { expected });
            }
            if rec.prev_hash != last_hash {
                return fail(TamperReason::BrokenLink);
            }
        }
        if record_hash(&rec.prev_hash, &rec.record) != rec.hash {
            return fail(TamperReason::HashMismatch);
        }
        self.last = Some((Some(seq), rec.hash));
        self.count += 1;
        Ok(())
    }

    /// Where the chain stands now.
    pub fn summary(&self) -> ChainSummary {
        let (head_seq, head_hash) = self.last.unwrap_or((None, GENESIS_HASH));
        ChainSummary {
            count: self.count,
            head_seq,
            head_hash,
        }
    }
}

/// Verifies a run of records from `start`, in stored order; returns the head reached, or the
/// first record that does not fit.
pub fn verify(
    start: ChainStart,
    records: impl IntoIterator<Item = ChainedRecord>,
) -> Result<ChainSummary, AuditError> {
    let mut v = ChainVerifier::new(start);
    for rec in records {
        v.push(&rec)?;
    }
    Ok(v.summary())
}

/// Parses a 64-character hex hash (for `--expect-head`).
pub fn parse_hash(s: &str) -> Option<Hash> {
    let mut out = [0u8; HASH_LEN];
    hex::decode_to_slice(s.trim(), &mut out).ok()?;
    Some(out)
}

mod hex_hash {
    use super::{HASH_LEN, Hash};
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub(super) fn serialize<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; HASH_LEN];
        hex::decode_to_slice(&text, &mut out).map_err(de::Error::custom)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(seq: u64) -> AuditRecord {
        AuditRecord {
            seq,
            time_ms: 1_700_000_000_000 + i64::try_from(seq).unwrap(),
            request_id: format!("req-{seq}"),
            access_key_id: Some("LTAIexample".into()),
            user_name: Some("alice".into()),
            source_ip: "10.0.0.1".into(),
            action: "kms:Encrypt".into(),
            key_id: Some("key-1".into()),
            key_version_id: Some("ver-1".into()),
            encryption_context: Some(BTreeMap::from([("tenant".into(), "acme".into())])),
            outcome_code: "Success".into(),
            http_status: 200,
            count: 1,
        }
    }

    fn build(n: u64) -> Vec<ChainedRecord> {
        let mut prev = GENESIS_HASH;
        (FIRST_SEQ..FIRST_SEQ + n)
            .map(|seq| {
                let c = chain(prev, record(seq));
                prev = c.hash;
                c
            })
            .collect()
    }

    fn err(start: ChainStart, recs: Vec<ChainedRecord>) -> AuditError {
        verify(start, recs).unwrap_err()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let recs = build(5);
        let s = verify(ChainStart::Genesis, recs.clone()).unwrap();
        assert_eq!(s.count, 5);
        assert_eq!(s.head_seq, Some(5));
        assert_eq!(s.head_hash, recs[4].hash);
        assert_eq!(s.check_head(5, &recs[4].hash), Ok(()));
        let empty = verify(ChainStart::Genesis, Vec::new()).unwrap();
        assert_eq!(empty.count, 0);
        assert_eq!(empty.head_seq, None);
        assert_eq!(empty.head_hash, GENESIS_HASH);
    }

    #[test]
    fn genesis_is_zero_and_hash_is_sha256_of_prev_and_canonical() {
        let r = record(1);
        let c = chain(GENESIS_HASH, r.clone());
        let mut input = GENESIS_HASH.to_vec();
        input.extend(r.canonical());
        assert_eq!(
            c.hash.as_slice(),
            digest::digest(&digest::SHA256, &input).as_ref()
        );
        assert!(r.canonical().starts_with(FORMAT_TAG));
    }

    #[test]
    fn a_modified_field_is_caught_at_that_record() {
        let modifications: Vec<fn(&mut AuditRecord)> = vec![
            |r| r.time_ms += 1,
            |r| r.request_id.push('x'),
            |r| r.access_key_id = None,
            |r| r.user_name = Some("mallory".into()),
            |r| r.source_ip = "10.0.0.2".into(),
            |r| r.action = "kms:Decrypt".into(),
            |r| r.key_id = Some("key-2".into()),
            |r| r.key_version_id = None,
            |r| r.encryption_context = None,
            |r| {
                if let Some(c) = r.encryption_context.as_mut() {
                    c.insert("tenant".into(), "evil".into());
                }
            },
            |r| r.outcome_code = "Forbidden.RAM".into(),
            |r| r.http_status = 403,
            |r| r.count = 2,
        ];
        for (i, modify) in modifications.into_iter().enumerate() {
            let mut recs = build(4);
            modify(&mut recs[2].record);
            let e = err(ChainStart::Genesis, recs);
            assert_eq!(
                e,
                AuditError {
                    seq: 3,
                    reason: TamperReason::HashMismatch
                },
                "modification {i}"
            );
        }
    }

    #[test]
    fn a_count_changes_the_encoding_and_one_keeps_v1() {
        let single = record(1);
        assert!(single.canonical().starts_with(FORMAT_TAG));
        let json = serde_json::to_value(&single).unwrap();
        assert!(
            json.get("count").is_none(),
            "a single request has no count field"
        );
        let back: AuditRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back.count, 1, "records without the field count one");
        let many = AuditRecord {
            count: 40,
            ..record(1)
        };
        let bytes = many.canonical();
        assert!(bytes.starts_with(FORMAT_TAG_V2));
        assert!(bytes.ends_with(&40u64.to_be_bytes()));
        assert_ne!(
            record_hash(&GENESIS_HASH, &many),
            record_hash(&GENESIS_HASH, &single)
        );
        assert_eq!(serde_json::to_value(&many).unwrap()["count"], 40);
    }

    #[test]
    fn a_rehashed_record_breaks_the_next_link() {
        let mut recs = build(4);
        recs[1].record.outcome_code = "Success".into();
        recs[1].record.action = "kms:ScheduleKeyDeletion".into();
        recs[1] = chain(recs[1].prev_hash, recs[1].record.clone());
        let e = err(ChainStart::Genesis, recs);
        assert_eq!(e.seq, 3);
        assert_eq!(e.reason, TamperReason::BrokenLink);
    }

    #[test]
    fn a_deleted_record_is_a_seq_gap() {
        let mut recs = build(5);
        recs.remove(2);
        let e = err(ChainStart::Genesis, recs);
        assert_eq!(e.seq, 4);
        assert_eq!(e.reason, TamperReason::UnexpectedSeq { expected: 3 });
    }

    #[test]
    fn a_deleted_and_renumbered_record_breaks_the_link() {
        let mut recs = build(5);
        recs.remove(2);
        for r in &mut recs[2..] {
            r.record.seq -= 1;
        }
        let e = err(ChainStart::Genesis, recs);
        // The renumbered record's link is checked before its own hash.
        assert_eq!(e.seq, 3);
        assert_eq!(e.reason, TamperReason::BrokenLink);
    }

    #[test]
    fn reordered_records_are_caught() {
        let mut recs = build(5);
        recs.swap(1, 2);
        let e = err(ChainStart::Genesis, recs);
        assert_eq!(e.seq, 3);
        assert_eq!(e.reason, TamperReason::UnexpectedSeq { expected: 2 });
    }

    #[test]
    fn an_inserted_record_is_caught() {
        let mut recs = build(4);
        // A forged record claiming to follow record 2, with a correct self-hash.
        let forged = chain(recs[1].hash, record(3));
        recs.insert(2, forged);
        let e = err(ChainStart::Genesis, recs);
        assert_eq!(e.seq, 3, "the original record 3 now collides");
        assert_eq!(e.reason, TamperReason::UnexpectedSeq { expected: 4 });

        let mut recs = build(4);
        let mut dup = recs[1].clone();
        dup.record.request_id = "forged".into();
        recs.insert(2, dup);
        let e = err(ChainStart::Genesis, recs);
        assert_eq!(e.seq, 2);
        assert_eq!(e.reason, TamperReason::UnexpectedSeq { expected: 3 });
    }

    #[test]
    fn a_truncated_head_is_caught_from_genesis_but_not_unanchored() {
        let recs = build(5);
        let tail: Vec<_> = recs[2..].to_vec();
        let e = err(ChainStart::Genesis, tail.clone());
        assert_eq!(e.seq, 3);
        assert_eq!(e.reason, TamperReason::UnexpectedSeq { expected: 1 });
        let s = verify(ChainStart::Unanchored, tail.clone()).unwrap();
        assert_eq!((s.count, s.head_seq), (3, Some(5)));
        let s = verify(
            ChainStart::After {
                seq: 2,
                hash: recs[1].hash,
            },
            tail.clone(),
        )
        .unwrap();
        assert_eq!(s.count, 3);
        let e = err(
            ChainStart::After {
                seq: 2,
                hash: recs[0].hash,
            },
            tail,
        );
        assert_eq!((e.seq, e.reason), (3, TamperReason::BrokenLink));
    }

    #[test]
    fn a_forged_genesis_link_is_caught() {
        let mut recs = build(3);
        recs[0].prev_hash = [1u8; HASH_LEN];
        let e = err(ChainStart::Genesis, recs);
        assert_eq!((e.seq, e.reason), (1, TamperReason::BrokenLink));
    }

    #[test]
    fn a_truncated_tail_or_rewritten_chain_needs_the_published_head() {
        let recs = build(5);
        let head = recs[4].hash;
        let cut: Vec<_> = recs[..3].to_vec();
        let s = verify(ChainStart::Genesis, cut).unwrap();
        let e = s.check_head(5, &head).unwrap_err();
        assert_eq!(e.seq, 3);
        assert_eq!(
            e.reason,
            TamperReason::HeadMismatch {
                expected_seq: 5,
                found_seq: Some(3)
            }
        );
        // A full rewrite by someone with store access verifies on its own...
        let mut prev = GENESIS_HASH;
        let rewritten: Vec<_> = (1..=5)
            .map(|seq| {
                let mut r = record(seq);
                r.source_ip = "203.0.113.9".into();
                let c = chain(prev, r);
                prev = c.hash;
                c
            })
            .collect();
        let s = verify(ChainStart::Genesis, rewritten).unwrap();
        // ...but not against the head published before the rewrite.
        assert!(s.check_head(5, &head).is_err());
        let empty = verify(ChainStart::Genesis, Vec::new()).unwrap();
        assert_eq!(
            empty.check_head(5, &head).unwrap_err().reason,
            TamperReason::HeadMismatch {
                expected_seq: 5,
                found_seq: None
            }
        );
    }

    #[test]
    fn the_streaming_verifier_matches_verify() {
        let recs = build(3);
        let mut v = ChainVerifier::new(ChainStart::Genesis);
        for r in &recs {
            v.push(r).unwrap();
        }
        assert_eq!(v.summary(), verify(ChainStart::Genesis, recs).unwrap());
    }

    #[test]
    fn json_round_trip_keeps_the_hash_valid() {
        let recs = build(2);
        let line = serde_json::to_string(&recs[1]).unwrap();
        assert!(line.contains(r#""prev_hash":""#) && line.contains(r#""seq":2"#));
        assert!(
            !line.contains("\"record\""),
            "the record is flattened: {line}"
        );
        let back: ChainedRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, recs[1]);
        assert!(verify(ChainStart::Genesis, vec![recs[0].clone(), back]).is_ok());
    }

    #[test]
    fn hashes_parse_from_hex() {
        let h = build(1)[0].hash;
        assert_eq!(parse_hash(&hex::encode(h)), Some(h));
        assert_eq!(parse_hash("00"), None);
        assert_eq!(parse_hash(&"zz".repeat(32)), None);
    }

    #[test]
    fn error_messages_are_actionable() {
        let e = AuditError {
            seq: 7,
            reason: TamperReason::HashMismatch,
        };
        assert_eq!(
            e.to_string(),
            "audit record seq 7: the stored hash does not match the record: the record was altered"
        );
    }

    fn arb_opt() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[a-c]{0,3}")
    }

    prop_compose! {
        fn arb_record()(
            seq in any::<u64>(),
            time_ms in any::<i64>(),
            request_id in "[a-c]{0,3}",
            access_key_id in arb_opt(),
            user_name in arb_opt(),
            source_ip in "[a-c]{0,3}",
            action in "[a-c]{0,3}",
            key_id in arb_opt(),
            key_version_id in arb_opt(),
            encryption_context in proptest::option::of(
                proptest::collection::btree_map("[a-c]{0,2}", "[a-c]{0,2}", 0..3)),
            outcome_code in "[a-c]{0,3}",
            http_status in any::<u16>(),
            count in 1u64..4,
        ) -> AuditRecord {
            AuditRecord { seq, time_ms, request_id, access_key_id, user_name, source_ip, action,
                key_id, key_version_id, encryption_context, outcome_code, http_status, count }
        }
    }

    proptest! {
        /// The encoding is injective: different records never share canonical bytes (the small
        /// alphabets make near-collisions such as moving characters between fields likely).
        #[test]
        fn canonical_is_injective(a in arb_record(), b in arb_record()) {
            prop_assert_eq!(a == b, a.canonical() == b.canonical());
        }

        #[test]
        fn any_single_change_is_detected(n in 2u64..8, pick in any::<prop::sample::Index>(),
                                         new in arb_record()) {
            let mut recs = build(n);
            let i = pick.index(recs.len());
            let seq = recs[i].record.seq;
            let mut changed = new;
            changed.seq = seq;
            prop_assume!(changed != recs[i].record);
            recs[i].record = changed;
            let e = verify(ChainStart::Genesis, recs).unwrap_err();
            prop_assert_eq!(e.seq, seq);
            prop_assert_eq!(e.reason, TamperReason::HashMismatch);
        }
    }
}
