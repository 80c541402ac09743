//! The `EncryptionContext`: a JSON object of string keys to string values, bound to every
//! ciphertext as AES-GCM additional data.
//!
//! Two contexts are *equivalent* when they hold the same key/value pairs, whatever the key order
//! or spacing (the old SDK sends `{"a": "1"}`, the new one `{"a":"1"}`). The canonical form, which
//! is the AAD, is the compact JSON of the pairs sorted by key. An absent context and `{}` are the
//! same empty context, whose AAD is empty.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};

/// Most characters a context may have on the wire.
pub const MAX_CONTEXT_CHARS: usize = 8192;

/// Why a context was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContextError {
    /// Longer than [`MAX_CONTEXT_CHARS`].
    #[error("EncryptionContext is longer than {MAX_CONTEXT_CHARS} characters")]
    TooLong,
    /// Not a JSON object of string values, or a key appears twice.
    #[error("EncryptionContext must be a JSON object whose values are strings: {0}")]
    Malformed(String),
}

/// A parsed, validated encryption context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptionContext(BTreeMap<String, String>);

impl EncryptionContext {
    /// The empty context (no AAD).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses the wire form. `None` and the empty string both give the empty context.
    pub fn parse(wire: Option<&str>) -> Result<Self, ContextError> {
        let Some(text) = wire.filter(|t| !t.trim().is_empty()) else {
            return Ok(Self::empty());
        };
        if text.chars().count() > MAX_CONTEXT_CHARS {
            return Err(ContextError::TooLong);
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let map = de
            .deserialize_map(PairsVisitor)
            .and_then(|m| de.end().map(|()| m))
            .map_err(|e| ContextError::Malformed(e.to_string()))?;
        Ok(Self(map))
    }

    /// Builds a context from pairs (CLI `--context k=v`).
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// The canonical bytes used as AAD: empty for the empty context, else sorted compact JSON.
    pub fn canonical(&self) -> Vec<u8> {
        if self.0.is_empty() {
            return Vec::new();
        }
        // Serializing a BTreeMap<String, String> cannot fail.
        serde_json::to_vec(&self.0).unwrap_or_default()
    }

    /// The pairs, sorted by key.
    pub fn pairs(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// True when the context has no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

struct PairsVisitor;

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = BTreeMap<String, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of string values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = BTreeMap::new();
        while let Some((k, v)) = access.next_entry::<String, String>()? {
            if map.insert(k.clone(), v).is_some() {
                return Err(de::Error::custom(format!("duplicate key {k:?}")));
            }
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn equivalent_forms_share_canonical_bytes() {
        let a =
            EncryptionContext::parse(Some(r#"{"purpose": "test data", "a*b": "x+y/z~"}"#)).unwrap();
        let b =
            EncryptionContext::parse(Some(r#"{"a*b":"x+y/z~","purpose":"test data"}"#)).unwrap();
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(
            a.canonical(),
            br#"{"a*b":"x+y/z~","purpose":"test data"}"#.to_vec()
        );
    }

    #[test]
    fn empty_forms() {
        assert!(
            EncryptionContext::parse(None)
                .unwrap()
                .canonical()
                .is_empty()
        );
        assert!(
            EncryptionContext::parse(Some(""))
                .unwrap()
                .canonical()
                .is_empty()
        );
        assert!(
            EncryptionContext::parse(Some("{}"))
                .unwrap()
                .canonical()
                .is_empty()
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        for bad in [
            r#"{"a":1}"#,
            r#"["a"]"#,
            r#"{"a":{"b":"c"}}"#,
            "{",
            r#"{"a":"1"} x"#,
            "null",
        ] {
            assert!(
                matches!(
                    EncryptionContext::parse(Some(bad)),
                    Err(ContextError::Malformed(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            EncryptionContext::parse(Some(r#"{"a":"1","a":"2"}"#)),
            Err(ContextError::Malformed(_))
        ));
        let long = format!(r#"{{"k":"{}"}}"#, "x".repeat(MAX_CONTEXT_CHARS));
        assert_eq!(
            EncryptionContext::parse(Some(&long)),
            Err(ContextError::TooLong)
        );
    }

    proptest! {
        #[test]
        fn canonical_is_a_fixed_point(pairs in proptest::collection::btree_map(".{0,8}", ".{0,8}", 0..6)) {
            let ctx = EncryptionContext::from_pairs(pairs);
            let text = String::from_utf8(ctx.canonical()).unwrap();
            let again = EncryptionContext::parse(Some(&text)).unwrap();
            prop_assert_eq!(again, ctx);
        }
    }
}
