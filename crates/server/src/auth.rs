//! Authentication: pick the signature scheme the request uses (ACS3 / ACS4 from
//! `Authorization`, else RPC v1's `Signature` parameter), verify it in constant time against the
//! access key's secret, then check the timestamp window and reject a reused nonce.
//!
//! Order matters: the signature is verified before the nonce is recorded, so an unauthenticated
//! caller cannot burn someone else's nonces. The [`Claim`] carries the action and API version
//! from the signed part of the request only: RPC v1 routes on its signed `Action`/`Version`
//! parameters (a disagreeing `x-acs-action`/`x-acs-version` header is refused), ACS3/ACS4 must
//! sign the routing and freshness headers ([`MUST_SIGN`]).

use keywarden_core::model::AccessKeyStatus;
use keywarden_core::sign::{self, Authorization, SignedRequest, acs3, acs4, rpc_v1};

use keywarden_store::NonceDigest;

use crate::error::ApiError;
use crate::kms::{Credential, Kms};
use crate::request::ApiRequest;

/// How far a request's timestamp may be from the server clock, in seconds (15 minutes).
pub const TIMESTAMP_WINDOW_SECS: i64 = 15 * 60;

pub use crate::caller::Caller;

/// Longest `SignatureNonce` / `x-acs-signature-nonce` accepted, in bytes (the SDKs send 32 to
/// 36 characters).
pub const MAX_NONCE_BYTES: usize = 128;

/// The headers an ACS3 / ACS4 request must sign: they choose the action, the product and the
/// freshness of the request, so none of them may come from outside the signature.
const MUST_SIGN: [&str; 6] = [
    "host",
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
];

/// What a request claims before its signature is checked: who signed it, when, with which
/// nonce, and which action of which API version it asks for. Every field comes from the part
/// of the request the signature covers (RPC v1 parameters, ACS3/ACS4 signed headers).
pub struct Claim {
    /// The access key that claims to have signed.
    pub access_key_id: String,
    /// The signed action name.
    pub action: String,
    /// The signed API version.
    pub version: String,
    timestamp: String,
    nonce: String,
    scheme: Scheme,
}

enum Scheme {
    RpcV1 {
        signature: String,
    },
    Acs3 {
        auth: Authorization,
    },
    Acs4 {
        auth: Authorization,
        scope: acs4::Scope,
    },
}

/// Checks the claim's signature, timestamp and nonce; the caller.
pub async fn authenticate(kms: &Kms, req: &ApiRequest, claim: &Claim) -> Result<Caller, ApiError> {
    let cred = kms.credential(&claim.access_key_id).await?;
    if cred.record.status != AccessKeyStatus::Active {
        return Err(ApiError::AccessKeyInactive);
    }
    verify_signature(req, claim, &cred)?;
    let now = kms.now();
    let timestamp = check_timestamp(&claim.timestamp, now)?;
    let digest = nonce_digest(&claim.access_key_id, &claim.nonce);
    // The request can pass the skew check until `timestamp + WINDOW` inclusive, so its nonce is
    // remembered exactly that long.
    let fresh = kms
        .store
        .remember_nonce(&digest, timestamp + TIMESTAMP_WINDOW_SECS, now)
        .await?;
    if !fresh {
        return Err(ApiError::NonceUsed);
    }
    Ok(Caller {
        access_key_id: claim.access_key_id.clone(),
        user_name: cred.record.user_name.clone(),
    })
}

/// The fixed-size form in which a nonce is remembered: the first 16 bytes of
/// SHA-256(access key id || 0x00 || nonce).
pub fn nonce_digest(access_key_id: &str, nonce: &str) -> NonceDigest {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(access_key_id.as_bytes());
    ctx.update(&[0]);
    ctx.update(nonce.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(ctx.finish().as_ref().get(..16).unwrap_or(&[0; 16]));
    out
}

/// What `req` claims: the scheme from `Authorization` (`ACS3-HMAC-SHA256`,
/// `ACS4-HMAC-SHA256`), else RPC v1's `Signature` parameter.
pub fn claim(req: &ApiRequest) -> Result<Claim, ApiError> {
    let claim = match req.header("authorization") {
        Some(h) if h.starts_with(acs3::ALGORITHM) => header_claim(req, h, false),
        Some(h) if h.starts_with(acs4::ALGORITHM) => header_claim(req, h, true),
        Some(_) => Err(ApiError::IncompleteSignature(
            "unsupported Authorization scheme".into(),
        )),
        None => rpc_claim(req),
    }?;
    check_nonce(&claim.nonce)?;
    Ok(claim)
}

fn check_nonce(nonce: &str) -> Result<(), ApiError> {
    if nonce.is_empty() {
        return Err(ApiError::IncompleteSignature(
            "the signature nonce is empty".into(),
        ));
    }
    if nonce.len() > MAX_NONCE_BYTES {
        return Err(ApiError::IncompleteSignature(format!(
            "the signature nonce is longer than {MAX_NONCE_BYTES} bytes"
        )));
    }
    Ok(())
}

/// A routing header that disagrees with the signed value is refused: only signed input may
/// choose what runs.
fn agree(req: &ApiRequest, header: &str, signed: &str) -> Result<(), ApiError> {
    match req.header(header) {
        Some(h) if h != signed => Err(ApiError::IncompleteSignature(format!(
            "header {header} ({h:?}) disagrees with the signed value {signed:?}"
        ))),
        _ => Ok(()),
    }
}

/// A routing parameter that disagrees with the signed header is refused.
fn agree_param(req: &ApiRequest, param: &str, signed: &str) -> Result<(), ApiError> {
    match req.param(param) {
        Some(p) if p != signed => Err(ApiError::IncompleteSignature(format!(
            "parameter {param} ({p:?}) disagrees with the signed header value {signed:?}"
        ))),
        _ => Ok(()),
    }
}

fn rpc_claim(req: &ApiRequest) -> Result<Claim, ApiError> {
    let signature = req.param("Signature").ok_or_else(|| {
        ApiError::IncompleteSignature("no Authorization header and no Signature parameter".into())
    })?;
    let field = |name: &'static str| req.required(name).map(str::to_owned);
    let method = field("SignatureMethod")?;
    if method != "HMAC-SHA1" {
        return Err(ApiError::IncompleteSignature(format!(
            "SignatureMethod {method:?} is not supported"
        )));
    }
    let action = field("Action").map_err(|_| ApiError::ActionNotFound)?;
    let version = field("Version").map_err(|_| ApiError::InvalidVersion)?;
    agree(req, "x-acs-action", &action)?;
    agree(req, "x-acs-version", &version)?;
    Ok(Claim {
        access_key_id: field("AccessKeyId")?,
        action,
        version,
        timestamp: req
            .param("Timestamp")
            .ok_or(ApiError::IllegalTimestamp)?
            .to_owned(),
        nonce: req.param("SignatureNonce").unwrap_or_default().to_owned(),
        scheme: Scheme::RpcV1 {
            signature: signature.to_owned(),
        },
    })
}

fn header_claim(req: &ApiRequest, header: &str, v4: bool) -> Result<Claim, ApiError> {
    let auth = Authorization::parse(header)
        .ok_or_else(|| ApiError::IncompleteSignature("malformed Authorization header".into()))?;
    for needed in MUST_SIGN {
        if !auth.signed_headers.iter().any(|h| h == needed) {
            return Err(ApiError::IncompleteSignature(format!(
                "header {needed} must be signed"
            )));
        }
    }
    let signed = |name: &'static str| {
        req.header(name)
            .map(str::to_owned)
            .ok_or_else(|| ApiError::IncompleteSignature(format!("header {name} is missing")))
    };
    if !signed("x-acs-content-sha256")?.eq_ignore_ascii_case(&req.body_sha256) {
        return Err(ApiError::IncompleteSignature(
            "x-acs-content-sha256 does not match the body".into(),
        ));
    }
    let action = signed("x-acs-action")?;
    let version = signed("x-acs-version")?;
    agree_param(req, "Action", &action)?;
    agree_param(req, "Version", &version)?;
    let timestamp = req
        .header("x-acs-date")
        .ok_or(ApiError::IllegalTimestamp)?
        .to_owned();
    let nonce = signed("x-acs-signature-nonce")?;
    let (access_key_id, scheme) = if v4 {
        let scope = acs4::Scope::parse(&auth.credential).ok_or_else(|| {
            ApiError::IncompleteSignature("malformed ACS4 credential scope".into())
        })?;
        if timestamp.get(..10).map(|d| d.replace('-', "")) != Some(scope.date.clone()) {
            return Err(ApiError::IncompleteSignature(
                "credential scope date differs from x-acs-date".into(),
            ));
        }
        (scope.access_key_id.clone(), Scheme::Acs4 { auth, scope })
    } else {
        (auth.credential.clone(), Scheme::Acs3 { auth })
    };
    Ok(Claim {
        access_key_id,
        action,
        version,
        timestamp,
        nonce,
        scheme,
    })
}

fn verify_signature(req: &ApiRequest, claim: &Claim, cred: &Credential) -> Result<(), ApiError> {
    check_signature(req, claim, cred.secret.expose_secret(), &cred.rpc_v1_key)
}

/// Checks the claim's signature over `req` under the access key's `secret` (and its RPC v1
/// HMAC key, [`rpc_v1::signing_key`] of the same secret), in constant time. Pure: no store, no
/// clock (the timestamp and nonce are [`authenticate`]'s).
pub fn check_signature(
    req: &ApiRequest,
    claim: &Claim,
    secret: &str,
    rpc_v1_key: &aws_lc_rs::hmac::Key,
) -> Result<(), ApiError> {
    let missing = |e: sign::MissingHeader| ApiError::IncompleteSignature(e.to_string());
    // ACS3 and ACS4 sign the query alone (the body through `x-acs-content-sha256`).
    let query: Vec<(&str, &str)> = match &claim.scheme {
        Scheme::RpcV1 { .. } => Vec::new(),
        _ => req.query_params().collect(),
    };
    let signed = SignedRequest {
        method: &req.method,
        params: &query,
        headers: &req.headers,
        body_sha256: &req.body_sha256,
    };
    let (sts, expected, given) = match &claim.scheme {
        Scheme::RpcV1 { signature } => {
            let sts = rpc_v1::string_to_sign(&req.method, req.params.iter());
            let expected = rpc_v1::sign_with(rpc_v1_key, &sts);
            (sts, expected, signature.as_str())
        }
        Scheme::Acs3 { auth } => {
            let sts = acs3::string_to_sign(&signed, &auth.signed_headers).map_err(missing)?;
            let expected = acs3::sign(secret, &sts);
            (sts, expected, auth.signature.as_str())
        }
        Scheme::Acs4 { auth, scope } => {
            let sts = acs4::string_to_sign(&signed, &auth.signed_headers).map_err(missing)?;
            let expected = acs4::sign(secret, scope, &sts);
            (sts, expected, auth.signature.as_str())
        }
    };
    if sign::signatures_equal(&expected, given) {
        Ok(())
    } else {
        Err(ApiError::SignatureDoesNotMatch(sts))
    }
}

/// The request's time (unix seconds), if within [`TIMESTAMP_WINDOW_SECS`] of `now`
/// (inclusive).
fn check_timestamp(ts: &str, now: i64) -> Result<i64, ApiError> {
    let t = keywarden_core::dates::parse_api(ts).ok_or(ApiError::IllegalTimestamp)?;
    if (now - t).abs() > TIMESTAMP_WINDOW_SECS {
        return Err(ApiError::TimestampExpired);
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "TestAccessKeySecret123";

    /// What the new Python SDK sent for Decrypt with a form body (`core::sign::acs3`'s vector).
    fn captured_acs3(body: &[u8]) -> ApiRequest {
        let signed = "accept;content-type;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version";
        let headers = [
            ("host", "127.0.0.1:18080"),
            ("x-acs-version", "2016-01-20"),
            ("x-acs-action", "Decrypt"),
            (
                "user-agent",
                "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
            ),
            ("x-acs-date", "2026-11-22T08:50:14Z"),
            ("x-acs-signature-nonce", "09688b9b50c2f74f33a6aa69f2074f25"),
            ("accept", "application/json"),
            ("content-type", "application/x-www-form-urlencoded"),
            (
                "x-acs-content-sha256",
                "64e316ce8c1fdde6a446f90e22dd37de6b853e6fe457ab787e4ddf16f0ba969b",
            ),
            ("x-acs-credentials-provider", "static_ak"),
            (
                "authorization",
                &format!(
                    "ACS3-HMAC-SHA256 Credential=LTAI5tTestAccessKeyId,SignedHeaders={signed},Signature=738a926f5f12400a228dee00cd0829c7e7f9cc38a5263021a97aeebb09c6a263"
                ),
            ),
        ];
        let headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        ApiRequest::parse(
            "POST",
            Some("CiphertextBlob=Y2lwaGVy%2B%2F%3D%3D"),
            headers,
            body,
            None,
        )
        .unwrap()
    }

    fn check(req: &ApiRequest, secret: &str) -> Result<(), ApiError> {
        let claim = claim(req)?;
        check_signature(req, &claim, secret, &rpc_v1::signing_key(secret))
    }

    #[test]
    fn check_signature_is_the_servers_verification_without_a_store() {
        let body = b"Recipient.AttestationDocument=abc&Recipient.KeyEncryptionAlgorithm=RSAES_OAEP_SHA_256";
        let acs3 = captured_acs3(body);
        assert!(check(&acs3, SECRET).is_ok());
        assert!(matches!(
            check(&acs3, "TestAccessKeySecret124"),
            Err(ApiError::SignatureDoesNotMatch(_))
        ));
        assert!(matches!(
            check(&captured_acs3(b"Recipient.AttestationDocument=abd"), SECRET),
            Err(ApiError::IncompleteSignature(_))
        ));
        // The old SDK's RPC v1 GenerateDataKey (`core::sign::rpc_v1`'s vector).
        let q = "KeyId=alias%2Fmy-key&NumberOfBytes=32&EncryptionContext=%7B%22purpose%22%3A%20%22test%20data%22%2C%20%22a%2Ab%22%3A%20%22x%2By%2Fz~%22%7D&Version=2016-01-20&Action=GenerateDataKey&Format=JSON&RegionId=cn-hangzhou&Timestamp=2026-11-22T08%3A50%3A01Z&SignatureMethod=HMAC-SHA1&SignatureType=&SignatureVersion=1.0&SignatureNonce=a9b18817be624409ff4986fd0a83c7ed&AccessKeyId=LTAI5tTestAccessKeyId&Signature=4iQT4xVVkmUIq%2FRjcC%2FKTq9tJxQ%3D";
        let rpc = ApiRequest::parse("POST", Some(q), Vec::new(), b"", None).unwrap();
        assert!(check(&rpc, SECRET).is_ok());
        let get = ApiRequest::parse("GET", Some(q), Vec::new(), b"", None).unwrap();
        assert!(matches!(
            check(&get, SECRET),
            Err(ApiError::SignatureDoesNotMatch(_))
        ));
    }

    #[test]
    fn timestamp_window() {
        let now = keywarden_core::dates::parse_api("2026-11-22T08:50:00Z").unwrap();
        assert!(check_timestamp("2026-11-22T08:50:00Z", now).is_ok());
        assert!(check_timestamp("2026-11-22T09:04:59Z", now).is_ok());
        assert!(matches!(
            check_timestamp("2026-11-22T09:05:01Z", now),
            Err(ApiError::TimestampExpired)
        ));
        assert!(matches!(
            check_timestamp("2026-11-22T08:34:59Z", now),
            Err(ApiError::TimestampExpired)
        ));
        assert!(matches!(
            check_timestamp("yesterday", now),
            Err(ApiError::IllegalTimestamp)
        ));
    }
}
