//! In-process harness: a [`Kms`] on a SQLite file in a temp dir, driven by a [`ManualClock`],
//! with API actions run through their descriptors (`Action::run`: parse, resolve, authorize,
//! run) as the user `admin`, who has `AdministratorAccess` (authentication is tested elsewhere;
//! here the time can move freely, which a signed request's timestamp window would not allow).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use keywarden_core::model::Realm;
use keywarden_core::secret::SecretBytes;
use keywarden_core::wrap::RootKey;
use keywarden_server::action::AuditFacts;
use keywarden_server::action::{Origin, Product};
use keywarden_server::auth::Caller;
use keywarden_server::kms::{Kms, KmsOptions, ManualClock};
use keywarden_server::request::ApiRequest;
use keywarden_store::sqlite::SqliteStore;
use keywarden_store::{AttachmentRecord, KeyStore, POLICY_SYSTEM, PRINCIPAL_USER, UserRecord};
use serde_json::Value;

/// Where every test clock starts (2023-11-14T22:13:20Z).
pub const START: i64 = 1_700_000_000;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// One server node: its state and the clock it reads.
pub struct Node {
    pub kms: Arc<Kms>,
    pub clock: Arc<ManualClock>,
}

impl Node {
    /// A node on `<dir>/keywarden.db` (created if missing) at time `now`, with the default
    /// cache TTL.
    pub async fn open(dir: &Path, now: i64) -> Node {
        Node::open_with_ttl(dir, now, KmsOptions::default().cache_ttl).await
    }

    /// A node with its own cache TTL (to show what another node sees, and when).
    pub async fn open_with_ttl(dir: &Path, now: i64, cache_ttl: Duration) -> Node {
        let store: Arc<dyn KeyStore> =
            Arc::new(SqliteStore::open(&dir.join("keywarden.db")).await.unwrap());
        Node::on_store(store, now, cache_ttl).await
    }

    /// A node on `store` (another backend, or a store shared with other nodes).
    pub async fn on_store(store: Arc<dyn KeyStore>, now: i64, cache_ttl: Duration) -> Node {
        let clock = Arc::new(ManualClock::new(now));
        let kms = Kms::new(
            store,
            root_key(),
            realm(),
            Arc::clone(&clock) as _,
            KmsOptions { cache_ttl },
        );
        let node = Node {
            kms: Arc::new(kms),
            clock,
        };
        node.ensure_admin(now).await;
        node
    }

    /// The user `admin` with `AdministratorAccess` (once per store).
    async fn ensure_admin(&self, now: i64) {
        let store = &self.kms.store;
        if store.get_user(ADMIN).await.unwrap().is_some() {
            return;
        }
        store
            .create_user(&UserRecord {
                user_name: ADMIN.into(),
                user_id: "1000000000000001".into(),
                display_name: String::new(),
                mobile_phone: String::new(),
                email: String::new(),
                comments: String::new(),
                create_date: now,
                update_date: now,
            })
            .await
            .unwrap();
        store
            .attach_policy(&AttachmentRecord {
                principal_type: PRINCIPAL_USER.into(),
                principal_name: ADMIN.into(),
                policy_type: POLICY_SYSTEM.into(),
                policy_name: "AdministratorAccess".into(),
                attach_date: now,
            })
            .await
            .unwrap();
    }

    /// Runs `action`; the body, or the error's wire code.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        call(&self.kms, action, params).await
    }

    /// Runs `action`, which must succeed.
    pub async fn ok(&self, action: &str, params: &[(&str, &str)]) -> Value {
        match self.call(action, params).await {
            Ok(body) => body,
            Err(code) => panic!("{action} {params:?} failed with {code}"),
        }
    }

    /// Runs `action`, which must fail; its wire code.
    pub async fn err(&self, action: &str, params: &[(&str, &str)]) -> String {
        match self.call(action, params).await {
            Ok(body) => panic!("{action} {params:?} succeeded: {body}"),
            Err(code) => code,
        }
    }

    /// A new AES-256 key; its id.
    pub async fn create_key(&self) -> String {
        let body = self.ok("CreateKey", &[]).await;
        text(&body["KeyMetadata"]["KeyId"])
    }

    /// `DescribeKey`'s `KeyMetadata`.
    pub async fn describe(&self, key_ref: &str) -> Value {
        self.ok("DescribeKey", &[("KeyId", key_ref)]).await["KeyMetadata"].clone()
    }

    /// Encrypts `plaintext` under `key_ref` without context; the blob.
    pub async fn encrypt(&self, key_ref: &str, plaintext: &str) -> String {
        let body = self
            .ok("Encrypt", &[("KeyId", key_ref), ("Plaintext", plaintext)])
            .await;
        text(&body["CiphertextBlob"])
    }

    /// Decrypts `blob` without context: `(KeyVersionId, Plaintext)`, or the error code.
    pub async fn decrypt(&self, blob: &str) -> Result<(String, String), String> {
        let body = self.call("Decrypt", &[("CiphertextBlob", blob)]).await?;
        Ok((text(&body["KeyVersionId"]), text(&body["Plaintext"])))
    }
}

/// The administrator of every node.
pub const ADMIN: &str = "admin";

/// Runs KMS `action` against `kms` as the admin.
pub async fn call(kms: &Kms, action: &str, params: &[(&str, &str)]) -> Result<Value, String> {
    let caller = Caller {
        access_key_id: "KWTEST".into(),
        user_name: ADMIN.into(),
    };
    run_as(kms, &caller, None, Product::Kms, action, &request(params)).await
}

/// Runs `action` of `product` as `caller` from `peer` through its descriptor: the body, or the
/// error's wire code.
pub async fn run_as(
    kms: &Kms,
    caller: &Caller,
    peer: Option<std::net::SocketAddr>,
    product: Product,
    action: &str,
    req: &ApiRequest,
) -> Result<Value, String> {
    let Some(descriptor) = keywarden_server::table::find(product, action) else {
        return Err("InvalidAction.NotFound".into());
    };
    let mut facts = AuditFacts::default();
    descriptor
        .run(kms, caller, Origin { peer }, req, &mut facts)
        .await
        .map(|reply| Value::Object(reply.body))
        .map_err(|e| e.code().to_owned())
}

/// A decoded request with these action parameters.
pub fn request(params: &[(&str, &str)]) -> ApiRequest {
    ApiRequest {
        method: "POST".into(),
        params: params.iter().copied().collect(),
        query_len: params.len(),
        headers: vec![],
        body_sha256: String::new(),
        peer: None,
    }
}

/// The fixed root key of every test node (all nodes of a test share it, as servers on one
/// store share the data dir's root key).
pub fn root_key() -> RootKey {
    RootKey::new(&SecretBytes::new(vec![0x42; 32])).unwrap()
}

pub fn realm() -> Realm {
    Realm {
        region: "test-region".into(),
        account: "1234567890".into(),
    }
}

/// A JSON string's text (panics on anything else).
pub fn text(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// `YYYY-MM-DDTHH:MM:SSZ` of unix seconds.
pub fn date(secs: i64) -> String {
    keywarden_core::dates::format_unix(secs)
}
