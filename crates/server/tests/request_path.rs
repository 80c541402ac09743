//! Regressions of the request path, one test per defect: only signed input chooses the action
//! (RPC v1 routes on its signed parameters, ACS3 must sign the routing and freshness headers),
//! bounded nonces, a nonce remembered until its timestamp's window ends, an alias resolved once
//! per call, and the flattened `EncryptionContext` forms of the Node 1.x and Go SDKs.
//!
//! Each test says what the old code did that it refuses now.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod authz_support;
mod common;
mod serve_support;

use std::sync::Arc;
use std::time::Duration;

use authz_support::{World, allow};
use common::{Node, START, text};
use keywarden_core::dates::{format_unix, now_unix};
use keywarden_core::sign::percent::encode_query;
use keywarden_core::sign::{SignedRequest, acs3, sha256_hex};
use keywarden_server::auth::{MAX_NONCE_BYTES, TIMESTAMP_WINDOW_SECS, nonce_digest};
use keywarden_server::kms::KmsOptions;
use keywarden_server::ops::KMS_VERSION;
use keywarden_server::ram::RAM_VERSION;
use keywarden_store::KeyStore;
use keywarden_store::sqlite::SqliteStore;
use serde_json::Value;
use serve_support::{Answer, Served, exchange, rpc_v1_params, rpc_v1_post, rpc_v1_request};

/// A real server on a temp data dir (the server stops before the dir goes).
struct Fixture {
    server: Served,
    admin: (String, String),
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn start() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let server = Served::start(dir.path(), |_| {}, |_| {});
        let admin = server.credentials();
        Fixture {
            server,
            admin,
            _dir: dir,
        }
    }

    fn host(&self) -> String {
        self.server.addr.to_string()
    }

    fn admin(&self) -> (&str, &str) {
        (&self.admin.0, &self.admin.1)
    }

    /// Sends raw bytes.
    fn send(&self, request: &[u8]) -> Answer {
        exchange(self.server.addr, request)
    }

    /// An RPC v1 call signed by `creds` now with a fresh nonce, with unsigned `extra` headers.
    fn rpc(
        &self,
        creds: (&str, &str),
        version: &str,
        action: &str,
        params: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Answer {
        self.send(&rpc_v1_request(
            &self.host(),
            version,
            action,
            params,
            creds,
            extra,
        ))
    }

    /// An RPC v1 KMS call with this nonce, signed by `creds` now.
    fn rpc_nonce(
        &self,
        creds: (&str, &str),
        action: &str,
        params: &[(&str, &str)],
        nonce: &str,
    ) -> Answer {
        let now = format_unix(now_unix());
        let p = rpc_v1_params(action, KMS_VERSION, params, creds.0, creds.1, nonce, &now);
        self.send(&rpc_v1_post(&self.host(), &p, &[]))
    }

    /// An RPC v1 KMS call as the admin.
    fn kms(&self, action: &str, params: &[(&str, &str)]) -> Answer {
        self.rpc(self.admin(), KMS_VERSION, action, params, &[])
    }

    /// An RPC v1 KMS call as the admin, which must succeed.
    fn kms_ok(&self, action: &str, params: &[(&str, &str)]) -> Value {
        ok(self.kms(action, params), action)
    }

    /// An RPC v1 RAM call as the admin, which must succeed.
    fn ram_ok(&self, action: &str, params: &[(&str, &str)]) -> Value {
        let a = self.rpc(self.admin(), RAM_VERSION, action, params, &[]);
        ok(a, action)
    }

    fn create_key(&self) -> String {
        text(&self.kms_ok("CreateKey", &[])["KeyMetadata"]["KeyId"])
    }

    fn key_state(&self, key: &str) -> String {
        text(&self.kms_ok("DescribeKey", &[("KeyId", key)])["KeyMetadata"]["KeyState"])
    }

    /// The admin's access key ids.
    fn admin_access_keys(&self) -> Vec<String> {
        let body = self.ram_ok("ListAccessKeys", &[]);
        body["AccessKeys"]["AccessKey"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| text(&k["AccessKeyId"]))
            .collect()
    }
}

fn ok(a: Answer, what: &str) -> Value {
    assert_eq!(a.status, 200, "{what}: {}", a.body);
    a.json()
}

/// A 400 with wire code `code`.
#[track_caller]
fn assert_refused(a: &Answer, code: &str) {
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(a.json()["Code"], code, "{}", a.body);
}

/// An ACS3 KMS request built by hand: the new SDK's headers, all signed but `omit`; header
/// values replaced by `replace` (before signing, which only matters for signed ones).
fn acs3_request(
    host: &str,
    (ak, secret): (&str, &str),
    action: &str,
    params: &[(&str, &str)],
    nonce: &str,
    omit: Option<&str>,
    replace: &[(&str, &str)],
) -> Vec<u8> {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let body_sha = sha256_hex(b"");
    let mut headers: Vec<(String, String)> = [
        ("host", host),
        ("x-acs-action", action),
        ("x-acs-version", KMS_VERSION),
        ("x-acs-date", &format_unix(now_unix())),
        ("x-acs-signature-nonce", nonce),
        ("x-acs-content-sha256", &body_sha),
        ("accept", "application/json"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect();
    for (name, value) in replace {
        let h = headers.iter_mut().find(|(n, _)| n == name).unwrap();
        h.1 = (*value).to_owned();
    }
    headers.sort();
    let names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| Some(n.as_str()) != omit)
        .collect();
    let query: Vec<(&str, &str)> = keywarden_core::sign::pairs(&params).collect();
    let req = SignedRequest {
        method: "POST",
        params: &query,
        headers: &headers,
        body_sha256: &body_sha,
    };
    let signature = acs3::sign(secret, &acs3::string_to_sign(&req, &names).unwrap());
    let mut out = format!("POST /?{} HTTP/1.1\r\n", encode_query(&params));
    for (n, v) in &headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!(
        "authorization: {} Credential={ak},SignedHeaders={},Signature={signature}\r\n",
        acs3::ALGORITHM,
        names.join(";")
    ));
    out.push_str("content-length: 0\r\nconnection: close\r\n\r\n");
    out.into_bytes()
}

fn fresh_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

// ---- 1. Only signed input chooses the action ----

/// Old code: the action and version came from `x-acs-action` / `x-acs-version` when present,
/// which RPC v1 does not sign, so a captured DescribeKey request ran DisableKey (or, with the
/// RAM version, CreateAccessKey for the signer) under the same valid signature.
#[test]
fn rpc_v1_routes_on_the_signed_action_only() {
    let f = Fixture::start();
    let key = f.create_key();
    let describe = [("KeyId", key.as_str())];

    let a = f.rpc(
        f.admin(),
        KMS_VERSION,
        "DescribeKey",
        &describe,
        &[("x-acs-action", "DisableKey")],
    );
    assert_refused(&a, "IncompleteSignature");
    assert_eq!(f.key_state(&key), "Enabled");

    let before = f.admin_access_keys();
    let a = f.rpc(
        f.admin(),
        KMS_VERSION,
        "DescribeKey",
        &describe,
        &[
            ("x-acs-action", "CreateAccessKey"),
            ("x-acs-version", RAM_VERSION),
        ],
    );
    assert_refused(&a, "IncompleteSignature");
    let a = f.rpc(
        f.admin(),
        KMS_VERSION,
        "DescribeKey",
        &describe,
        &[("x-acs-version", RAM_VERSION)],
    );
    assert_refused(&a, "IncompleteSignature");
    assert_eq!(f.admin_access_keys(), before, "no access key was created");

    // The same request without the header, or with headers agreeing with the signature, runs.
    for extra in [
        &[][..],
        &[
            ("x-acs-action", "DescribeKey"),
            ("x-acs-version", KMS_VERSION),
        ][..],
    ] {
        let a = f.rpc(f.admin(), KMS_VERSION, "DescribeKey", &describe, extra);
        let body = ok(a, "DescribeKey");
        assert_eq!(body["KeyMetadata"]["KeyId"], key.as_str());
    }
    assert_eq!(f.key_state(&key), "Enabled");
}

/// Old code: ACS3 verified whatever `SignedHeaders` named, so a request that left
/// `x-acs-action` (or the version, the body hash, the host) out of the signature could be
/// retargeted by editing that header; an empty nonce was accepted (and never "used").
#[test]
fn acs3_must_sign_routing_and_freshness_headers() {
    let f = Fixture::start();
    let host = f.host();
    let key = f.create_key();
    let describe = [("KeyId", key.as_str())];

    // The builder is right: everything signed is accepted.
    let all = acs3_request(
        &host,
        f.admin(),
        "DescribeKey",
        &describe,
        &fresh_nonce(),
        None,
        &[],
    );
    ok(f.send(&all), "ACS3 DescribeKey");

    // The unsigned action header says DisableKey: refused, and the key is untouched.
    let retargeted = acs3_request(
        &host,
        f.admin(),
        "DescribeKey",
        &describe,
        &fresh_nonce(),
        Some("x-acs-action"),
        &[("x-acs-action", "DisableKey")],
    );
    assert_refused(&f.send(&retargeted), "IncompleteSignature");
    assert_eq!(f.key_state(&key), "Enabled");

    for omit in [
        "x-acs-action",
        "x-acs-version",
        "x-acs-content-sha256",
        "host",
        "x-acs-date",
        "x-acs-signature-nonce",
    ] {
        let req = acs3_request(
            &host,
            f.admin(),
            "DescribeKey",
            &describe,
            &fresh_nonce(),
            Some(omit),
            &[],
        );
        let a = f.send(&req);
        assert_eq!(a.status, 400, "{omit} unsigned: {}", a.body);
        assert_eq!(
            a.json()["Code"],
            "IncompleteSignature",
            "{omit}: {}",
            a.body
        );
    }

    // An empty nonce, signed: refused (ACS3 header and RPC v1 parameter alike).
    let empty = acs3_request(&host, f.admin(), "DescribeKey", &describe, "", None, &[]);
    assert_refused(&f.send(&empty), "IncompleteSignature");
    let a = f.rpc_nonce(f.admin(), "DescribeKey", &describe, "");
    assert_refused(&a, "IncompleteSignature");
}

// ---- 2. Nonces bounded ----

/// Old code: a nonce of any length was accepted and remembered whole for the window (a 30 KB
/// nonce per request kept 30 KB in memory for 15 minutes); it was checked after authorization,
/// so a user without permissions got 403 for it. Now more than 128 bytes is 400 before the
/// signature, the access key's permissions or the nonce window are looked at.
#[test]
fn nonces_are_bounded_before_authorization() {
    let f = Fixture::start();
    let host = f.host();
    let key = f.create_key();
    let describe = [("KeyId", key.as_str())];
    let n = |c: &str, len: usize| c.repeat(len);

    // The admin: 128 bytes pass, 129 do not (RPC v1 parameter and ACS3 header).
    ok(
        f.rpc_nonce(
            f.admin(),
            "DescribeKey",
            &describe,
            &n("a", MAX_NONCE_BYTES),
        ),
        "128-byte nonce",
    );
    let a = f.rpc_nonce(
        f.admin(),
        "DescribeKey",
        &describe,
        &n("b", MAX_NONCE_BYTES + 1),
    );
    assert_refused(&a, "IncompleteSignature");
    let req =
        |creds, nonce: &str| acs3_request(&host, creds, "DescribeKey", &describe, nonce, None, &[]);
    ok(
        f.send(&req(f.admin(), &n("c", MAX_NONCE_BYTES))),
        "ACS3 128-byte nonce",
    );
    assert_refused(
        &f.send(&req(f.admin(), &n("d", MAX_NONCE_BYTES + 1))),
        "IncompleteSignature",
    );

    // A user without any permission, created through RAM.
    f.ram_ok("CreateUser", &[("UserName", "bob")]);
    let created = f.ram_ok("CreateAccessKey", &[("UserName", "bob")]);
    let bob_ak = text(&created["AccessKey"]["AccessKeyId"]);
    let bob_secret = text(&created["AccessKey"]["AccessKeySecret"]);
    let bob = (bob_ak.as_str(), bob_secret.as_str());

    // Within the bound the key authenticates and is denied: the key works.
    let a = f.rpc_nonce(bob, "DescribeKey", &describe, &n("e", MAX_NONCE_BYTES));
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(a.json()["Code"], "Forbidden.NoPermission");
    // Beyond it: 400, not 403.
    let a = f.rpc_nonce(bob, "DescribeKey", &describe, &n("f", MAX_NONCE_BYTES + 1));
    assert_refused(&a, "IncompleteSignature");
    let a = f.rpc_nonce(bob, "DescribeKey", &describe, &n("g", 30 * 1024));
    assert_refused(&a, "IncompleteSignature");
    assert_refused(
        &f.send(&req(bob, &n("h", 30 * 1024))),
        "IncompleteSignature",
    );
    // The server still answers.
    ok(f.kms("DescribeKey", &describe), "after the long nonces");
}

// ---- 3. Replay at the window's edge ----

/// Old code: a nonce was remembered until `now + 900`. A request stamped `T0 + 900` (a client
/// clock 15 minutes ahead) accepted at `T0` was forgotten at `T0 + 900`, yet its timestamp
/// passes the skew check until `T0 + 1800`: it could be replayed for another 15 minutes. Now
/// it is remembered until its timestamp + 900 inclusive, across a store reopen too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_is_remembered_until_its_timestamps_window_ends() {
    const W: i64 = TIMESTAMP_WINDOW_SECS;
    // Near the real time: a store loads the window's files as of the real clock.
    let t0 = now_unix();
    // One request a second for 64 s, so the expiries fall on every offset of the store's
    // internal time slots: (digest, expires_at, accepted_at).
    let requests: Vec<([u8; 16], i64, i64)> = (0..64)
        .map(|k| {
            let digest = nonce_digest("AKREPLAY", &format!("nonce-{k}"));
            let accepted_at = t0 + k;
            let stamped = accepted_at + W;
            (digest, stamped + W, accepted_at)
        })
        .collect();
    // Time only moves forward, as in a server: accepted, replayed half-way, replayed at the
    // last second its timestamp passes the skew check (each in turn).
    for reopen in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("keywarden.db");
        let mut store = SqliteStore::open(&db).await.unwrap();
        for (digest, expires_at, accepted_at) in &requests {
            assert!(
                store
                    .remember_nonce(digest, *expires_at, *accepted_at)
                    .await
                    .unwrap()
            );
        }
        for (digest, expires_at, _) in &requests {
            let half_way = expires_at - W;
            let fresh = store
                .remember_nonce(digest, *expires_at, half_way)
                .await
                .unwrap();
            assert!(!fresh, "replay half-way (reopen: {reopen})");
        }
        if reopen {
            drop(store);
            store = SqliteStore::open(&db).await.unwrap();
        }
        for (digest, expires_at, _) in &requests {
            let fresh = store
                .remember_nonce(digest, *expires_at, *expires_at)
                .await
                .unwrap();
            assert!(
                !fresh,
                "replay at the window's last second (reopen: {reopen})"
            );
        }
    }
}

/// Old code: see above; here the plain replay through the server, before and after a restart
/// (RPC v1 and ACS3 requests sent twice byte for byte).
#[test]
fn an_identical_request_is_refused_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path(), |_| {}, |_| {});
    let (ak, secret) = server.credentials();
    let host = server.addr.to_string();
    let key = text(
        &exchange(server.addr, &server.signed("CreateKey", &[])).json()["KeyMetadata"]["KeyId"],
    );
    let describe = [("KeyId", key.as_str())];
    let now = format_unix(now_unix());
    let p = rpc_v1_params(
        "DescribeKey",
        KMS_VERSION,
        &describe,
        &ak,
        &secret,
        "replayed-nonce-1",
        &now,
    );
    let rpc = rpc_v1_post(&host, &p, &[]);
    let acs = server.signed("DescribeKey", &describe);
    for req in [&rpc, &acs] {
        assert_eq!(exchange(server.addr, req).status, 200);
        assert_refused(&exchange(server.addr, req), "SignatureNonceUsed");
    }
    server.stop().unwrap();
    let server = Served::start(dir.path(), |_| {}, |_| {});
    for req in [&rpc, &acs] {
        assert_refused(&exchange(server.addr, req), "SignatureNonceUsed");
    }
    server.stop().unwrap();
}

// ---- 4. An alias is resolved once per call ----

fn key_arn(id: &str) -> String {
    format!("acs:kms:*:*:key/{id}")
}

/// Old code: the alias was resolved for authorization and again for the operation, so with
/// alias/x moved from A to B in between, alice (allowed on A only) encrypted under B or
/// disabled B. Now the key authorized is the key acted on; both with no alias cache
/// (`Duration::ZERO`: every resolve reads the store, the widest race) and the default one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_alias_moved_during_a_call_never_lets_it_act_on_another_key() {
    for ttl in [Duration::ZERO, KmsOptions::default().cache_ttl] {
        alias_race(ttl).await;
    }
}

async fn alias_race(ttl: Duration) {
    const ITERATIONS: usize = 30;
    const FLIPS: usize = 20;
    const ENCRYPTERS: usize = 3;
    const ENCRYPTS: usize = 8;
    const DISABLES: usize = 4;
    let dir = tempfile::tempdir().unwrap();
    let w = Arc::new(World {
        node: Node::open_with_ttl(dir.path(), START, ttl).await,
    });
    let (a, b) = (w.key().await, w.key().await);
    w.kms_ok("CreateAlias", &[("AliasName", "alias/x"), ("KeyId", &a)])
        .await;
    let doc = allow(&["kms:Encrypt", "kms:DisableKey"], &[&key_arn(&a)]);
    w.user("alice", Some(&doc)).await;

    let mut blobs = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..ITERATIONS {
        let state = w.kms_ok("DescribeKey", &[("KeyId", &a)]).await;
        if state["KeyMetadata"]["KeyState"] != "Enabled" {
            w.kms_ok("EnableKey", &[("KeyId", &a)]).await;
        }
        // alias/x: B, A, B, ..., A (an even number of flips ends at A).
        let flipper = {
            let (w, a, b) = (Arc::clone(&w), a.clone(), b.clone());
            tokio::spawn(async move {
                for i in 0..FLIPS {
                    let to = if i % 2 == 0 { &b } else { &a };
                    w.kms_ok("UpdateAlias", &[("AliasName", "alias/x"), ("KeyId", to)])
                        .await;
                }
            })
        };
        let encrypters: Vec<_> = (0..ENCRYPTERS)
            .map(|_| {
                let w = Arc::clone(&w);
                tokio::spawn(async move {
                    let mut results = Vec::new();
                    for _ in 0..ENCRYPTS {
                        let params = [("KeyId", "alias/x"), ("Plaintext", "p")];
                        results.push(w.kms("alice", "Encrypt", &params).await);
                    }
                    results
                })
            })
            .collect();
        let disabler = {
            let w = Arc::clone(&w);
            tokio::spawn(async move {
                let mut results = Vec::new();
                for _ in 0..DISABLES {
                    let r = w.kms("alice", "DisableKey", &[("KeyId", "alias/x")]).await;
                    let done = r.is_ok();
                    results.push(r);
                    if done {
                        break;
                    }
                }
                results
            })
        };
        flipper.await.unwrap();
        for task in encrypters {
            for r in task.await.unwrap() {
                let outcome = match r {
                    Ok(body) => {
                        assert_eq!(text(&body["KeyId"]), a, "alice encrypted under B");
                        blobs.push(text(&body["CiphertextBlob"]));
                        "Encrypt ok".to_owned()
                    }
                    Err(code) => {
                        let expected = ["Forbidden.NoPermission", "Rejected.Disabled"];
                        assert!(expected.contains(&code.as_str()), "Encrypt: {code}");
                        format!("Encrypt {code}")
                    }
                };
                *outcomes.entry(outcome).or_default() += 1;
            }
        }
        for r in disabler.await.unwrap() {
            let outcome = match r {
                Ok(_) => "DisableKey ok".to_owned(),
                Err(code) => {
                    let expected = ["Forbidden.NoPermission", "Rejected.StateModifiedFailed"];
                    assert!(expected.contains(&code.as_str()), "DisableKey: {code}");
                    format!("DisableKey {code}")
                }
            };
            *outcomes.entry(outcome).or_default() += 1;
        }
        let b_state = w.kms_ok("DescribeKey", &[("KeyId", &b)]).await;
        assert_eq!(
            b_state["KeyMetadata"]["KeyState"], "Enabled",
            "alice disabled B"
        );
    }

    eprintln!("alias race, cache TTL {ttl:?}: {outcomes:?}");
    // Every ciphertext alice got opens as A's.
    let state = w.kms_ok("DescribeKey", &[("KeyId", &a)]).await;
    if state["KeyMetadata"]["KeyState"] != "Enabled" {
        w.kms_ok("EnableKey", &[("KeyId", &a)]).await;
    }
    for blob in &blobs {
        let body = w.kms_ok("Decrypt", &[("CiphertextBlob", blob)]).await;
        assert_eq!(text(&body["KeyId"]), a);
    }
    // Without a race: alias at A works for alice, alias at B does not.
    let encrypt = [("KeyId", "alias/x"), ("Plaintext", "p")];
    let code = w.kms("alice", "Encrypt", &encrypt).await.err();
    assert_eq!(code, None, "alias/x is at A after an even number of flips");
    w.kms_ok("UpdateAlias", &[("AliasName", "alias/x"), ("KeyId", &b)])
        .await;
    let code = w.kms("alice", "Encrypt", &encrypt).await.err();
    assert_eq!(code.as_deref(), Some("Forbidden.NoPermission"));
}

// ---- 5. Flattened EncryptionContext ----

/// `base` then `more`.
fn with<'a>(base: &[(&'a str, &'a str)], more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    base.iter().chain(more).copied().collect()
}

/// Old code: `EncryptionContext.*` parameters were ignored, so the Node 1.x and Go SDKs
/// encrypted with an empty context: the blob opened without any context and not with the one
/// the caller gave (and a malformed or contradictory flattened form went unnoticed).
#[test]
fn flattened_encryption_context_forms_are_one_context() {
    let f = Fixture::start();
    let key = f.create_key();
    let node_form = [
        ("EncryptionContext.app", "web"),
        ("EncryptionContext.env", "prod"),
    ];
    let go_form = [
        ("EncryptionContext.1.Key", "app"),
        ("EncryptionContext.1.Value", "web"),
        ("EncryptionContext.2.Key", "env"),
        ("EncryptionContext.2.Value", "prod"),
    ];
    let json_ctx = r#"{"env":"prod","app":"web"}"#;

    let mut enc = vec![("KeyId", key.as_str()), ("Plaintext", "hello")];
    enc.extend(node_form);
    let body = f.kms_ok("Encrypt", &enc);
    let blob = text(&body["CiphertextBlob"]);
    let blob_param = [("CiphertextBlob", blob.as_str())];

    let opened = f.kms_ok(
        "Decrypt",
        &with(&blob_param, &[("EncryptionContext", json_ctx)]),
    );
    assert_eq!(opened["Plaintext"], "hello");
    assert_eq!(opened["KeyId"], key.as_str());
    assert_refused(&f.kms("Decrypt", &blob_param), "InvalidParameter");
    assert_refused(
        &f.kms(
            "Decrypt",
            &with(&blob_param, &[("EncryptionContext.app", "web")]),
        ),
        "InvalidParameter",
    );
    let opened = f.kms_ok("Decrypt", &with(&blob_param, &go_form));
    assert_eq!(opened["Plaintext"], "hello");
    // Flattened together with the same JSON: accepted.
    let same = with(
        &with(&blob_param, &node_form),
        &[("EncryptionContext", r#"{"app":"web","env":"prod"}"#)],
    );
    assert_eq!(f.kms_ok("Decrypt", &same)["Plaintext"], "hello");
    // Flattened together with a different JSON: refused, whichever would open the blob.
    let different = with(
        &with(&blob_param, &node_form),
        &[("EncryptionContext", r#"{"app":"web"}"#)],
    );
    assert_refused(&f.kms("Decrypt", &different), "InvalidParameter");
    let different = with(
        &with(&blob_param, &[("EncryptionContext.app", "web")]),
        &[("EncryptionContext", json_ctx)],
    );
    assert_refused(&f.kms("Decrypt", &different), "InvalidParameter");

    // GenerateDataKey with the Go form, Decrypt with the Node form.
    let mut gdk = vec![("KeyId", key.as_str())];
    gdk.extend(go_form);
    let body = f.kms_ok("GenerateDataKey", &gdk);
    let data_key = text(&body["Plaintext"]);
    let blob = text(&body["CiphertextBlob"]);
    let blob_param = [("CiphertextBlob", blob.as_str())];
    let opened = f.kms_ok("Decrypt", &with(&blob_param, &node_form));
    assert_eq!(text(&opened["Plaintext"]), data_key);
    assert_refused(&f.kms("Decrypt", &blob_param), "InvalidParameter");

    // Malformed flattened forms: InvalidParameter, on Encrypt and Decrypt alike.
    let malformed: [&[(&str, &str)]; 7] = [
        &[("EncryptionContext.1.Key", "app")],
        &[("EncryptionContext.1.Value", "web")],
        &[
            ("EncryptionContext.0.Key", "app"),
            ("EncryptionContext.0.Value", "web"),
        ],
        &[
            ("EncryptionContext.app", "web"),
            ("EncryptionContext.1.Key", "env"),
            ("EncryptionContext.1.Value", "prod"),
        ],
        &[
            ("EncryptionContext.1.Key", "app"),
            ("EncryptionContext.1.Value", "web"),
            ("EncryptionContext.2.Key", "app"),
            ("EncryptionContext.2.Value", "mobile"),
        ],
        &[("EncryptionContext.", "web")],
        &[
            ("EncryptionContext.1.Key", "app"),
            ("EncryptionContext.1.Value", "web"),
            ("EncryptionContext.2.Key", "env"),
        ],
    ];
    for form in malformed {
        let enc = with(&[("KeyId", key.as_str()), ("Plaintext", "hello")], form);
        assert_refused(&f.kms("Encrypt", &enc), "InvalidParameter");
        let dec = with(&blob_param, form);
        assert_refused(&f.kms("Decrypt", &dec), "InvalidParameter");
    }
    // Encrypt with flattened and a different JSON context: refused.
    let enc = with(
        &[("KeyId", key.as_str()), ("Plaintext", "hello")],
        &[
            ("EncryptionContext", r#"{"app":"web"}"#),
            ("EncryptionContext.app", "mobile"),
        ],
    );
    assert_refused(&f.kms("Encrypt", &enc), "InvalidParameter");
}

/// Found by this test: the store's nonce window forgot by the latest `now` it was given, not by
/// each call's own. The server reads `now` before it takes the window's lock, so a replay read
/// at the last second its timestamp passes (`now == expires_at`, at the end of a 64-s slot)
/// that reached the lock just after a request read one second later was accepted: the slot
/// holding its nonce had been dropped. Slots are now kept a slot's width past their end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_read_just_before_a_later_request_is_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("keywarden.db"))
        .await
        .unwrap();
    let t0 = now_unix();
    // An expiry at the last second of a 64-s slot.
    let e = (t0 + 1800).div_euclid(64) * 64 + 63;
    let x = nonce_digest("AK", "x");
    let y = nonce_digest("AK", "y");
    assert!(store.remember_nonce(&x, e, t0).await.unwrap());
    // Another request, read one second later, takes the lock first.
    assert!(store.remember_nonce(&y, e + 900, e + 1).await.unwrap());
    // The replay of x, read at second e (its timestamp still passes), arrives second.
    let fresh = store.remember_nonce(&x, e, e).await.unwrap();
    assert!(!fresh, "replay of x at its last second was accepted");
}
