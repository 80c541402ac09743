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
    s.split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| {
            let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
            Ok((decode_component(k)?, decode_component(v)?))
        })
        .collect()
}

fn decode_component(s: &str) -> Result<String, FormError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or_else(|| FormError(s.to_owned()))?;
                let hex = std::str::from_utf8(hex).map_err(|_| FormError(s.to_owned()))?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| FormError(s.to_owned()))?);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError(s.to_owned()))
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
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(k in "[A-Za-z.]{1,8}", v in ".{0,24}") {
            let q = encode_query(&[(k.clone(), v.clone())]);
            prop_assert_eq!(decode_form(&q).unwrap(), vec![(k, v)]);
        }
    }
}
