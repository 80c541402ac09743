//! RFC 3986 percent-encoding (the signatures' `enc`) and `application/x-www-form-urlencoded`
//! decoding (`+` is a space) of query strings and bodies.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything except `A-Z a-z 0-9 - _ . ~` is encoded, as upper-case `%XX`.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `s` as the signature schemes require.
pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// A query string or form body that is not valid `x-www-form-urlencoded` UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed url-encoded parameters: {0}")]
pub struct FormError(pub String);

/// Decodes `a=b&c=d` with form rules. Empty segments are skipped; a name without `=` has the
/// empty value.
pub fn decode_form(s: &str) -> Result<Vec<(String, String)>, FormError> {
    let mut params = FormParams::default();
    params.decode(s)?;
    Ok(params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// Decoded form parameters, in arrival order, held in one buffer: each name and value is a
/// slice of it (one allocation for all of them, not two per parameter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormParams {
    text: String,
    /// Per parameter: where its name and its value are in `text`.
    spans: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl FormParams {
    /// Decodes `a=b&c=d` with form rules and appends the pairs (empty segments are skipped; a
    /// name without `=` has the empty value). On error nothing is appended.
    pub fn decode(&mut self, s: &str) -> Result<(), FormError> {
        let (text_len, spans_len) = (self.text.len(), self.spans.len());
        self.text.reserve(s.len());
        for seg in s.split('&').filter(|seg| !seg.is_empty()) {
            let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
            let decoded = self
                .decode_component(k)
                .and_then(|k| Ok((k, self.decode_component(v)?)));
            match decoded {
                Ok(span) => self.spans.push(span),
                Err(e) => {
                    self.text.truncate(text_len);
                    self.spans.truncate(spans_len);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Room for `bytes` of decoded text (a query and body of that length), so that decoding
    /// does not move the buffer and leave copies behind.
    pub fn with_capacity(bytes: usize) -> Self {
        FormParams {
            text: String::with_capacity(bytes),
            spans: Vec::new(),
        }
    }

    /// Appends one pair as given (already decoded).
    pub fn push(&mut self, name: &str, value: &str) {
        let k = self.append(name);
        let v = self.append(value);
        self.spans.push((k, v));
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.spans
            .iter()
            .map(|(k, v)| (self.slice(k), self.slice(v)))
    }

    /// The value of the first pair named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        // Names compared as bytes (no slicing of `text` per pair): this runs for every
        // parameter an action reads.
        let bytes = self.text.as_bytes();
        self.spans
            .iter()
            .find(|(k, _)| bytes.get(k.clone()) == Some(name.as_bytes()))
            .map(|(_, v)| self.slice(v))
    }

    fn slice(&self, span: &std::ops::Range<usize>) -> &str {
        self.text.get(span.clone()).unwrap_or_default()
    }

    /// Appends `s` and returns its span.
    fn append(&mut self, s: &str) -> std::ops::Range<usize> {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }

    /// Decodes one component (`+` is a space, `%XX` a byte) onto the end of `text`; the result
    /// must be UTF-8.
    fn decode_component(&mut self, s: &str) -> Result<std::ops::Range<usize>, FormError> {
        let bytes = s.as_bytes();
        let Some(first) = memchr::memchr2(b'%', b'+', bytes) else {
            // Nothing to decode (most names and many values): already valid UTF-8.
            return Ok(self.append(s));
        };
        let malformed = || FormError(s.to_owned());
        // Decoded values may be secrets (Encrypt's `Plaintext`): the scratch copy is wiped.
        let mut out = zeroize::Zeroizing::new(Vec::with_capacity(bytes.len()));
        let (plain, mut rest) = bytes.split_at(first);
        out.extend_from_slice(plain);
        while !rest.is_empty() {
            // The run up to the next escape is copied whole.
            let run = memchr::memchr2(b'%', b'+', rest).unwrap_or(rest.len());
            let (plain, tail) = rest.split_at(run);
            out.extend_from_slice(plain);
            rest = match tail {
                [b'+', tail @ ..] => {
                    out.push(b' ');
                    tail
                }
                [b'%', hi, lo, tail @ ..] => {
                    let (Some(hi), Some(lo)) = (hex_value(*hi), hex_value(*lo)) else {
                        return Err(malformed());
                    };
                    out.push((hi << 4) | lo);
                    tail
                }
                [] => tail,
                _ => return Err(malformed()),
            };
        }
        let text = std::str::from_utf8(&out).map_err(|_| malformed())?;
        Ok(self.append(text))
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for FormParams {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(pairs: I) -> Self {
        let mut params = FormParams::default();
        for (k, v) in pairs {
            params.push(k, v);
        }
        params
    }
}

/// The value of one hexadecimal digit (either case).
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Encodes pairs as a query string with RFC 3986 encoding (spaces as `%20`).
pub fn encode_query(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_like_the_sdks() {
        assert_eq!(
            enc("hello world +/= ü"),
            "hello%20world%20%2B%2F%3D%20%C3%BC"
        );
        assert_eq!(enc("a*b~c"), "a%2Ab~c");
        assert_eq!(enc("2016-03-28T03:13:08Z"), "2016-03-28T03%3A13%3A08Z");
    }

    #[test]
    fn decodes_form_rules() {
        let p = decode_form("Plaintext=hello+world+%2B%2F%3D+%C3%BC&SignatureType=&X").unwrap();
        assert_eq!(p[0], ("Plaintext".into(), "hello world +/= ü".into()));
        assert_eq!(p[1], ("SignatureType".into(), String::new()));
        assert_eq!(p[2], ("X".into(), String::new()));
        assert!(decode_form("a=%zz").is_err());
        assert!(decode_form("a=%4").is_err());
        assert!(decode_form("a=%ff").is_err());
        assert!(decode_form("a=%+1").is_err());
        assert!(decode_form("a=%-1").is_err());
        assert_eq!(decode_form("a=%c3%BC").unwrap()[0].1, "ü");
    }

    #[test]
    fn one_buffer_keeps_pairs_apart_and_fails_whole() {
        let mut p = FormParams::default();
        p.decode("a=1&b=x%2By&&c").unwrap();
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            [("a", "1"), ("b", "x+y"), ("c", "")]
        );
        assert!(p.decode("d=2&e=%zz").is_err());
        assert_eq!(p.len(), 3, "a failed decode appends nothing");
        p.push("d", "ü");
        assert_eq!(p.get("d"), Some("ü"));
        assert_eq!(p.get("e"), None);
    }

    /// Form decoding by its definition, byte by byte: the oracle for the run-wise decoder.
    fn decode_by_definition(s: &str) -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                    if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                        return None;
                    }
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                _ => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }

    proptest! {
        #[test]
        fn decodes_as_the_definition(v in "([a-zA-Z0-9+%ü.-]|%[0-9a-fA-FgG+]{0,2}|%[cC]3%[bB][cC]){0,12}") {
            let mut p = FormParams::default();
            let got = p.decode(&format!("k={v}")).ok().and_then(|()| p.get("k").map(str::to_owned));
            prop_assert_eq!(got, decode_by_definition(&v));
        }

        #[test]
        fn encode_decode_round_trip(k in "[A-Za-z.]{1,8}", v in ".{0,24}") {
            let q = encode_query(&[(k.clone(), v.clone())]);
            prop_assert_eq!(decode_form(&q).unwrap(), vec![(k, v)]);
        }
    }
}
