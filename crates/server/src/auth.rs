//! Authentication: pick the signature scheme the request uses (ACS3 / ACS4 from
//! `Authorization`, else RPC v1's `Signature` parameter), verify it in constant time against the
//! access key's secret, then check the timestamp window and reject a reused nonce.
//!
//! Order matters: the signature is verified before the nonce is recorded, so an unauthenticated
//! caller cannot burn someone else's nonces.

use keywarden_core::sign::{self, Authorization, SignedRequest, acs3, acs4, rpc_v1};

use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// How far a request's timestamp may be from the server clock, in seconds (15 minutes).
pub const TIMESTAMP_WINDOW_SECS: i64 = 15 * 60;

/// Who made an authenticated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The access key that signed it.
    pub access_key_id: String,
    /// The user owning that key.
    pub user_name: String,
}

/// The signature fields a scheme extracted from the request.
struct Claim {
    access_key_id: String,
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

/// Authenticates `req`, returning the caller.
pub async fn authenticate(kms: &Kms, req: &ApiRequest) -> Result<Caller, ApiError> {
    let claim = claim(req)?;
    let cred = kms.credential(&claim.access_key_id).await?;
    if cred.record.status != "Active" {
        return Err(ApiError::AccessKeyInactive);
    }
    verify_signature(req, &claim, cred.secret.expose_secret())?;
    let now = kms.now();
    check_timestamp(&claim.timestamp, now)?;
    let fresh = kms
        .store
        .remember_nonce(
            &format!("{}:{}", claim.access_key_id, claim.nonce),
            now + TIMESTAMP_WINDOW_SECS * 2,
            now,
        )
        .await?;
    if !fresh {
        return Err(ApiError::NonceUsed);
    }
    Ok(Caller {
        access_key_id: claim.access_key_id,
        user_name: cred.record.user_name.clone(),
    })
}

fn claim(req: &ApiRequest) -> Result<Claim, ApiError> {
    match req.header("authorization") {
        Some(h) if h.starts_with(acs3::ALGORITHM) => header_claim(req, h, false),
        Some(h) if h.starts_with(acs4::ALGORITHM) => header_claim(req, h, true),
        Some(_) => Err(ApiError::IncompleteSignature(
            "unsupported Authorization scheme".into(),
        )),
        None => rpc_claim(req),
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
    Ok(Claim {
        access_key_id: field("AccessKeyId")?,
        timestamp: req
            .param("Timestamp")
            .ok_or(ApiError::IllegalTimestamp)?
            .to_owned(),
        nonce: field("SignatureNonce")?,
        scheme: Scheme::RpcV1 {
            signature: signature.to_owned(),
        },
    })
}

fn header_claim(req: &ApiRequest, header: &str, v4: bool) -> Result<Claim, ApiError> {
    let auth = Authorization::parse(header)
        .ok_or_else(|| ApiError::IncompleteSignature("malformed Authorization header".into()))?;
    for needed in [
        "host",
        "x-acs-action",
        "x-acs-date",
        "x-acs-signature-nonce",
    ] {
        if !auth.signed_headers.iter().any(|h| h == needed) {
            return Err(ApiError::IncompleteSignature(format!(
                "header {needed} must be signed"
            )));
        }
    }
    if req
        .header("x-acs-content-sha256")
        .is_some_and(|h| !h.eq_ignore_ascii_case(&req.body_sha256))
    {
        return Err(ApiError::IncompleteSignature(
            "x-acs-content-sha256 does not match the body".into(),
        ));
    }
    let timestamp = req
        .header("x-acs-date")
        .ok_or(ApiError::IllegalTimestamp)?
        .to_owned();
    let nonce = req
        .header("x-acs-signature-nonce")
        .ok_or_else(|| ApiError::IncompleteSignature("x-acs-signature-nonce is missing".into()))?
        .to_owned();
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
        timestamp,
        nonce,
        scheme,
    })
}

fn verify_signature(req: &ApiRequest, claim: &Claim, secret: &str) -> Result<(), ApiError> {
    let signed = SignedRequest {
        method: &req.method,
        params: req.query_params(),
        headers: &req.headers,
        body_sha256: &req.body_sha256,
    };
    let missing = |e: sign::MissingHeader| ApiError::IncompleteSignature(e.to_string());
    let (sts, expected, given) = match &claim.scheme {
        Scheme::RpcV1 { signature } => {
            let sts = rpc_v1::string_to_sign(&req.method, &req.params);
            let expected = rpc_v1::sign(secret, &sts);
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

fn check_timestamp(ts: &str, now: i64) -> Result<(), ApiError> {
    let t = keywarden_core::dates::parse_api(ts).ok_or(ApiError::IllegalTimestamp)?;
    if (now - t).abs() > TIMESTAMP_WINDOW_SECS {
        return Err(ApiError::TimestampExpired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
