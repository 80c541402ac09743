//! Signs each `bench kms` request afresh (a new random nonce, the current timestamp) from parts
//! computed once: the HMAC key, the fixed query, and the string-to-sign (or canonical request)
//! cut around the two values that change, with the hash or HMAC state over its fixed head
//! already computed, so a request costs one short hash, one HMAC and the string building.
//!
//! - RPC v1 (HMAC-SHA1): every parameter in the query of `POST /`, with `Format`, `RegionId`,
//!   `SignatureMethod`, `SignatureType`, `SignatureVersion` as the official SDKs send them.
//! - ACS3-HMAC-SHA256: action parameters in the query, `accept`, `host` and every `x-acs-*`
//!   header signed (as `keywarden_client::signer`).
//!
//! The cut strings come from `keywarden_core::sign` itself (computed with marker values), so they
//! cannot drift from what the server verifies; the tests compare whole signatures with it.

use std::sync::Arc;

use anyhow::Context as _;
use aws_lc_rs::{digest, hmac};
use base64::Engine as _;
use hyper::Request;
use hyper::header::{HeaderName, HeaderValue};
use hyper::http::{Method, Uri};
use keywarden_client::client::KMS_VERSION;
use keywarden_core::sign::{self, SignedRequest, acs3, percent, rpc_v1};

use crate::bench::target::ReqBody;
use crate::cli::BenchSignature;

/// Stands for the nonce while the templates are built (unchanged by percent-encoding).
const NONCE_MARK: &str = "KWBENCHxNONCExMARK";
/// Stands for the timestamp while the templates are built.
const TIME_MARK: &str = "KWBENCHxTIMExMARK";

/// What every request of a run shares.
pub struct Template {
    host: HeaderValue,
    scheme: Scheme,
}

enum Scheme {
    V1(V1),
    Acs3(Acs3),
}

/// RPC v1: `Signature = base64(HMAC-SHA1(secret&, head nonce mid time tail))`.
struct V1 {
    sts: Cut<hmac::Context>,
    /// The query without `SignatureNonce`, `Timestamp` and `Signature`.
    query: String,
}

/// ACS3: the canonical request's hash, then its HMAC-SHA256.
struct Acs3 {
    canonical: Cut<digest::Context>,
    /// HMAC state over `ACS3-HMAC-SHA256\n`.
    sts_head: hmac::Context,
    /// `?` and the query.
    query: String,
    /// `ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=`.
    auth_prefix: String,
    /// The signed headers that do not change (all but date and nonce; `host` is sent apart).
    fixed: Vec<(HeaderName, HeaderValue)>,
}

/// A string cut around the nonce and the timestamp: `head` (already fed to the state) `first`
/// `mid` `second` `tail`, where `first` is the nonce when `nonce_first`.
struct Cut<S> {
    head: S,
    mid: String,
    tail: String,
    nonce_first: bool,
}

/// Cuts `text` at the two markers; `start` makes the state and is fed the head.
fn cut<S>(text: &str, start: impl FnOnce(&str) -> S) -> anyhow::Result<Cut<S>> {
    let n = text.find(NONCE_MARK).context("nonce marker missing")?;
    let t = text.find(TIME_MARK).context("time marker missing")?;
    let (first, first_len, second, second_len) = if n < t {
        (n, NONCE_MARK.len(), t, TIME_MARK.len())
    } else {
        (t, TIME_MARK.len(), n, NONCE_MARK.len())
    };
    let piece = |a: usize, b: usize| text.get(a..b).map(str::to_owned).context("bad cut");
    Ok(Cut {
        head: start(text.get(..first).context("bad cut")?),
        mid: piece(first + first_len, second)?,
        tail: piece(second + second_len, text.len())?,
        nonce_first: n < t,
    })
}

impl<S> Cut<S> {
    /// Feeds the variable parts and the rest to `update`, in order.
    fn feed(&self, nonce: &str, time: &str, mut update: impl FnMut(&[u8])) {
        let (a, b) = if self.nonce_first {
            (nonce, time)
        } else {
            (time, nonce)
        };
        update(a.as_bytes());
        update(self.mid.as_bytes());
        update(b.as_bytes());
        update(self.tail.as_bytes());
    }
}

/// Who signs and what is sent, for [`Template::new`].
pub struct Call<'a> {
    /// Signature scheme.
    pub scheme: BenchSignature,
    /// `Host` header value.
    pub host: &'a str,
    /// The action.
    pub action: &'a str,
    /// Its parameters.
    pub params: &'a [(String, String)],
    /// Access key id.
    pub access_key_id: &'a str,
    /// Access key secret.
    pub secret: &'a str,
    /// Region id (RPC v1 `RegionId`).
    pub region: &'a str,
}

impl Template {
    /// Computes the fixed parts of `call`.
    pub fn new(call: &Call<'_>) -> anyhow::Result<Self> {
        let scheme = match call.scheme {
            BenchSignature::V1 => Scheme::V1(v1(call)?),
            BenchSignature::Acs3 => Scheme::Acs3(acs3_template(call)?),
        };
        Ok(Self {
            host: HeaderValue::from_str(call.host).context("endpoint host")?,
            scheme,
        })
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn v1(call: &Call<'_>) -> anyhow::Result<V1> {
    let mut params = pairs(&[
        ("Action", call.action),
        ("Version", KMS_VERSION),
        ("Format", "JSON"),
        ("RegionId", call.region),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureType", ""),
        ("SignatureVersion", "1.0"),
        ("AccessKeyId", call.access_key_id),
    ]);
    params.extend_from_slice(call.params);
    let query = percent::encode_query(&params);
    params.extend(pairs(&[
        ("SignatureNonce", NONCE_MARK),
        ("Timestamp", TIME_MARK),
    ]));
    let sts = rpc_v1::string_to_sign("POST", sign::pairs(&params));
    let key = rpc_v1::signing_key(call.secret);
    let sts = cut(&sts, |head| {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(head.as_bytes());
        ctx
    })?;
    Ok(V1 { sts, query })
}

fn acs3_template(call: &Call<'_>) -> anyhow::Result<Acs3> {
    let body_sha = sign::sha256_hex(b"");
    let mut headers = pairs(&[
        ("accept", "application/json"),
        ("host", call.host),
        ("x-acs-action", call.action),
        ("x-acs-version", KMS_VERSION),
        ("x-acs-date", TIME_MARK),
        ("x-acs-signature-nonce", NONCE_MARK),
        ("x-acs-content-sha256", &body_sha),
    ]);
    headers.sort();
    let names: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
    let query: Vec<(&str, &str)> = sign::pairs(call.params).collect();
    let req = SignedRequest {
        method: "POST",
        params: &query,
        headers: &headers,
        body_sha256: &body_sha,
    };
    let canonical = sign::canonical_request(&req, &names)?;
    let canonical = cut(&canonical, |head| {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(head.as_bytes());
        ctx
    })?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, call.secret.as_bytes());
    let mut sts_head = hmac::Context::with_key(&key);
    sts_head.update(format!("{}\n", acs3::ALGORITHM).as_bytes());
    let fixed = headers
        .iter()
        .filter(|(n, v)| n != "host" && v != TIME_MARK && v != NONCE_MARK)
        .map(|(n, v)| {
            Ok((
                HeaderName::from_bytes(n.as_bytes())?,
                HeaderValue::from_str(v)?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Acs3 {
        canonical,
        sts_head,
        query: percent::encode_query(call.params),
        auth_prefix: format!(
            "{} Credential={},SignedHeaders={},Signature=",
            acs3::ALGORITHM,
            call.access_key_id,
            names.join(";")
        ),
        fixed,
    })
}

/// The current second, formatted once per second.
#[derive(Default)]
struct Clock {
    secs: i64,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    raw: String,
    /// Percent-encoded once (the query).
    enc: String,
    /// Percent-encoded twice (inside the RPC v1 string-to-sign).
    enc2: String,
}

impl Clock {
    fn tick(&mut self) {
        let now = keywarden_core::dates::now_unix();
        if now != self.secs || self.raw.is_empty() {
            self.secs = now;
            self.raw = keywarden_core::dates::format_unix(now);
            self.enc = percent::enc(&self.raw);
            self.enc2 = percent::enc(&self.enc);
        }
    }
}

/// Signs requests for one connection.
pub struct Signer {
    template: Arc<Template>,
    clock: Clock,
}

/// A fresh random nonce: 16 bytes from aws-lc's generator, as 32 hex digits.
fn nonce() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| anyhow::anyhow!("random generator failed"))?;
    Ok(hex::encode(bytes))
}

impl Signer {
    /// A signer over `template`.
    pub fn new(template: Arc<Template>) -> Self {
        Self {
            template,
            clock: Clock::default(),
        }
    }

    /// The next request, signed now with a new nonce.
    pub fn request(&mut self) -> anyhow::Result<Request<ReqBody>> {
        self.clock.tick();
        let nonce = nonce()?;
        let mut req = Request::new(ReqBody::new());
        *req.method_mut() = Method::POST;
        let headers = req.headers_mut();
        headers.insert(hyper::header::HOST, self.template.host.clone());
        match &self.template.scheme {
            Scheme::V1(v1) => {
                headers.insert(
                    hyper::header::ACCEPT,
                    HeaderValue::from_static("application/json"),
                );
                *req.uri_mut() = v1_uri(v1, &self.clock, &nonce)?;
            }
            Scheme::Acs3(a) => {
                acs3_headers(a, &self.clock, &nonce, headers)?;
                *req.uri_mut() = Uri::try_from(format!("/?{}", a.query))?;
            }
        }
        Ok(req)
    }
}

fn v1_uri(v1: &V1, clock: &Clock, nonce: &str) -> anyhow::Result<Uri> {
    let mut ctx = v1.sts.head.clone();
    v1.sts.feed(nonce, &clock.enc2, |b| ctx.update(b));
    let signature = base64::engine::general_purpose::STANDARD.encode(ctx.sign());
    let uri = format!(
        "/?{}&SignatureNonce={nonce}&Timestamp={}&Signature={}",
        v1.query,
        clock.enc,
        percent::enc(&signature)
    );
    Ok(Uri::try_from(uri)?)
}

fn acs3_headers(
    a: &Acs3,
    clock: &Clock,
    nonce: &str,
    headers: &mut hyper::HeaderMap,
) -> anyhow::Result<()> {
    let mut hash = a.canonical.head.clone();
    a.canonical.feed(nonce, &clock.raw, |b| hash.update(b));
    let mut mac = a.sts_head.clone();
    mac.update(hex::encode(hash.finish()).as_bytes());
    let authorization = format!("{}{}", a.auth_prefix, hex::encode(mac.sign()));
    for (name, value) in &a.fixed {
        headers.insert(name.clone(), value.clone());
    }
    headers.insert("x-acs-date", HeaderValue::from_str(&clock.raw)?);
    headers.insert("x-acs-signature-nonce", HeaderValue::from_str(nonce)?);
    headers.insert(
        hyper::header::AUTHORIZATION,
        HeaderValue::from_str(&authorization)?,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keywarden_core::sign::Authorization;

    const SECRET: &str = "TestAccessKeySecret123";

    fn call<'a>(scheme: BenchSignature, params: &'a [(String, String)]) -> Call<'a> {
        Call {
            scheme,
            host: "127.0.0.1:8443",
            action: "Encrypt",
            params,
            access_key_id: "LTAI5tTestAccessKeyId",
            secret: SECRET,
            region: "cn-hangzhou",
        }
    }

    fn params() -> Vec<(String, String)> {
        pairs(&[("KeyId", "alias/x y"), ("Plaintext", "a+b/c=ü ~*")])
    }

    #[test]
    fn v1_matches_the_reference_signature() {
        let params = params();
        let mut signer = Signer::new(Arc::new(
            Template::new(&call(BenchSignature::V1, &params)).unwrap(),
        ));
        let req = signer.request().unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.headers()["host"], "127.0.0.1:8443");
        let query = req.uri().query().unwrap();
        let got = percent::decode_form(query).unwrap();
        let get = |k: &str| got.iter().find(|(n, _)| n == k).unwrap().1.clone();
        let sts = rpc_v1::string_to_sign("POST", sign::pairs(&got));
        assert_eq!(get("Signature"), rpc_v1::sign(SECRET, &sts));
        assert_eq!(get("Plaintext"), "a+b/c=ü ~*");
        assert_eq!(get("SignatureNonce").len(), 32);
        assert!(keywarden_core::dates::parse_api(&get("Timestamp")).is_some());
        let again = signer.request().unwrap();
        assert_ne!(again.uri(), req.uri(), "a fresh nonce each time");
    }

    #[test]
    fn acs3_matches_the_reference_signature() {
        let params = params();
        let mut signer = Signer::new(Arc::new(
            Template::new(&call(BenchSignature::Acs3, &params)).unwrap(),
        ));
        let req = signer.request().unwrap();
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        let auth = Authorization::parse(req.headers()["authorization"].to_str().unwrap()).unwrap();
        assert_eq!(auth.credential, "LTAI5tTestAccessKeyId");
        for needed in [
            "host",
            "x-acs-action",
            "x-acs-date",
            "x-acs-signature-nonce",
        ] {
            assert!(auth.signed_headers.iter().any(|h| h == needed), "{needed}");
        }
        let query = percent::decode_form(req.uri().query().unwrap()).unwrap();
        assert_eq!(query, params);
        let body_sha = sign::sha256_hex(b"");
        let query: Vec<(&str, &str)> = sign::pairs(&query).collect();
        let signed = SignedRequest {
            method: "POST",
            params: &query,
            headers: &headers,
            body_sha256: &body_sha,
        };
        let sts = acs3::string_to_sign(&signed, &auth.signed_headers).unwrap();
        assert_eq!(auth.signature, acs3::sign(SECRET, &sts));
    }
}
