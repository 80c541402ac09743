//! Conformance checks for identity and access (the RAM API): users, access keys by user,
//! custom policies and their versions, attachments.

use keywarden_core::model::AccessKeyStatus;

use crate::{
    AccessKeyRecord, AttachmentRecord, KeyStore, POLICY_CUSTOM, POLICY_SYSTEM, PRINCIPAL_USER,
    PolicyRecord, PolicyVersionRecord, StoreError, StoreResult, UserRecord, VersionOptions,
};

/// A user with every field set.
pub fn sample_user(user_name: &str, create_date: i64) -> UserRecord {
    UserRecord {
        user_name: user_name.to_owned(),
        user_id: format!("id-{user_name}"),
        display_name: format!("User {user_name} — ünïcode"),
        mobile_phone: "86-18600008888".to_owned(),
        email: format!("{user_name}@example.com"),
        comments: "comment".to_owned(),
        create_date,
        update_date: create_date,
    }
}

fn access_key(id: &str, user_name: &str, creation_date: i64) -> AccessKeyRecord {
    AccessKeyRecord {
        access_key_id: id.to_owned(),
        sealed_secret: vec![0, 1, 2, 0xff],
        status: AccessKeyStatus::Active,
        user_name: user_name.to_owned(),
        creation_date,
    }
}

fn policy(name: &str, at: i64) -> (PolicyRecord, PolicyVersionRecord) {
    (
        PolicyRecord {
            policy_name: name.to_owned(),
            description: format!("policy {name}"),
            default_version: "v1".to_owned(),
            create_date: at,
            update_date: at,
        },
        PolicyVersionRecord {
            policy_name: name.to_owned(),
            version_id: "v1".to_owned(),
            document: format!("{{\"doc\":\"{name} v1\"}}"),
            create_date: at,
        },
    )
}

fn attachment(user: &str, policy_type: &str, policy_name: &str, at: i64) -> AttachmentRecord {
    AttachmentRecord {
        principal_type: PRINCIPAL_USER.to_owned(),
        principal_name: user.to_owned(),
        policy_type: policy_type.to_owned(),
        policy_name: policy_name.to_owned(),
        attach_date: at,
    }
}

/// Users: create, read, keyset listing, update with rename (access keys and attachments move
/// along), delete; taken names and ids are refused, absent users are `NotFound`.
pub async fn users_lifecycle<S: KeyStore>(store: &S) -> StoreResult<()> {
    for (i, name) in ["carol", "alice", "bob"].iter().enumerate() {
        store
            .create_user(&sample_user(name, 1_000 + i as i64))
            .await?;
    }
    assert_eq!(
        store.get_user("alice").await?,
        Some(sample_user("alice", 1_001))
    );
    assert_eq!(
        store.get_user("Alice").await?,
        None,
        "names are case-sensitive"
    );
    let taken = store.create_user(&sample_user("alice", 5)).await.err();
    assert!(
        matches!(taken, Some(StoreError::AlreadyExists)),
        "{taken:?}"
    );
    let same_id = UserRecord {
        user_name: "dave".to_owned(),
        ..sample_user("alice", 5)
    };
    let taken = store.create_user(&same_id).await.err();
    assert!(
        matches!(taken, Some(StoreError::AlreadyExists)),
        "{taken:?}"
    );

    let names = |users: Vec<UserRecord>| -> Vec<String> {
        users.into_iter().map(|u| u.user_name).collect()
    };
    assert_eq!(
        names(store.list_users(None, 10).await?),
        ["alice", "bob", "carol"]
    );
    assert_eq!(names(store.list_users(None, 2).await?), ["alice", "bob"]);
    assert_eq!(names(store.list_users(Some("bob"), 2).await?), ["carol"]);
    assert!(store.list_users(Some("carol"), 2).await?.is_empty());

    store
        .create_access_key(&access_key("AK-bob", "bob", 10), 2)
        .await?;
    store
        .attach_policy(&attachment("bob", POLICY_SYSTEM, "AdministratorAccess", 11))
        .await?;
    let renamed = UserRecord {
        user_name: "robert".to_owned(),
        display_name: "Robert".to_owned(),
        update_date: 2_000,
        ..sample_user("bob", 1_002)
    };
    store.update_user("bob", &renamed).await?;
    assert_eq!(store.get_user("bob").await?, None);
    assert_eq!(store.get_user("robert").await?, Some(renamed.clone()));
    assert_eq!(
        store.get_access_key("AK-bob").await?.map(|k| k.user_name),
        Some("robert".to_owned()),
        "access keys move with a rename"
    );
    assert_eq!(
        store
            .list_attachments(PRINCIPAL_USER, "robert")
            .await?
            .len(),
        1
    );
    assert!(
        store
            .list_attachments(PRINCIPAL_USER, "bob")
            .await?
            .is_empty()
    );
    let e = store.update_user("bob", &renamed).await.err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");
    let onto_alice = UserRecord {
        user_name: "alice".to_owned(),
        ..renamed.clone()
    };
    let e = store.update_user("robert", &onto_alice).await.err();
    assert!(matches!(e, Some(StoreError::AlreadyExists)), "{e:?}");
    assert_eq!(store.get_user("robert").await?, Some(renamed), "unchanged");

    let e = store.delete_user("robert").await.err();
    assert!(matches!(e, Some(StoreError::Conflict)), "{e:?}");
    store.delete_access_key("AK-bob").await?;
    let e = store.delete_user("robert").await.err();
    assert!(matches!(e, Some(StoreError::Conflict)), "{e:?}");
    store
        .detach_policy(
            PRINCIPAL_USER,
            "robert",
            POLICY_SYSTEM,
            "AdministratorAccess",
        )
        .await?;
    store.delete_user("robert").await?;
    assert_eq!(store.get_user("robert").await?, None);
    let e = store.delete_user("robert").await.err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");
    Ok(())
}

/// Access keys by user: the per-user limit, listing oldest first, status changes, deletion.
pub async fn access_keys_by_user<S: KeyStore>(store: &S) -> StoreResult<()> {
    store.create_user(&sample_user("alice", 1)).await?;
    store.create_user(&sample_user("bob", 1)).await?;
    let e = store
        .create_access_key(&access_key("AK-x", "nobody", 5), 2)
        .await
        .err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");
    store
        .create_access_key(&access_key("AK-2", "alice", 20), 2)
        .await?;
    store
        .create_access_key(&access_key("AK-1", "alice", 10), 2)
        .await?;
    let e = store
        .create_access_key(&access_key("AK-3", "alice", 30), 2)
        .await
        .err();
    assert!(matches!(e, Some(StoreError::LimitExceeded)), "{e:?}");
    let e = store
        .create_access_key(&access_key("AK-1", "bob", 30), 2)
        .await
        .err();
    assert!(matches!(e, Some(StoreError::AlreadyExists)), "{e:?}");
    store
        .create_access_key(&access_key("AK-b", "bob", 30), 2)
        .await?;
    let ids = |keys: Vec<AccessKeyRecord>| -> Vec<String> {
        keys.into_iter().map(|k| k.access_key_id).collect()
    };
    assert_eq!(
        ids(store.list_access_keys("alice").await?),
        ["AK-1", "AK-2"]
    );
    assert_eq!(ids(store.list_access_keys("bob").await?), ["AK-b"]);
    assert!(store.list_access_keys("nobody").await?.is_empty());

    store
        .set_access_key_status("AK-1", AccessKeyStatus::Inactive)
        .await?;
    assert_eq!(
        store.get_access_key("AK-1").await?.map(|k| k.status),
        Some(AccessKeyStatus::Inactive)
    );
    let e = store
        .set_access_key_status("AK-none", AccessKeyStatus::Active)
        .await
        .err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");
    store.delete_access_key("AK-1").await?;
    assert_eq!(store.get_access_key("AK-1").await?, None);
    let e = store.delete_access_key("AK-1").await.err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");
    store
        .create_access_key(&access_key("AK-3", "alice", 30), 2)
        .await?;
    Ok(())
}

/// Custom policies and versions: numbering that never reuses an id, the version limit with and
/// without rotation, default versions, deleting versions and policies.
pub async fn policies_and_versions<S: KeyStore>(store: &S) -> StoreResult<()> {
    let (p, v1) = policy("ReadOnly", 100);
    store.create_policy(&p, &v1).await?;
    assert_eq!(store.get_policy("ReadOnly").await?, Some(p.clone()));
    let e = store.create_policy(&p, &v1).await.err();
    assert!(matches!(e, Some(StoreError::AlreadyExists)), "{e:?}");
    let (q, qv1) = policy("Alpha", 50);
    store.create_policy(&q, &qv1).await?;
    let names =
        |ps: Vec<PolicyRecord>| -> Vec<String> { ps.into_iter().map(|p| p.policy_name).collect() };
    assert_eq!(
        names(store.list_policies(None, 10).await?),
        ["Alpha", "ReadOnly"]
    );
    assert_eq!(
        names(store.list_policies(Some("Alpha"), 10).await?),
        ["ReadOnly"]
    );

    let keep = VersionOptions {
        set_default: false,
        rotate: false,
        max_versions: 3,
    };
    let v2 = store
        .add_policy_version("ReadOnly", "doc2", 200, keep)
        .await?;
    assert_eq!(
        (v2.version_id.as_str(), v2.document.as_str()),
        ("v2", "doc2")
    );
    assert_eq!(
        store
            .get_policy("ReadOnly")
            .await?
            .map(|p| p.default_version),
        Some("v1".into())
    );
    let v3 = store
        .add_policy_version(
            "ReadOnly",
            "doc3",
            300,
            VersionOptions {
                set_default: true,
                ..keep
            },
        )
        .await?;
    let now = store
        .get_policy("ReadOnly")
        .await?
        .ok_or(StoreError::NotFound)?;
    assert_eq!((now.default_version.as_str(), now.update_date), ("v3", 300));
    assert_eq!(store.get_policy_version("ReadOnly", "v3").await?, Some(v3));
    assert_eq!(store.get_policy_version("ReadOnly", "v9").await?, None);

    let e = store
        .add_policy_version("ReadOnly", "doc4", 400, keep)
        .await
        .err();
    assert!(matches!(e, Some(StoreError::LimitExceeded)), "{e:?}");
    let rotated = store
        .add_policy_version(
            "ReadOnly",
            "doc4",
            400,
            VersionOptions {
                rotate: true,
                ..keep
            },
        )
        .await?;
    assert_eq!(rotated.version_id, "v4");
    let ids = |vs: Vec<PolicyVersionRecord>| -> Vec<String> {
        vs.into_iter().map(|v| v.version_id).collect()
    };
    assert_eq!(
        ids(store.list_policy_versions("ReadOnly").await?),
        ["v2", "v3", "v4"],
        "the oldest non-default version went"
    );
    let e = store.delete_policy_version("ReadOnly", "v3").await.err();
    assert!(matches!(e, Some(StoreError::Conflict)), "{e:?}");
    store.delete_policy_version("ReadOnly", "v2").await?;
    let e = store.delete_policy_version("ReadOnly", "v2").await.err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");
    let v5 = store
        .add_policy_version("ReadOnly", "doc5", 500, keep)
        .await?;
    assert_eq!(v5.version_id, "v5", "ids are never reused");

    store
        .set_default_policy_version("ReadOnly", "v5", 600)
        .await?;
    let now = store
        .get_policy("ReadOnly")
        .await?
        .ok_or(StoreError::NotFound)?;
    assert_eq!((now.default_version.as_str(), now.update_date), ("v5", 600));
    let e = store
        .set_default_policy_version("ReadOnly", "v2", 1)
        .await
        .err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");
    let e = store
        .set_default_policy_version("Nope", "v1", 1)
        .await
        .err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");
    let e = store.add_policy_version("Nope", "d", 1, keep).await.err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");

    let e = store.delete_policy("ReadOnly", false).await.err();
    assert!(matches!(e, Some(StoreError::Conflict)), "{e:?}");
    store.delete_policy("Alpha", false).await?;
    store.delete_policy("ReadOnly", true).await?;
    assert_eq!(store.get_policy("ReadOnly").await?, None);
    assert!(store.list_policy_versions("ReadOnly").await?.is_empty());
    let e = store.delete_policy("ReadOnly", true).await.err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");
    let (again, again_v1) = policy("ReadOnly", 700);
    store.create_policy(&again, &again_v1).await?;
    assert_eq!(
        ids(store.list_policy_versions("ReadOnly").await?),
        ["v1"],
        "a re-created policy starts over"
    );
    Ok(())
}

/// Attachments: attach (principal and custom policy must exist), list, count, detach; a
/// policy in use cannot be deleted without cascade, which removes its attachments.
pub async fn attachments_lifecycle<S: KeyStore>(store: &S) -> StoreResult<()> {
    store.create_user(&sample_user("alice", 1)).await?;
    store.create_user(&sample_user("bob", 1)).await?;
    let (p, v1) = policy("Custom1", 5);
    store.create_policy(&p, &v1).await?;
    store
        .attach_policy(&attachment("alice", POLICY_CUSTOM, "Custom1", 20))
        .await?;
    store
        .attach_policy(&attachment(
            "alice",
            POLICY_SYSTEM,
            "AliyunKMSFullAccess",
            10,
        ))
        .await?;
    store
        .attach_policy(&attachment("bob", POLICY_CUSTOM, "Custom1", 30))
        .await?;
    let e = store
        .attach_policy(&attachment("alice", POLICY_CUSTOM, "Custom1", 40))
        .await
        .err();
    assert!(matches!(e, Some(StoreError::AlreadyExists)), "{e:?}");
    let e = store
        .attach_policy(&attachment("nobody", POLICY_SYSTEM, "X", 40))
        .await
        .err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");
    let e = store
        .attach_policy(&attachment("alice", POLICY_CUSTOM, "Absent", 40))
        .await
        .err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");

    let of_alice = store.list_attachments(PRINCIPAL_USER, "alice").await?;
    assert_eq!(
        of_alice,
        vec![
            attachment("alice", POLICY_SYSTEM, "AliyunKMSFullAccess", 10),
            attachment("alice", POLICY_CUSTOM, "Custom1", 20),
        ]
    );
    assert_eq!(store.count_attachments(POLICY_CUSTOM, "Custom1").await?, 2);
    assert_eq!(store.count_attachments(POLICY_SYSTEM, "Custom1").await?, 0);
    assert_eq!(
        store
            .count_attachments(POLICY_SYSTEM, "AliyunKMSFullAccess")
            .await?,
        1
    );

    let e = store.delete_policy("Custom1", false).await.err();
    assert!(matches!(e, Some(StoreError::Conflict)), "{e:?}");
    store
        .detach_policy(PRINCIPAL_USER, "bob", POLICY_CUSTOM, "Custom1")
        .await?;
    let e = store
        .detach_policy(PRINCIPAL_USER, "bob", POLICY_CUSTOM, "Custom1")
        .await
        .err();
    assert!(matches!(e, Some(StoreError::NotFound)), "{e:?}");
    store.delete_policy("Custom1", true).await?;
    assert_eq!(
        store.list_attachments(PRINCIPAL_USER, "alice").await?,
        vec![attachment(
            "alice",
            POLICY_SYSTEM,
            "AliyunKMSFullAccess",
            10
        )],
        "cascade removed the attachment"
    );
    assert_eq!(store.count_attachments(POLICY_CUSTOM, "Custom1").await?, 0);
    Ok(())
}

/// The installation's identity: absent at first, recorded once; a second initialization
/// (another server racing the first) gets the first record back and changes nothing.
pub async fn instance_is_recorded_once<S: KeyStore>(store: &S) -> StoreResult<()> {
    assert_eq!(store.instance().await?, None);
    let first = crate::InstanceRecord {
        account_id: "1234567890123456".to_owned(),
        region_id: "local".to_owned(),
        root_key_check: vec![7; 32],
        created_ms: 1_700_000_000_000,
    };
    assert_eq!(store.init_instance(&first).await?, first);
    let second = crate::InstanceRecord {
        account_id: "6543210987654321".to_owned(),
        region_id: "elsewhere".to_owned(),
        root_key_check: vec![8; 32],
        created_ms: 1_800_000_000_000,
    };
    assert_eq!(store.init_instance(&second).await?, first);
    assert_eq!(store.instance().await?, Some(first));
    Ok(())
}
