//! Request signatures of the Alibaba Cloud SDKs, computed the same way on both ends: the server
//! recomputes and compares in constant time, the client signs.
//!
//! - [`rpc_v1`]: HMAC-SHA1 over the sorted query (`Signature` parameter), the old SDK's scheme.
//! - [`acs3`]: `ACS3-HMAC-SHA256` in the `Authorization` header, the new SDK's default.
//! - [`acs4`]: `ACS4-HMAC-SHA256`, the new SDK with `signature_version='v4'`.
//!
//! [`percent`] has the RFC 3986 encoding and the form decoding they share.

pub mod acs3;
pub mod acs4;
pub mod percent;
pub mod rpc_v1;

use aws_lc_rs::{digest, hmac};
use subtle::ConstantTimeEq;

/// Hex SHA-256 of `data` (the `x-acs-content-sha256` header and the canonical-request hash).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data))
}

/// HMAC-SHA256.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Compares two signatures in constant time (for equal lengths).
pub fn signatures_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Owned `(name, value)` pairs as the borrowed pairs the signature functions take.
pub fn pairs(params: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

/// One request as the signature schemes see it. Header names are lower-case.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The decoded query parameters.
    pub params: &'a [(&'a str, &'a str)],
    /// Every header of the request, names lower-cased, values as received.
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body.
    pub body_sha256: &'a str,
}

impl SignedRequest<'_> {
    /// All values of header `name` (lower-case), trimmed, sorted and joined by `,`.
    pub fn header_value(&self, name: &str) -> Option<String> {
        let mut vals: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .collect();
        if vals.is_empty() {
            return None;
        }
        vals.sort_unstable();
        Some(vals.join(","))
    }
}

/// `<algorithm>\n<hex sha256 of the canonical request>`: the string-to-sign of ACS3 and ACS4.
pub fn header_string_to_sign(
    algorithm: &str,
    req: &SignedRequest<'_>,
    signed_headers: &[String],
) -> Result<String, MissingHeader> {
    let canonical = canonical_request(req, signed_headers)?;
    Ok(format!("{algorithm}\n{}", sha256_hex(canonical.as_bytes())))
}

/// Builds the canonical request shared by ACS3 and ACS4. Query keys are percent-encoded (ACS4's
/// SDK does; ACS3's does not, which is the same for the alphanumeric names the APIs use).
pub fn canonical_request(
    req: &SignedRequest<'_>,
    signed_headers: &[String],
) -> Result<String, MissingHeader> {
    use percent::enc;
    let mut query: Vec<(String, String)> =
        req.params.iter().map(|(k, v)| (enc(k), enc(v))).collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut out = format!("{}\n/\n{}\n", req.method, query.join("&"));
    for name in signed_headers {
        let value = req
            .header_value(name)
            .ok_or_else(|| MissingHeader(name.clone()))?;
        out.push_str(name);
        out.push(':');
        out.push_str(&value);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(req.body_sha256);
    Ok(out)
}

/// A header named in `SignedHeaders` is not in the request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signed header {0:?} is missing from the request")]
pub struct MissingHeader(pub String);

/// Parsed `Authorization: <ALG> Credential=..,SignedHeaders=..,Signature=..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// `ACS3-HMAC-SHA256` or `ACS4-HMAC-SHA256`.
    pub algorithm: String,
    /// The Credential field (ACS3: the AccessKeyId; ACS4: `AK/date/region/product/aliyun_v4_request`).
    pub credential: String,
    /// Lower-case header names, in the order given.
    pub signed_headers: Vec<String>,
    /// Hex signature.
    pub signature: String,
}

impl Authorization {
    /// Parses the header; `None` when a field is missing.
    pub fn parse(header: &str) -> Option<Self> {
        let (algorithm, rest) = header.trim().split_once(' ')?;
        let (mut credential, mut signed, mut signature) = (None, None, None);
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=')?;
            match k {
                "Credential" => credential = Some(v.to_owned()),
                "SignedHeaders" => signed = Some(v.to_owned()),
                "Signature" => signature = Some(v.to_owned()),
                _ => {}
            }
        }
        let signed_headers: Vec<String> = signed?
            .split(';')
            .filter(|s| !s.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        Some(Self {
            algorithm: algorithm.to_owned(),
            credential: credential?,
            signed_headers,
            signature: signature?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_authorization() {
        let a = Authorization::parse(
            "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host;x-acs-date,Signature=abc",
        )
        .unwrap();
        assert_eq!(a.algorithm, "ACS3-HMAC-SHA256");
        assert_eq!(a.credential, "AK");
        assert_eq!(a.signed_headers, vec!["host", "x-acs-date"]);
        assert_eq!(a.signature, "abc");
        assert!(Authorization::parse("ACS3-HMAC-SHA256 Credential=AK,Signature=abc").is_none());
        assert!(Authorization::parse("garbage").is_none());
    }

    #[test]
    fn constant_time_compare() {
        assert!(signatures_equal("abc", "abc"));
        assert!(!signatures_equal("abc", "abd"));
        assert!(!signatures_equal("abc", "abcd"));
    }
}
