//! Types of the audit trail as the store keeps it. The record format and the hash chain are
//! `keywarden_core::audit`'s; the store only assigns sequence numbers and links records, inside
//! the transaction that appends them (see [`crate::KeyStore::append_audit`]).

use std::fmt;
use std::str::FromStr;

use keywarden_core::audit::{FIRST_SEQ, Hash, parse_hash};

pub use keywarden_core::audit::{AuditRecord, ChainedRecord};

/// The last record of the audit chain: its `seq` and `hash`. Published outside the store (the
/// server logs it), it lets a later verification detect a truncated or rewritten log. Its text
/// form, `<seq>:<64 hex digits>`, is what `keywarden audit --expect-head` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditHead {
    /// The last record's sequence number (from [`FIRST_SEQ`]).
    pub seq: u64,
    /// The last record's hash.
    pub hash: Hash,
}

impl AuditHead {
    /// Where the next record goes: its `seq` and `prev_hash`, after `head` (the genesis link on
    /// an empty log).
    pub fn next_link(head: Option<AuditHead>) -> (u64, Hash) {
        match head {
            None => (FIRST_SEQ, keywarden_core::audit::GENESIS_HASH),
            Some(h) => (h.seq.saturating_add(1), h.hash),
        }
    }
}

impl fmt::Display for AuditHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, hex::encode(self.hash))
    }
}

/// What a prune of the audit trail did (see [`crate::KeyStore::prune_audit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditPruned {
    /// The last removed record: verification of the rest starts after it.
    pub anchor: AuditHead,
    /// Records removed.
    pub removed: u64,
}

/// Why an [`AuditHead`] did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected <seq>:<64 hex digits>, e.g. 42:{zeros}", zeros = "0".repeat(64))]
pub struct ParseHeadError;

impl FromStr for AuditHead {
    type Err = ParseHeadError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (seq, hash) = s.trim().split_once(':').ok_or(ParseHeadError)?;
        let seq: u64 = seq.parse().map_err(|_| ParseHeadError)?;
        if seq < FIRST_SEQ {
            return Err(ParseHeadError);
        }
        let hash = parse_hash(hash).ok_or(ParseHeadError)?;
        Ok(AuditHead { seq, hash })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_text_round_trips() {
        let head = AuditHead {
            seq: 42,
            hash: [0xab; 32],
        };
        let text = head.to_string();
        assert_eq!(text, format!("42:{}", "ab".repeat(32)));
        assert_eq!(text.parse::<AuditHead>(), Ok(head));
        for bad in ["", "42", "x:ab", "0:", "42:abcd"] {
            assert_eq!(bad.parse::<AuditHead>(), Err(ParseHeadError), "{bad:?}");
        }
        assert_eq!(
            format!("0:{}", "ab".repeat(32)).parse::<AuditHead>(),
            Err(ParseHeadError)
        );
    }

    #[test]
    fn the_next_link_follows_the_head() {
        assert_eq!(
            AuditHead::next_link(None),
            (FIRST_SEQ, keywarden_core::audit::GENESIS_HASH)
        );
        let head = AuditHead {
            seq: 7,
            hash: [1; 32],
        };
        assert_eq!(AuditHead::next_link(Some(head)), (8, [1; 32]));
    }
}
