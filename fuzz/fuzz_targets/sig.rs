//! The three signature schemes on raw requests ([`crate::wire`]):
//!
//! - the parsers: `Authorization` (ACS3 and ACS4), the ACS4 credential scope, and the claim
//!   (`auth::claim`, which also reads RPC v1's parameters);
//! - the verifier (`auth::check_signature`, the server's) under a fixed secret: never panics;
//! - RPC v1's one-buffer string-to-sign equals its definition (sorted, twice-encoded pairs);
//! - a request re-signed correctly (RPC v1: a new `Signature` in a re-encoded query; ACS3 /
//!   ACS4: a new `Authorization` over the same signed headers) must claim and verify: the
//!   signer's encoding and the server's decoding agree.

use keywarden_core::sign::percent::{enc, encode_query};
use keywarden_core::sign::{Authorization, SignedRequest, acs3, acs4, rpc_v1};
use keywarden_server::auth;
use keywarden_server::request::ApiRequest;

use crate::wire::{DEBUG, Wire};

/// The secret every request is verified under (the test vectors' secret, so that captured
/// requests in the corpus verify as they are).
const SECRET: &str = "TestAccessKeySecret123";

pub fn run(data: &[u8]) {
    let Some((wire, req)) = Wire::request(data) else {
        return;
    };
    if let Some(header) = req.header("authorization") {
        authorization(header);
    }
    assert_eq!(
        rpc_v1::string_to_sign(&req.method, req.params.iter()),
        rpc_v1_definition(&req.method, req.params.iter())
    );
    let Ok(claim) = auth::claim(&req) else {
        return;
    };
    let key = rpc_v1::signing_key(SECRET);
    let verdict = auth::check_signature(&req, &claim, SECRET, &key);
    if *DEBUG {
        eprintln!("sig: {} {}: {verdict:?}", claim.action, claim.access_key_id);
    }
    if let Some(resigned) = resign(&wire, &req) {
        let resigned = resigned.expect("a re-signed request must parse");
        let claim = auth::claim(&resigned).expect("a re-signed request must claim");
        if let Err(e) = auth::check_signature(&resigned, &claim, SECRET, &key) {
            panic!("a correctly signed request was refused: {e:?}");
        }
    }
}

/// `Authorization::parse` and, for ACS4, `Scope::parse`: what parses is well formed.
fn authorization(header: &str) {
    let Some(auth) = Authorization::parse(header) else {
        return;
    };
    for name in &auth.signed_headers {
        assert!(!name.is_empty());
        assert_eq!(*name, name.to_ascii_lowercase());
    }
    if let Some(scope) = acs4::Scope::parse(&auth.credential) {
        let text = format!(
            "{}/{}/{}/{}/aliyun_v4_request",
            scope.access_key_id, scope.date, scope.region, scope.product
        );
        assert_eq!(text, auth.credential);
    }
}

/// RPC v1's string-to-sign as its documentation defines it.
fn rpc_v1_definition<'p>(method: &str, params: impl Iterator<Item = (&'p str, &'p str)>) -> String {
    let mut pairs: Vec<(String, String)> = params
        .filter(|(k, _)| *k != "Signature")
        .map(|(k, v)| (enc(k), enc(v)))
        .collect();
    pairs.sort();
    let canonical: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{method}&{}&{}", enc("/"), enc(&canonical.join("&")))
}

/// `req` with a correct signature under [`SECRET`], when its scheme allows one without
/// changing what is signed; `None` otherwise.
fn resign(wire: &Wire<'_>, req: &ApiRequest) -> Option<Result<ApiRequest, String>> {
    let (query, headers) = match req.header("authorization") {
        None => (resign_rpc_v1(req)?, wire.headers.clone()),
        Some(header) => (wire.query.clone(), resign_header(req, header)?),
    };
    Some(
        ApiRequest::parse(&req.method, query.as_deref(), headers, wire.body, None)
            .map_err(|e| format!("{e:?}")),
    )
}

/// RPC v1: the query parameters re-encoded as the signer encodes them, with a new `Signature`
/// over every parameter (query and form body). `None` when `Signature` came in the body.
fn resign_rpc_v1(req: &ApiRequest) -> Option<Option<String>> {
    req.query_params().find(|(k, _)| *k == "Signature")?;
    let sts = rpc_v1::string_to_sign(&req.method, req.params.iter());
    let mut params: Vec<(String, String)> = req
        .query_params()
        .filter(|(k, _)| *k != "Signature")
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    params.push(("Signature".into(), rpc_v1::sign(SECRET, &sts)));
    Some(Some(encode_query(&params)))
}

/// ACS3 / ACS4: the headers with `Authorization` rebuilt over the same credential and signed
/// headers, with the right signature. `None` when `Authorization` signs itself or does not
/// parse.
fn resign_header(req: &ApiRequest, header: &str) -> Option<Vec<(String, String)>> {
    let auth = Authorization::parse(header)?;
    if auth.signed_headers.iter().any(|h| h == "authorization") {
        return None;
    }
    let query: Vec<(&str, &str)> = req.query_params().collect();
    let signed = SignedRequest {
        method: &req.method,
        params: &query,
        headers: &req.headers,
        body_sha256: &req.body_sha256,
    };
    let (algorithm, signature) = if header.starts_with(acs3::ALGORITHM) {
        let sts = acs3::string_to_sign(&signed, &auth.signed_headers).ok()?;
        (acs3::ALGORITHM, acs3::sign(SECRET, &sts))
    } else {
        let scope = acs4::Scope::parse(&auth.credential)?;
        let sts = acs4::string_to_sign(&signed, &auth.signed_headers).ok()?;
        (acs4::ALGORITHM, acs4::sign(SECRET, &scope, &sts))
    };
    let value = format!(
        "{algorithm} Credential={},SignedHeaders={},Signature={signature}",
        auth.credential,
        auth.signed_headers.join(";")
    );
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(n, _)| n != "authorization")
        .cloned()
        .collect();
    headers.push(("authorization".into(), value));
    Some(headers)
}
