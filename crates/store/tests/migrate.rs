//! `keywarden_store::migrate`: a real SQLite store holding every kind of row is copied into a
//! real PostgreSQL database (a throwaway one, `postgres::testing`), exactly: checksums agree,
//! the copied audit trail verifies from its anchor, policy version ids and `last_version` are
//! kept; a re-run writes nothing; a changed target or another installation is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::error::Error;

use keywarden_core::audit::{ChainStart, ChainVerifier};
use keywarden_core::model::AccessKeyStatus;
use keywarden_store::conformance::{sample_audit_record, sample_key, sample_version};
use keywarden_store::migrate::{self, Inventory, Kind, MigrateError, Outcome, Summary};
use keywarden_store::postgres::testing::TestDatabase;
use keywarden_store::postgres::{PgOptions, PgStore};
use keywarden_store::sqlite::SqliteStore;
use keywarden_store::{
    AccessKeyRecord, AliasRecord, AttachmentRecord, InstanceRecord, KeyPolicyRecord, KeyStore,
    POLICY_CUSTOM, POLICY_SYSTEM, PRINCIPAL_USER, PolicyRecord, PolicyVersionRecord, TagRecord,
    UserRecord, VersionOptions,
};

type TestResult = Result<(), Box<dyn Error>>;

fn instance(account: &str) -> InstanceRecord {
    InstanceRecord {
        account_id: account.to_owned(),
        region_id: "local".into(),
        root_key_check: vec![1, 2, 3, 0, 255],
        created_ms: 1_700_000_000_000,
    }
}

fn user(name: &str, id: &str) -> UserRecord {
    UserRecord {
        user_name: name.to_owned(),
        user_id: id.to_owned(),
        display_name: format!("{name} display"),
        mobile_phone: "86-1234".into(),
        email: format!("{name}@example.com"),
        comments: "comment".into(),
        create_date: 100,
        update_date: 200,
    }
}

/// A SQLite store with every kind of row in `dir`.
async fn filled_sqlite(dir: &std::path::Path) -> Result<SqliteStore, Box<dyn Error>> {
    let store = SqliteStore::open(&dir.join("keywarden.db")).await?;
    store.init_instance(&instance("1234567890123456")).await?;
    // Key a: three versions, rotated (revision moves on), a policy, tags, two aliases.
    let mut a = sample_key("key-a", 1_000);
    store
        .create_key_with_policy(
            &a,
            &sample_version("key-a", "key-a-v1", 1_000),
            "{\"Statement\":[]}",
        )
        .await?;
    for (n, date) in [(2, 2_000), (3, 3_000)] {
        let v = sample_version("key-a", &format!("key-a-v{n}"), date);
        a.primary_version_id = v.version_id.clone();
        a.last_rotation_date = date;
        store.rotate_key(&a, &v).await?;
        a.revision += 1;
    }
    store
        .set_key_policy(&KeyPolicyRecord {
            key_id: "key-a".into(),
            document: "{\"Version\":\"1\"}".into(),
            update_date: 4_000,
        })
        .await?;
    store
        .put_tags(
            "key-a",
            &[
                TagRecord {
                    tag_key: "env".into(),
                    tag_value: "prod".into(),
                },
                TagRecord {
                    tag_key: "team".into(),
                    tag_value: "ünï".into(),
                },
            ],
        )
        .await?;
    // Key b: one version, another state.
    let b = sample_key("key-b", 1_500);
    store
        .create_key(&b, &sample_version("key-b", "key-b-v1", 1_500))
        .await?;
    for (alias, key) in [
        ("alias/a", "key-a"),
        ("alias/a2", "key-a"),
        ("alias/b", "key-b"),
    ] {
        store
            .create_alias(&AliasRecord {
                alias_name: alias.into(),
                key_id: key.into(),
                creation_date: 5_000,
            })
            .await?;
    }
    // RAM: two users, access keys, a custom policy whose versions are v1, v3, v4 (v2 and v5
    // deleted, so ids are not contiguous and last_version is above the highest kept id).
    store.create_user(&user("admin", "u-1")).await?;
    store.create_user(&user("alice", "u-2")).await?;
    for (id, owner, status) in [
        ("KWADMIN", "admin", AccessKeyStatus::Active),
        ("KWALICE1", "alice", AccessKeyStatus::Inactive),
        ("KWALICE2", "alice", AccessKeyStatus::Active),
    ] {
        store
            .create_access_key(
                &AccessKeyRecord {
                    access_key_id: id.into(),
                    sealed_secret: vec![0, 9, 0xff, 7],
                    status,
                    user_name: owner.into(),
                    creation_date: 6_000,
                },
                2,
            )
            .await?;
    }
    store
        .create_policy(
            &PolicyRecord {
                policy_name: "readers".into(),
                description: "read only".into(),
                default_version: "v1".into(),
                create_date: 7_000,
                update_date: 7_000,
            },
            &PolicyVersionRecord {
                policy_name: "readers".into(),
                version_id: "v1".into(),
                document: "{\"v\":1}".into(),
                create_date: 7_000,
            },
        )
        .await?;
    let options = VersionOptions {
        set_default: false,
        rotate: false,
        max_versions: 5,
    };
    for n in 2..=5 {
        let v = store
            .add_policy_version("readers", &format!("{{\"v\":{n}}}"), 7_000 + n, options)
            .await?;
        assert_eq!(v.version_id, format!("v{n}"));
    }
    store
        .set_default_policy_version("readers", "v3", 8_000)
        .await?;
    store.delete_policy_version("readers", "v2").await?;
    store.delete_policy_version("readers", "v5").await?;
    for (policy_type, policy) in [
        (POLICY_SYSTEM, "AdministratorAccess"),
        (POLICY_CUSTOM, "readers"),
    ] {
        store
            .attach_policy(&AttachmentRecord {
                principal_type: PRINCIPAL_USER.into(),
                principal_name: if policy == "readers" {
                    "alice"
                } else {
                    "admin"
                }
                .into(),
                policy_type: policy_type.into(),
                policy_name: policy.into(),
                attach_date: 9_000,
            })
            .await?;
    }
    // Audit: 1,200 records (more than one page), the first 700 pruned (an anchor).
    let records: Vec<_> = (0..1_200)
        .map(|i| sample_audit_record(&format!("req-{i}"), 10_000 + i))
        .collect();
    store.append_audit(&records).await?;
    let pruned = store.prune_audit(10_700, 20_000).await?.unwrap();
    assert_eq!(pruned.anchor.seq, 700);
    Ok(store)
}

async fn summary_of(store: &dyn KeyStore, inv: &Inventory) -> Summary {
    Summary::of(inv, store).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_migrates_exactly_and_reruns_are_safe() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sqlite = filled_sqlite(dir.path()).await?;
    let db = TestDatabase::create().await?;
    let pg = PgStore::connect(db.url(), PgOptions::default()).await?;

    let copied = match migrate::sqlite_to_postgres(&sqlite, &pg, 30_000).await? {
        Outcome::Copied(summary) => summary,
        other => panic!("expected a copy, got {other:?}"),
    };
    let count = |kind| copied.get(kind).unwrap().count;
    assert_eq!(count(Kind::Instance), 1);
    assert_eq!(count(Kind::Keys), 2);
    assert_eq!(count(Kind::KeyVersions), 4);
    assert_eq!(count(Kind::Aliases), 3);
    assert_eq!(count(Kind::Tags), 2);
    assert_eq!(count(Kind::KeyPolicies), 1);
    assert_eq!(count(Kind::Users), 2);
    assert_eq!(count(Kind::AccessKeys), 3);
    assert_eq!(count(Kind::Policies), 1);
    assert_eq!(count(Kind::PolicyVersions), 3);
    assert_eq!(count(Kind::Attachments), 2);
    assert_eq!(count(Kind::AuditAnchor), 1);
    assert_eq!(count(Kind::AuditRecords), 500);

    // Both sides, read through the trait, have the same checksums.
    let from = Inventory::read(&sqlite, migrate::sqlite_last_versions(sqlite.path())?).await?;
    let to = Inventory::read(&pg, pg.policy_last_versions().await?).await?;
    assert_eq!(from, to);
    assert_eq!(to.last_versions.get("readers"), Some(&5));
    assert_eq!(summary_of(&sqlite, &from).await, summary_of(&pg, &to).await);
    assert_eq!(pg.get_key("key-a").await?.unwrap().revision, 2);
    let ids: Vec<String> = pg
        .list_policy_versions("readers")
        .await?
        .into_iter()
        .map(|v| v.version_id)
        .collect();
    assert_eq!(ids, ["v1", "v3", "v4"]);
    assert_eq!(
        pg.get_policy("readers").await?.unwrap().default_version,
        "v3"
    );

    // The copied trail verifies from the anchor, and ends at the source's head.
    let anchor = pg.audit_anchor().await?.unwrap();
    assert_eq!(Some(anchor), sqlite.audit_anchor().await?);
    let mut verifier = ChainVerifier::new(ChainStart::After {
        seq: anchor.seq,
        hash: anchor.hash,
    });
    let mut pages = migrate::AuditPages::new(&pg, Some(anchor));
    while let Some(page) = pages.next_page().await? {
        for record in &page {
            verifier.push(record)?;
        }
    }
    let head = sqlite.audit_head().await?.unwrap();
    verifier.summary().check_head(head.seq, &head.hash)?;
    assert_eq!(verifier.summary().count, 500);

    // The PostgreSQL store works on: the next policy version is v6, not a reused v5; the next
    // audit record follows the copied head.
    let next = pg
        .add_policy_version(
            "readers",
            "{}",
            9_999,
            VersionOptions {
                set_default: false,
                rotate: true,
                max_versions: 5,
            },
        )
        .await?;
    assert_eq!(next.version_id, "v6");
    pg.delete_policy_version("readers", "v6").await?;
    // A re-run against the unchanged copy (v6 came and went: last_version moved) refuses...
    let err = migrate::sqlite_to_postgres(&sqlite, &pg, 40_000)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MigrateError::TargetDiffers(d) if d.len() == 1 && d[0].starts_with("policies")),
        "{err}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_is_a_no_op_and_a_changed_target_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sqlite = filled_sqlite(dir.path()).await?;
    let db = TestDatabase::create().await?;
    let pg = PgStore::connect(db.url(), PgOptions::default()).await?;
    assert!(matches!(
        migrate::sqlite_to_postgres(&sqlite, &pg, 30_000).await?,
        Outcome::Copied(_)
    ));
    let first = Inventory::read(&pg, pg.policy_last_versions().await?).await?;
    let first_summary = summary_of(&pg, &first).await;

    // Exactly the same data: nothing written, reported as already migrated.
    match migrate::sqlite_to_postgres(&sqlite, &pg, 31_000).await? {
        Outcome::AlreadyMigrated(summary) => assert_eq!(summary, first_summary),
        other => panic!("expected already migrated, got {other:?}"),
    }
    let again = Inventory::read(&pg, pg.policy_last_versions().await?).await?;
    assert_eq!(first, again, "a re-run writes nothing");

    // One row changed on the PostgreSQL side: refused, naming the kind, nothing written.
    pg.put_tags(
        "key-b",
        &[TagRecord {
            tag_key: "new".into(),
            tag_value: "x".into(),
        }],
    )
    .await?;
    let before = Inventory::read(&pg, pg.policy_last_versions().await?).await?;
    let err = migrate::sqlite_to_postgres(&sqlite, &pg, 32_000)
        .await
        .unwrap_err();
    match &err {
        MigrateError::TargetDiffers(d) => {
            assert_eq!(d.len(), 1, "{d:?}");
            assert!(
                d[0].starts_with("tags: 2 in the source, 3 in the target"),
                "{d:?}"
            );
        }
        other => panic!("expected a refusal, got {other}"),
    }
    let after = Inventory::read(&pg, pg.policy_last_versions().await?).await?;
    assert_eq!(before, after, "a refused run writes nothing");

    // A changed field with the same count: checksums differ.
    pg.delete_tags("key-b", &["new".into()]).await?;
    let mut b = pg.get_key("key-b").await?.unwrap();
    b.description = "changed".into();
    pg.update_key(&b).await?;
    let err = migrate::sqlite_to_postgres(&sqlite, &pg, 33_000)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MigrateError::TargetDiffers(d) if d == &["keys: same count, different contents (checksums differ)"]),
        "{err}"
    );

    // The source changed since the migration (a record appended): refused as well.
    let db2 = TestDatabase::create().await?;
    let pg2 = PgStore::connect(db2.url(), PgOptions::default()).await?;
    migrate::sqlite_to_postgres(&sqlite, &pg2, 34_000).await?;
    sqlite
        .append_audit(&[sample_audit_record("late", 99_000)])
        .await?;
    let err = migrate::sqlite_to_postgres(&sqlite, &pg2, 35_000)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MigrateError::TargetDiffers(d) if d == &["audit records: 501 in the source, 500 in the target"]),
        "{err}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_installation_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sqlite = filled_sqlite(dir.path()).await?;
    let db = TestDatabase::create().await?;
    let pg = PgStore::connect(db.url(), PgOptions::default()).await?;
    // Another installation: a node initialized the database and made a key.
    pg.init_instance(&instance("9999999999999999")).await?;
    pg.create_key(
        &sample_key("other", 1),
        &sample_version("other", "other-v1", 1),
    )
    .await?;
    let err = migrate::sqlite_to_postgres(&sqlite, &pg, 30_000)
        .await
        .unwrap_err();
    let MigrateError::TargetDiffers(d) = &err else {
        panic!("expected a refusal, got {err}");
    };
    assert!(d.iter().any(|s| s.starts_with("instance")), "{d:?}");
    assert!(d.iter().any(|s| s.starts_with("keys")), "{d:?}");
    assert_eq!(
        pg.list_aliases(
            None,
            keywarden_store::Page {
                offset: 0,
                limit: 10
            }
        )
        .await?
        .total,
        0
    );

    // A database with only an identity (a node started, nothing else) is not empty either.
    let db2 = TestDatabase::create().await?;
    let pg2 = PgStore::connect(db2.url(), PgOptions::default()).await?;
    pg2.init_instance(&instance("1234567890123456")).await?;
    let err = migrate::sqlite_to_postgres(&sqlite, &pg2, 30_000)
        .await
        .unwrap_err();
    assert!(matches!(err, MigrateError::TargetDiffers(_)), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_into_a_non_empty_database_writes_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sqlite = filled_sqlite(dir.path()).await?;
    let from = Inventory::read(&sqlite, migrate::sqlite_last_versions(sqlite.path())?).await?;
    let db = TestDatabase::create().await?;
    let pg = PgStore::connect(db.url(), PgOptions::default()).await?;
    // Only an audit record: the importer itself refuses (inside its transaction).
    pg.append_audit(&[sample_audit_record("x", 1)]).await?;
    let err = pg.import(&from, &sqlite, 1).await.unwrap_err();
    assert!(err.to_string().contains("audit_log"), "{err}");
    assert!(pg.instance().await?.is_none());
    assert!(pg.get_key("key-a").await?.is_none());
    Ok(())
}
