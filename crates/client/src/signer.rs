//! Signs a KMS call the way the new Alibaba SDK does by default (ACS3-HMAC-SHA256): action
//! parameters in the query, `x-acs-*` headers, every header signed.

use keywarden_core::sign::{self, SignedRequest, acs3, percent};

/// A signed request ready to send.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The query string (RFC 3986 encoded).
    pub query: String,
    /// Headers to send, names lower-case (includes `authorization`).
    pub headers: Vec<(String, String)>,
}

/// Signs `POST /?<params>` for `action` against `host` (the `Host` header value).
pub fn sign_acs3(
    host: &str,
    action: &str,
    version: &str,
    params: &[(String, String)],
    access_key_id: &str,
    secret: &str,
    now_rfc3339: &str,
) -> Signed {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let body_sha = sign::sha256_hex(b"");
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host.into()),
        ("x-acs-action".into(), action.into()),
        ("x-acs-version".into(), version.into()),
        ("x-acs-date".into(), now_rfc3339.into()),
        ("x-acs-signature-nonce".into(), nonce),
        ("x-acs-content-sha256".into(), body_sha.clone()),
        ("accept".into(), "application/json".into()),
    ];
    headers.sort();
    let names: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
    let query: Vec<(&str, &str)> = sign::pairs(params).collect();
    let req = SignedRequest {
        method: "POST",
        params: &query,
        headers: &headers,
        body_sha256: &body_sha,
    };
    // Every name in `names` is in `headers`, so this cannot fail.
    let sts = acs3::string_to_sign(&req, &names).unwrap_or_default();
    let signature = acs3::sign(secret, &sts);
    headers.push((
        "authorization".into(),
        format!(
            "{} Credential={access_key_id},SignedHeaders={},Signature={signature}",
            acs3::ALGORITHM,
            names.join(";")
        ),
    ));
    Signed {
        query: percent::encode_query(params),
        headers,
    }
}
