//! `ACS4-HMAC-SHA256`, the new SDK with `signature_version='v4'`: the ACS3 canonical request,
//! signed with a key derived from the date, region and product:
//!
//! ```text
//! kDate = HMAC("aliyun_v4" + secret, YYYYMMDD); kRegion = HMAC(kDate, region)
//! kService = HMAC(kRegion, product); kSigning = HMAC(kService, "aliyun_v4_request")
//! Signature = hex(HMAC(kSigning, "ACS4-HMAC-SHA256\n" + hex(sha256(CanonicalRequest))))
//! ```

use super::{MissingHeader, SignedRequest, hmac_sha256};

/// The algorithm name in the `Authorization` header.
pub const ALGORITHM: &str = "ACS4-HMAC-SHA256";
const TERMINATOR: &str = "aliyun_v4_request";

/// The credential scope `AK/date/region/product/aliyun_v4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The AccessKeyId.
    pub access_key_id: String,
    /// `YYYYMMDD`.
    pub date: String,
    /// Region id.
    pub region: String,
    /// Product code, e.g. `Kms`.
    pub product: String,
}

impl Scope {
    /// Parses the `Credential=` field.
    pub fn parse(credential: &str) -> Option<Self> {
        let mut it = credential.split('/');
        let scope = Self {
            access_key_id: it.next()?.to_owned(),
            date: it.next()?.to_owned(),
            region: it.next()?.to_owned(),
            product: it.next()?.to_owned(),
        };
        (it.next()? == TERMINATOR && it.next().is_none()).then_some(scope)
    }
}

/// The string-to-sign of `req` over `signed_headers` (lower-case, sorted).
pub fn string_to_sign(
    req: &SignedRequest<'_>,
    signed_headers: &[String],
) -> Result<String, MissingHeader> {
    super::header_string_to_sign(ALGORITHM, req, signed_headers)
}

/// The signing key for `scope`.
pub fn signing_key(secret: &str, scope: &Scope) -> [u8; 32] {
    let k_date = hmac_sha256(
        format!("aliyun_v4{secret}").as_bytes(),
        scope.date.as_bytes(),
    );
    let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&k_region, scope.product.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

/// The hex signature of `string_to_sign`.
pub fn sign(secret: &str, scope: &Scope, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(
        &signing_key(secret, scope),
        string_to_sign.as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::percent::decode_form;
    use super::super::sha256_hex;
    use super::*;

    #[test]
    fn captured_encrypt() {
        let params = decode_form("EncryptionContext=%7B%22k%22%3A%22v%22%7D&KeyId=1234abcd-12ab-34cd-56ef-12345678%2A%2A%2A%2A&Plaintext=hello+world+%2B%2F%3D+%C3%BC").unwrap();
        let headers: Vec<(String, String)> = [
            ("host", "127.0.0.1:18080"),
            ("x-acs-version", "2016-01-20"),
            (
                "user-agent",
                "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
            ),
            ("x-acs-date", "2026-11-22T08:50:17Z"),
            ("x-acs-signature-nonce", "44da43a0e8ff56cc5bac05f8848edbb7"),
            ("accept", "application/json"),
            ("x-acs-action", "Encrypt"),
            (
                "x-acs-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            ("x-acs-credentials-provider", "static_ak"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let body = sha256_hex(b"");
        let params: Vec<(&str, &str)> = crate::sign::pairs(&params).collect();
        let req = SignedRequest {
            method: "POST",
            params: &params,
            headers: &headers,
            body_sha256: &body,
        };
        let scope =
            Scope::parse("LTAI5tTestAccessKeyId/20261122/cn-hangzhou/Kms/aliyun_v4_request")
                .unwrap();
        let signed: Vec<String> = "host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version".split(';').map(str::to_owned).collect();
        let sts = string_to_sign(&req, &signed).unwrap();
        assert_eq!(
            sts,
            "ACS4-HMAC-SHA256\n2ee81c833a85f4c63c3ca0e9ce3eaecddf3005b57e9074ce17be77f4819255ad"
        );
        assert_eq!(
            hex::encode(signing_key("TestAccessKeySecret123", &scope)),
            "f98f55a84d79f95dffdb26c55158c196741ff4434f0b9b62c3a644309b389c29"
        );
        assert_eq!(
            sign("TestAccessKeySecret123", &scope, &sts),
            "c6891c4aad25a2d526dbbf4ec07d98bbe39cb2caff29b5c568543848f4f5c518"
        );
    }

    #[test]
    fn scope_parsing() {
        assert!(Scope::parse("AK/20261122/cn-hangzhou/Kms/aliyun_v4_request").is_some());
        assert!(Scope::parse("AK/20261122/cn-hangzhou/Kms").is_none());
        assert!(Scope::parse("AK/20261122/cn-hangzhou/Kms/other").is_none());
        assert!(Scope::parse("AK/20261122/cn-hangzhou/Kms/aliyun_v4_request/x").is_none());
    }
}
