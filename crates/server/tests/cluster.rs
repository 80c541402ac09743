//! Several keywarden nodes on one real PostgreSQL database (a throwaway one per test, see
//! `keywarden_store::postgres::testing`): any node serves any request, changes made through one
//! node are refused by the others within the staleness bound, a signed request is accepted
//! once across all nodes, names are taken once, and every call of every node lands in one
//! audit chain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod serve_support;

use std::path::Path;
use std::time::{Duration, Instant};

use keywarden_core::audit::{ChainStart, ChainVerifier};
use keywarden_server::StoreLocation;
use keywarden_store::KeyStore;
use keywarden_store::postgres::testing::TestDatabase;
use keywarden_store::postgres::{PgOptions, PgStore};
use serde_json::Value;
use serve_support::{Served, exchange, signed_request};

/// The staleness bound the issue promises (and `keywarden_server::SHARED_STALENESS_BOUND`).
const BOUND: Duration = Duration::from_secs(1);

fn test_database() -> TestDatabase {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(TestDatabase::create()).unwrap()
}

/// A node on `db` with its own data dir under `home`, caching for `ttl` (the bound's worth by
/// default: only the change notifications make it see a change sooner).
fn node(home: &Path, name: &str, db: &TestDatabase, ttl: Duration, rate: u32) -> Served {
    let url = db.url().to_owned();
    Served::start(
        &home.join(name),
        move |config| {
            config.store = StoreLocation::Postgres(url);
            config.kms.cache_ttl = ttl;
            config.limits.rate_limit = rate;
            config.limits.rate_burst = rate.max(1);
            config.pg = PgOptions {
                max_connections: 4,
                ..PgOptions::default()
            };
        },
        |_| {},
    )
}

/// Three nodes: `a` initialized the store; `b` and `c` joined with a copy of its root key and
/// of the bootstrap credentials (so every node can be called as the admin).
struct Cluster {
    // Fields drop in this order: the nodes stop before their database and data dirs go, and
    // the next test's cluster starts after that.
    nodes: Vec<Served>,
    db: TestDatabase,
    _home: tempfile::TempDir,
    _turn: std::sync::MutexGuard<'static, ()>,
}

/// One cluster at a time: three nodes' connections are a good share of the server's
/// `max_connections` (100 by default), and the bound is measured on a machine not running
/// two other clusters.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Cluster {
    fn start(ttl: Duration) -> Cluster {
        Cluster::start_limited(ttl, 0)
    }

    /// [`Cluster::start`] with a rate limit of `rate` calls per second (and burst) per access
    /// key on each node.
    fn start_limited(ttl: Duration, rate: u32) -> Cluster {
        let turn = TURN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let home = tempfile::tempdir().unwrap();
        let db = test_database();
        let a = node(home.path(), "a", &db, ttl, rate);
        let mut nodes = vec![a];
        for name in ["b", "c"] {
            let dir = home.path().join(name);
            std::fs::create_dir_all(&dir).unwrap();
            for file in ["root.key", "credentials.json"] {
                std::fs::copy(nodes[0].data_dir.join(file), dir.join(file)).unwrap();
            }
            nodes.push(node(home.path(), name, &db, ttl, rate));
        }
        Cluster {
            nodes,
            db,
            _home: home,
            _turn: turn,
        }
    }

    fn a(&self) -> &Served {
        &self.nodes[0]
    }

    fn b(&self) -> &Served {
        &self.nodes[1]
    }

    fn c(&self) -> &Served {
        &self.nodes[2]
    }
}

/// Calls `action` on `node` as `(ak, secret)`: the status and the JSON body.
fn call_as(
    node: &Served,
    creds: &(String, String),
    action: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let req = signed_request(&node.addr.to_string(), action, params, &creds.0, &creds.1);
    let answer = exchange(node.addr, &req);
    (answer.status, answer.json())
}

/// Calls `action` on `node` as the admin and expects success.
fn ok(node: &Served, action: &str, params: &[(&str, &str)]) -> Value {
    let (status, body) = call_as(node, &node.credentials(), action, params);
    assert_eq!(status, 200, "{action} on {}: {body}", node.addr);
    body
}

fn text(v: &Value, name: &str) -> String {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {v}"))
        .to_owned()
}

/// Calls `probe` on `node` until it fails with `code`; how long that took. Fails the test if
/// it still succeeds after twice the bound.
fn refused_after(
    node: &Served,
    creds: &(String, String),
    probe: (&str, &[(&str, &str)]),
    code: &str,
) -> Duration {
    let start = Instant::now();
    loop {
        let (status, body) = call_as(node, creds, probe.0, probe.1);
        if status != 200 {
            assert_eq!(body["Code"], code, "{body}");
            return start.elapsed();
        }
        assert!(
            start.elapsed() < 2 * BOUND,
            "{} still succeeds {:?} after the change",
            probe.0,
            start.elapsed()
        );
    }
}

/// A change reached the other node well within the bound. Its cache TTL is the whole bound,
/// so without the change notification the refusal would come only as the entry expires
/// (about a second after the probe that cached it, just before the change).
fn assert_prompt(took: Duration, what: &str) {
    eprintln!("{what}: refused after {took:?}");
    assert!(took < BOUND / 2, "{what} after {took:?}");
}

#[test]
fn any_node_serves_what_another_created() {
    let cluster = Cluster::start(BOUND);
    let key = text(&ok(cluster.a(), "CreateKey", &[])["KeyMetadata"], "KeyId");
    ok(
        cluster.b(),
        "CreateAlias",
        &[("AliasName", "alias/shared"), ("KeyId", &key)],
    );
    let dk = ok(
        cluster.c(),
        "GenerateDataKey",
        &[("KeyId", "alias/shared"), ("NumberOfBytes", "32")],
    );
    let opened = ok(
        cluster.a(),
        "Decrypt",
        &[("CiphertextBlob", &text(&dk, "CiphertextBlob"))],
    );
    assert_eq!(text(&opened, "Plaintext"), text(&dk, "Plaintext"));
    assert_eq!(text(&opened, "KeyId"), key);
}

#[test]
fn a_request_accepted_by_one_node_is_refused_by_the_others() {
    let cluster = Cluster::start(BOUND);
    let (ak, secret) = cluster.a().credentials();
    // One signed request (for the name a load balancer would give all nodes), sent to each.
    let req = signed_request("kms.internal", "ListKeys", &[], &ak, &secret);
    assert_eq!(exchange(cluster.a().addr, &req).status, 200);
    for other in [cluster.b(), cluster.c()] {
        let replay = exchange(other.addr, &req);
        assert_eq!(replay.status, 400, "{}", replay.body);
        assert_eq!(
            replay.json()["Code"],
            "SignatureNonceUsed",
            "{}",
            replay.body
        );
    }
}

#[test]
fn key_changes_on_one_node_are_refused_by_another_within_the_bound() {
    let cluster = Cluster::start(BOUND);
    let admin = cluster.a().credentials();
    let disabled = text(&ok(cluster.a(), "CreateKey", &[])["KeyMetadata"], "KeyId");
    let doomed = text(&ok(cluster.a(), "CreateKey", &[])["KeyMetadata"], "KeyId");
    for key in [&disabled, &doomed] {
        // Node c has the key cached.
        ok(
            cluster.c(),
            "Encrypt",
            &[("KeyId", key), ("Plaintext", "aGk=")],
        );
    }

    ok(cluster.a(), "DisableKey", &[("KeyId", &disabled)]);
    let took = refused_after(
        cluster.c(),
        &admin,
        ("Encrypt", &[("KeyId", &disabled), ("Plaintext", "aGk=")]),
        "Rejected.Disabled",
    );
    assert_prompt(took, "DisableKey reached node c");

    ok(
        cluster.a(),
        "ScheduleKeyDeletion",
        &[("KeyId", &doomed), ("PendingWindowInDays", "7")],
    );
    let took = refused_after(
        cluster.c(),
        &admin,
        ("Encrypt", &[("KeyId", &doomed), ("Plaintext", "aGk=")]),
        "Rejected.PendingDeletion",
    );
    assert_prompt(took, "ScheduleKeyDeletion reached node c");
}

#[test]
fn identity_changes_on_one_node_are_refused_by_another_within_the_bound() {
    let cluster = Cluster::start(BOUND);
    let a = cluster.a();
    let key = text(&ok(a, "CreateKey", &[])["KeyMetadata"], "KeyId");
    let ram = |action: &str, params: &[(&str, &str)]| {
        let (ak, secret) = a.credentials();
        let req = serve_support::rpc_v1_request(
            &a.addr.to_string(),
            "2015-05-01",
            action,
            params,
            (&ak, &secret),
            &[],
        );
        let answer = exchange(a.addr, &req);
        assert_eq!(answer.status, 200, "{action}: {}", answer.body);
        answer.json()
    };
    let policy =
        r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:*"],"Resource":["*"]}]}"#;
    ram(
        "CreatePolicy",
        &[("PolicyName", "kms-all"), ("PolicyDocument", policy)],
    );
    let mut users = Vec::new();
    for name in ["detached", "inactive", "deleted"] {
        ram("CreateUser", &[("UserName", name)]);
        ram(
            "AttachPolicyToUser",
            &[
                ("PolicyType", "Custom"),
                ("PolicyName", "kms-all"),
                ("UserName", name),
            ],
        );
        let created = ram("CreateAccessKey", &[("UserName", name)]);
        let creds = (
            text(&created["AccessKey"], "AccessKeyId"),
            text(&created["AccessKey"], "AccessKeySecret"),
        );
        // Node c has the credential and the policies cached.
        let (status, body) = call_as(cluster.c(), &creds, "DescribeKey", &[("KeyId", &key)]);
        assert_eq!(status, 200, "{body}");
        users.push(creds);
    }
    let probe: (&str, &[(&str, &str)]) = ("DescribeKey", &[("KeyId", &key)]);

    ram(
        "DetachPolicyFromUser",
        &[
            ("PolicyType", "Custom"),
            ("PolicyName", "kms-all"),
            ("UserName", "detached"),
        ],
    );
    let took = refused_after(cluster.c(), &users[0], probe, "Forbidden.NoPermission");
    assert_prompt(took, "the detach reached node c");

    ram(
        "UpdateAccessKey",
        &[
            ("UserName", "inactive"),
            ("UserAccessKeyId", &users[1].0),
            ("Status", "Inactive"),
        ],
    );
    let took = refused_after(cluster.c(), &users[1], probe, "Forbidden.AccessKey");
    assert_prompt(took, "the deactivation reached node c");

    ram(
        "DeleteAccessKey",
        &[("UserName", "deleted"), ("UserAccessKeyId", &users[2].0)],
    );
    let took = refused_after(cluster.c(), &users[2], probe, "InvalidAccessKeyId.NotFound");
    assert_prompt(took, "the deletion reached node c");
}

#[test]
fn one_create_alias_of_a_name_wins_across_nodes() {
    let cluster = Cluster::start(BOUND);
    let key = text(&ok(cluster.a(), "CreateKey", &[])["KeyMetadata"], "KeyId");
    for round in 0..10 {
        let name = format!("alias/race-{round}");
        let outcomes: Vec<u16> = std::thread::scope(|s| {
            let racers: Vec<_> = [cluster.a(), cluster.b(), cluster.c()]
                .into_iter()
                .map(|node| {
                    let (name, key) = (name.clone(), key.clone());
                    s.spawn(move || {
                        call_as(
                            node,
                            &node.credentials(),
                            "CreateAlias",
                            &[("AliasName", &name), ("KeyId", &key)],
                        )
                        .0
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert_eq!(
            outcomes.iter().filter(|s| **s == 200).count(),
            1,
            "{name}: {outcomes:?}"
        );
    }
}

#[test]
fn every_call_of_every_node_is_in_one_chain() {
    let cluster = Cluster::start(BOUND);
    let mut request_ids = Vec::new();
    for node in &cluster.nodes {
        for _ in 0..5 {
            request_ids.push(text(&ok(node, "ListKeys", &[]), "RequestId"));
        }
    }
    let Cluster {
        nodes,
        db,
        _home,
        _turn,
    } = cluster;
    for node in nodes {
        node.stop().unwrap();
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = PgStore::connect_reader(db.url()).await.unwrap();
        let records = store.list_audit(None, 0, 10_000).await.unwrap();
        let mut verifier = ChainVerifier::new(ChainStart::Genesis);
        for r in &records {
            verifier.push(r).unwrap();
        }
        for id in &request_ids {
            assert!(
                records.iter().any(|r| &r.record.request_id == id),
                "call {id} is in the trail"
            );
        }

        // Someone with write access to the database removes node b's records (the triggers
        // that refuse it dropped first): the chain no longer verifies.
        let (admin, connection) = tokio_postgres::connect(
            &db.url().replace("?sslmode=disable", ""),
            tokio_postgres::NoTls,
        )
        .await
        .unwrap();
        tokio::spawn(connection);
        let of_b: Vec<&[u8]> = request_ids[5..10].iter().map(|id| id.as_bytes()).collect();
        admin
            .batch_execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            .await
            .unwrap();
        let removed = admin
            .execute("DELETE FROM audit_log WHERE request_id = ANY($1)", &[&of_b])
            .await
            .unwrap();
        assert_eq!(removed, 5);
        let left = store.list_audit(None, 0, 10_000).await.unwrap();
        let mut verifier = ChainVerifier::new(ChainStart::Genesis);
        let broken = left.iter().find_map(|r| verifier.push(r).err());
        assert!(
            broken.is_some(),
            "the removal of node b's records is detected"
        );
    });
}

#[test]
fn rate_limits_are_counted_per_node() {
    let cluster = Cluster::start_limited(BOUND, 5);
    let admin = cluster.a().credentials();
    let throttled = |node: &Served| {
        (0..8)
            .map(|_| call_as(node, &admin, "ListKeys", &[]))
            .filter(|(status, body)| *status != 200 && body["Code"] == "Throttling")
            .count()
    };
    // Eight calls in a burst on one node: its bucket of five runs dry.
    assert!(
        throttled(cluster.a()) >= 2,
        "node a throttles past its burst"
    );
    // The same access key on another node has that node's whole bucket.
    let (status, body) = call_as(cluster.b(), &admin, "ListKeys", &[]);
    assert_eq!(status, 200, "node b counts on its own: {body}");
    assert!(throttled(cluster.c()) <= 3, "node c counts on its own");
}

#[test]
fn a_cache_ttl_beyond_the_bound_is_refused_on_a_shared_store() {
    let db = test_database();
    let dir = tempfile::tempdir().unwrap();
    let mut config = keywarden_server::ServeConfig::new(dir.path().join("data"));
    config.store = StoreLocation::Postgres(db.url().to_owned());
    config.kms.cache_ttl = Duration::from_secs(2);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let refused = rt
        .block_on(keywarden_server::prepare(config))
        .err()
        .expect("refused");
    assert!(refused.to_string().contains("--cache-ttl"), "{refused}");
    assert!(!dir.path().join("data").exists(), "nothing written");
}

/// `prepare` for a node in `dir` on `db`, with its root key at `root_key` when given.
async fn prepare_node(
    dir: &Path,
    db: &TestDatabase,
    root_key: Option<&Path>,
) -> Result<keywarden_server::Prepared, keywarden_server::ServeError> {
    let mut config = keywarden_server::ServeConfig::new(dir.to_owned());
    config.store = StoreLocation::Postgres(db.url().to_owned());
    config.kms.cache_ttl = keywarden_server::SHARED_CACHE_TTL;
    config.tls = false;
    config.root_key_file = root_key.map(Path::to_owned);
    keywarden_server::prepare(config).await
}

#[test]
fn a_node_without_the_installations_root_key_is_refused() {
    let db = test_database();
    let home = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let first = prepare_node(&home.path().join("a"), &db, None)
            .await
            .unwrap();
        drop(first);

        // An empty data dir and no key file: told to copy the installation's key.
        let missing = prepare_node(&home.path().join("b"), &db, None)
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(
            missing.contains("root.key is missing") && missing.contains("--root-key-file"),
            "{missing}"
        );
        assert!(
            !home.path().join("b/root.key").exists(),
            "no key was made up"
        );

        // Another key: refused, naming the file and the store.
        let other = home.path().join("other.key");
        std::fs::write(&other, [7u8; 32]).unwrap();
        std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let wrong = prepare_node(&home.path().join("c"), &db, Some(&other))
            .await
            .err()
            .expect("refused")
            .to_string();
        assert!(
            wrong.contains("other.key") && wrong.contains("check value"),
            "{wrong}"
        );
        assert!(wrong.contains(db.name()), "names the store: {wrong}");

        // The installation's key: joins.
        let key = home.path().join("a/root.key");
        prepare_node(&home.path().join("d"), &db, Some(&key))
            .await
            .unwrap();
    });
}

#[test]
fn of_two_first_starts_at_once_one_initializes_and_the_other_is_refused() {
    let db = test_database();
    let home = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (dir_x, dir_y) = (home.path().join("x"), home.path().join("y"));
        let (x, y) = tokio::join!(
            prepare_node(&dir_x, &db, None),
            prepare_node(&dir_y, &db, None)
        );
        let won = [x.is_ok(), y.is_ok()];
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "{:?} {:?}",
            x.err(),
            y.err()
        );
        let loser = if won[0] { "y" } else { "x" };
        let refused = if won[0] { y.err() } else { x.err() }.unwrap().to_string();
        // The loser either found the store initialized already, or lost the insert of the
        // identity: refused either way, for want of the winner's root key.
        assert!(
            refused.contains("check value") || refused.contains("root.key is missing"),
            "{refused}"
        );
        assert!(
            !home.path().join(loser).join("root.key").exists(),
            "the loser's generated root key, which seals nothing, is gone"
        );
    });
}
