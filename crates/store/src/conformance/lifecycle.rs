//! Conformance checks for the key lifecycle: rotation and destruction (atomic, compare-and-set,
//! exactly one winner under concurrency), the due-work queries of the scheduler, ListKeys
//! filters, and tag listing across keys.

use std::collections::HashSet;
use std::sync::Arc;

use keywarden_core::model::{AutomaticRotation, KeySpec, KeyState, KeyUsage, ProtectionLevel};
use tokio::task::JoinSet;

use super::{ALL, alias, collect_pages, create_sample, join_all, sample_key, sample_version, tag};
use crate::{
    KeyFilter, KeyRecord, KeyStore, KeyTag, StoreError, StoreResult, TagCursor, TagMatch, TagQuery,
};

/// Creates `sample_key(key_id)` changed by `edit`, with its first version.
async fn create_with<S: KeyStore>(
    store: &S,
    key_id: &str,
    creation_date: i64,
    edit: impl FnOnce(&mut KeyRecord),
) -> StoreResult<KeyRecord> {
    let mut key = sample_key(key_id, creation_date);
    edit(&mut key);
    let first = sample_version(key_id, &key.primary_version_id, creation_date);
    store.create_key(&key, &first).await?;
    Ok(key)
}

/// `key` as a rotation to `version_id` at `date` would leave it.
fn rotated(key: &KeyRecord, version_id: &str, date: i64) -> KeyRecord {
    KeyRecord {
        primary_version_id: version_id.to_owned(),
        last_rotation_date: date,
        next_rotation_date: Some(date + 86_400),
        ..key.clone()
    }
}

/// `rotate_key` adds the version and moves the key row on together; every refusal (stale or
/// future revision, absent key, taken version id, version of another key) changes nothing.
pub async fn rotate_key_is_atomic_compare_and_set<S: KeyStore>(store: &S) -> StoreResult<()> {
    let key = create_sample(store, "key-a", 1_000).await?;
    let v2 = sample_version("key-a", "key-a-v2", 2_000);
    store
        .rotate_key(&rotated(&key, "key-a-v2", 2_000), &v2)
        .await?;
    let after = KeyRecord {
        revision: 1,
        ..rotated(&key, "key-a-v2", 2_000)
    };
    assert_eq!(
        store.get_key("key-a").await?,
        Some(after.clone()),
        "row moved on"
    );
    assert_eq!(
        store.get_version("key-a-v2").await?,
        Some(v2),
        "version added"
    );

    let stale = store
        .rotate_key(
            &rotated(&key, "key-a-v3", 3_000),
            &sample_version("key-a", "key-a-v3", 3_000),
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict)),
        "stale: {stale:?}"
    );
    assert_eq!(
        store.get_version("key-a-v3").await?,
        None,
        "conflict rolled back version"
    );

    let taken = store
        .rotate_key(
            &rotated(&after, "key-a-v1", 3_000),
            &sample_version("key-a", "key-a-v1", 3_000),
        )
        .await;
    assert!(
        matches!(taken, Err(StoreError::AlreadyExists)),
        "taken: {taken:?}"
    );
    assert_eq!(
        store.get_key("key-a").await?,
        Some(after.clone()),
        "taken id rolled back row"
    );

    create_sample(store, "key-b", 1_000).await?;
    let foreign = store
        .rotate_key(
            &rotated(&after, "key-b-v9", 3_000),
            &sample_version("key-b", "key-b-v9", 3_000),
        )
        .await;
    assert!(foreign.is_err(), "version of another key accepted");
    assert_eq!(
        store.get_key("key-a").await?,
        Some(after),
        "refusal changed row"
    );
    assert_eq!(store.get_version("key-b-v9").await?, None);

    let absent = sample_key("key-absent", 1_000);
    let result = store
        .rotate_key(&absent, &sample_version("key-absent", "v-x", 1_000))
        .await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "absent: {result:?}"
    );
    assert_eq!(store.get_version("v-x").await?, None);
    assert_eq!(store.list_versions("key-a", ALL).await?.total, 2);
    Ok(())
}

/// `destroy_key` removes the key, every version, its aliases and its tags, and nothing of other
/// keys; a stale revision is `Conflict` and changes nothing; a second destroy is `NotFound`.
pub async fn destroy_key_shreds_everything<S: KeyStore>(store: &S) -> StoreResult<()> {
    let key = create_sample(store, "key-a", 1_000).await?;
    let other = create_sample(store, "key-b", 1_000).await?;
    for v in ["key-a-v2", "key-a-v3"] {
        store
            .add_version(&sample_version("key-a", v, 2_000))
            .await?;
    }
    store.create_alias(&alias("alias/a1", "key-a")).await?;
    store.create_alias(&alias("alias/a2", "key-a")).await?;
    store.create_alias(&alias("alias/b1", "key-b")).await?;
    store
        .put_tags("key-a", &[tag("env", "prod"), tag("app", "x")])
        .await?;
    store.put_tags("key-b", &[tag("env", "prod")]).await?;
    store.update_key(&key).await?; // revision 0 -> 1

    let stale = store.destroy_key("key-a", 0).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict)),
        "stale: {stale:?}"
    );
    assert!(
        store.get_key("key-a").await?.is_some(),
        "conflict destroyed the key"
    );
    assert_eq!(store.list_versions("key-a", ALL).await?.total, 3);
    assert_eq!(store.list_tags("key-a").await?.len(), 2);

    store.destroy_key("key-a", 1).await?;
    assert_eq!(store.get_key("key-a").await?, None, "key row");
    for v in ["key-a-v1", "key-a-v2", "key-a-v3"] {
        assert_eq!(store.get_version(v).await?, None, "version {v} survived");
    }
    assert_eq!(store.list_versions("key-a", ALL).await?.total, 0);
    assert_eq!(store.get_alias("alias/a1").await?, None, "alias survived");
    assert_eq!(store.get_alias("alias/a2").await?, None, "alias survived");
    assert!(store.list_tags("key-a").await?.is_empty(), "tags survived");

    assert_eq!(store.get_key("key-b").await?, Some(other), "other key");
    assert!(
        store.get_version("key-b-v1").await?.is_some(),
        "other version"
    );
    assert!(store.get_alias("alias/b1").await?.is_some(), "other alias");
    assert_eq!(store.list_tags("key-b").await?, [tag("env", "prod")]);

    let again = store.destroy_key("key-a", 1).await;
    assert!(
        matches!(again, Err(StoreError::NotFound)),
        "again: {again:?}"
    );
    create_sample(store, "key-c", 1_000).await?;
    store.create_alias(&alias("alias/a1", "key-c")).await?;
    Ok(())
}

/// The scheduler's queries: due deletions are PendingDeletion keys whose date has come, due
/// rotations are Enabled keys with rotation Enabled whose date has come; both soonest first
/// and bounded by `limit`.
pub async fn due_work_is_found<S: KeyStore>(store: &S) -> StoreResult<()> {
    let pending = |date: i64| {
        move |k: &mut KeyRecord| {
            k.state = KeyState::PendingDeletion;
            k.delete_date = Some(date);
        }
    };
    create_with(store, "del-late", 1, pending(500)).await?;
    create_with(store, "del-early", 1, pending(100)).await?;
    create_with(store, "del-now", 1, pending(1_000)).await?;
    create_with(store, "del-future", 1, pending(1_001)).await?;
    // Enabled, with a stale delete date: not due for deletion.
    create_with(store, "enabled-with-date", 1, |k| k.delete_date = Some(10)).await?;

    let rotating = |state: KeyState, auto: AutomaticRotation, next: i64| {
        move |k: &mut KeyRecord| {
            k.state = state;
            k.automatic_rotation = auto;
            k.next_rotation_date = Some(next);
            k.delete_date = None;
        }
    };
    create_with(
        store,
        "rot-b",
        1,
        rotating(KeyState::Enabled, AutomaticRotation::Enabled, 900),
    )
    .await?;
    create_with(
        store,
        "rot-a",
        1,
        rotating(KeyState::Enabled, AutomaticRotation::Enabled, 200),
    )
    .await?;
    create_with(
        store,
        "rot-now",
        1,
        rotating(KeyState::Enabled, AutomaticRotation::Enabled, 1_000),
    )
    .await?;
    create_with(
        store,
        "rot-future",
        1,
        rotating(KeyState::Enabled, AutomaticRotation::Enabled, 1_001),
    )
    .await?;
    create_with(
        store,
        "rot-disabled-key",
        1,
        rotating(KeyState::Disabled, AutomaticRotation::Enabled, 5),
    )
    .await?;
    create_with(
        store,
        "rot-off",
        1,
        rotating(KeyState::Enabled, AutomaticRotation::Disabled, 5),
    )
    .await?;
    create_with(
        store,
        "rot-suspended",
        1,
        rotating(KeyState::Enabled, AutomaticRotation::Suspended, 5),
    )
    .await?;

    let ids =
        |keys: Vec<KeyRecord>| -> Vec<String> { keys.into_iter().map(|k| k.key_id).collect() };
    assert_eq!(
        ids(store.due_deletions(1_000, 10).await?),
        ["del-early", "del-late", "del-now"]
    );
    assert_eq!(
        ids(store.due_deletions(1_000, 2).await?),
        ["del-early", "del-late"]
    );
    assert!(store.due_deletions(99, 10).await?.is_empty());
    assert_eq!(
        ids(store.due_rotations(1_000, 10).await?),
        ["rot-a", "rot-b", "rot-now"]
    );
    assert_eq!(ids(store.due_rotations(1_000, 1).await?), ["rot-a"]);
    assert!(store.due_rotations(199, 10).await?.is_empty());
    let full = store.due_rotations(1_000, 10).await?;
    assert_eq!(
        full.first().map(|k| k.revision),
        Some(0),
        "due keys come with their revision"
    );
    Ok(())
}

/// ListKeys filters: AND across dimensions, OR within one, tags and aliases through their
/// tables; totals count the filtered keys and pages stay within the filter.
pub async fn list_keys_filters<S: KeyStore>(store: &S) -> StoreResult<()> {
    let shape = |state: KeyState, spec: KeySpec, level: ProtectionLevel| {
        move |k: &mut KeyRecord| {
            k.state = state;
            k.key_spec = spec;
            k.protection_level = level;
        }
    };
    create_with(
        store,
        "k1",
        1,
        shape(
            KeyState::Enabled,
            KeySpec::Aes256,
            ProtectionLevel::Software,
        ),
    )
    .await?;
    create_with(
        store,
        "k2",
        2,
        shape(
            KeyState::Disabled,
            KeySpec::Aes256,
            ProtectionLevel::Software,
        ),
    )
    .await?;
    create_with(
        store,
        "k3",
        3,
        shape(
            KeyState::PendingDeletion,
            KeySpec::Aes128,
            ProtectionLevel::Hsm,
        ),
    )
    .await?;
    create_with(store, "k4", 4, |k| {
        shape(
            KeyState::Enabled,
            KeySpec::Aes128,
            ProtectionLevel::Software,
        )(k);
        k.key_usage = KeyUsage::SignVerify;
        k.creator = "someone-else".into();
    })
    .await?;
    store
        .put_tags("k1", &[tag("env", "prod"), tag("team", "a")])
        .await?;
    store.put_tags("k2", &[tag("env", "dev")]).await?;
    store.put_tags("k3", &[tag("owner", "prod")]).await?;
    store.create_alias(&alias("alias/one", "k2")).await?;
    store.create_alias(&alias("alias/two", "k4")).await?;

    let cases: Vec<(KeyFilter, Vec<&str>)> = vec![
        (KeyFilter::default(), vec!["k1", "k2", "k3", "k4"]),
        (
            filter(|f| f.states = vec![KeyState::Enabled]),
            vec!["k1", "k4"],
        ),
        (
            filter(|f| f.states = vec![KeyState::Disabled, KeyState::PendingDeletion]),
            vec!["k2", "k3"],
        ),
        (
            filter(|f| {
                f.states = vec![KeyState::Enabled, KeyState::Disabled];
                f.specs = vec![KeySpec::Aes128];
            }),
            vec!["k4"],
        ),
        (
            filter(|f| f.usages = vec![KeyUsage::SignVerify]),
            vec!["k4"],
        ),
        (
            filter(|f| f.protection_levels = vec![ProtectionLevel::Hsm]),
            vec!["k3"],
        ),
        (
            filter(|f| f.creators = strings(&["someone-else"])),
            vec!["k4"],
        ),
        (
            filter(|f| f.key_ids = strings(&["k3", "k1", "absent"])),
            vec!["k1", "k3"],
        ),
        (
            filter(|f| f.alias_names = strings(&["alias/two", "alias/x"])),
            vec!["k4"],
        ),
        (filter(|f| f.tag_keys = strings(&["env"])), vec!["k1", "k2"]),
        (
            filter(|f| f.tag_values = strings(&["prod"])),
            vec!["k1", "k3"],
        ),
        (
            filter(|f| {
                f.tag_keys = strings(&["env"]);
                f.tag_values = strings(&["prod"]);
            }),
            vec!["k1"],
        ),
        (filter(|f| f.states = vec![KeyState::PendingImport]), vec![]),
        (filter(|f| f.tag_keys = strings(&["absent"])), vec![]),
    ];
    for (f, expected) in cases {
        let listed = store.list_keys(&f, ALL).await?;
        let ids: Vec<&str> = listed.items.iter().map(|k| k.key_id.as_str()).collect();
        assert_eq!(ids, expected, "{f:?}");
        assert_eq!(listed.total, expected.len() as u64, "total of {f:?}");
    }

    let two_states = filter(|f| f.states = vec![KeyState::Enabled, KeyState::Disabled]);
    let pages = collect_pages(1, |page| store.list_keys(&two_states, page)).await?;
    let ids: Vec<&str> = pages.items.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(ids, ["k1", "k2", "k4"], "pages of one");
    assert!(
        pages.totals.iter().all(|&t| t == 3),
        "totals {:?}",
        pages.totals
    );
    Ok(())
}

/// Tags across keys: by key ids, by tags (key, or key and value: keys carrying all of them,
/// only those tags), both, and keyset pages that concatenate to the full listing.
pub async fn tag_resources_listing<S: KeyStore>(store: &S) -> StoreResult<()> {
    for id in ["k1", "k2", "k3", "k4"] {
        create_sample(store, id, 1).await?;
    }
    store
        .put_tags("k1", &[tag("env", "prod"), tag("team", "a"), tag("x", "1")])
        .await?;
    store
        .put_tags("k2", &[tag("env", "dev"), tag("team", "a")])
        .await?;
    store.put_tags("k3", &[tag("env", "prod")]).await?;
    let rows = |list: Vec<KeyTag>| -> Vec<String> {
        list.into_iter()
            .map(|t| format!("{}:{}={}", t.key_id, t.tag_key, t.tag_value))
            .collect()
    };
    let everything = [
        "k1:env=prod",
        "k1:team=a",
        "k1:x=1",
        "k2:env=dev",
        "k2:team=a",
        "k3:env=prod",
    ];
    let all = store
        .list_tag_resources(&TagQuery::default(), None, 100)
        .await?;
    assert_eq!(rows(all), everything);

    let by_ids = TagQuery {
        key_ids: strings(&["k3", "k2", "k4"]),
        tags: vec![],
    };
    assert_eq!(
        rows(store.list_tag_resources(&by_ids, None, 100).await?),
        ["k2:env=dev", "k2:team=a", "k3:env=prod"]
    );
    let prod = TagQuery {
        key_ids: vec![],
        tags: vec![matching("env", Some("prod"))],
    };
    assert_eq!(
        rows(store.list_tag_resources(&prod, None, 100).await?),
        ["k1:env=prod", "k3:env=prod"]
    );
    let env_and_team = TagQuery {
        key_ids: vec![],
        tags: vec![matching("env", None), matching("team", Some("a"))],
    };
    assert_eq!(
        rows(store.list_tag_resources(&env_and_team, None, 100).await?),
        ["k1:env=prod", "k1:team=a", "k2:env=dev", "k2:team=a"]
    );
    let both = TagQuery {
        key_ids: strings(&["k2", "k3"]),
        tags: vec![matching("team", None)],
    };
    assert_eq!(
        rows(store.list_tag_resources(&both, None, 100).await?),
        ["k2:team=a"]
    );

    let mut pages = Vec::new();
    let mut cursor: Option<TagCursor> = None;
    loop {
        let page = store
            .list_tag_resources(&TagQuery::default(), cursor.as_ref(), 4)
            .await?;
        let full = page.len() == 4;
        cursor = page.last().map(|t| TagCursor {
            key_id: t.key_id.clone(),
            tag_key: t.tag_key.clone(),
        });
        pages.extend(rows(page));
        if !full || pages.len() > 100 {
            break;
        }
    }
    assert_eq!(pages, everything, "keyset pages concatenate");
    let past = TagCursor {
        key_id: "k3".into(),
        tag_key: "env".into(),
    };
    assert!(
        store
            .list_tag_resources(&TagQuery::default(), Some(&past), 4)
            .await?
            .is_empty()
    );
    Ok(())
}

/// Many tasks destroy one key from the same revision: exactly one succeeds; the others see
/// `NotFound` (already gone) or `Conflict`, never another error.
pub async fn concurrent_destroys_have_one_winner<S: KeyStore>(store: Arc<S>) -> StoreResult<()> {
    const TASKS: usize = 16;
    let key = create_sample(&*store, "key-a", 1_000).await?;
    store.create_alias(&alias("alias/a", "key-a")).await?;
    let mut tasks = JoinSet::new();
    for i in 0..TASKS {
        let store = Arc::clone(&store);
        let revision = key.revision;
        tasks.spawn(async move { (i, store.destroy_key("key-a", revision).await) });
    }
    let mut winners = Vec::new();
    for (i, result) in join_all(tasks).await? {
        match result {
            Ok(()) => winners.push(i),
            Err(StoreError::NotFound | StoreError::Conflict) => {}
            Err(other) => return Err(other),
        }
    }
    assert_eq!(winners.len(), 1, "winners {winners:?}");
    assert_eq!(store.get_key("key-a").await?, None);
    assert_eq!(store.get_alias("alias/a").await?, None);
    Ok(())
}

/// Many tasks rotate one key from the same revision, each with its own new version: exactly
/// one succeeds, and only the winner's version exists.
pub async fn concurrent_rotations_have_one_winner<S: KeyStore>(store: Arc<S>) -> StoreResult<()> {
    const TASKS: usize = 16;
    let key = create_sample(&*store, "key-a", 1_000).await?;
    let mut tasks = JoinSet::new();
    for i in 0..TASKS {
        let (store, key) = (Arc::clone(&store), key.clone());
        tasks.spawn(async move {
            let version_id = format!("key-a-r{i:02}");
            let version = sample_version("key-a", &version_id, 2_000);
            (
                i,
                store
                    .rotate_key(&rotated(&key, &version_id, 2_000), &version)
                    .await,
            )
        });
    }
    let mut winners = Vec::new();
    for (i, result) in join_all(tasks).await? {
        match result {
            Ok(()) => winners.push(i),
            Err(StoreError::Conflict) => {}
            Err(other) => return Err(other),
        }
    }
    assert_eq!(winners.len(), 1, "winners {winners:?}");
    let winner = winners.first().map(|i| format!("key-a-r{i:02}"));
    let stored = store.get_key("key-a").await?;
    assert_eq!(
        stored.map(|k| (k.primary_version_id, k.revision)),
        winner.clone().map(|w| (w, 1))
    );
    let versions = store.list_versions("key-a", ALL).await?;
    let ids: HashSet<String> = versions.items.into_iter().map(|v| v.version_id).collect();
    let expected: HashSet<String> = ["key-a-v1".to_owned()].into_iter().chain(winner).collect();
    assert_eq!(ids, expected, "only the winner's version landed");
    Ok(())
}

fn filter(edit: impl FnOnce(&mut KeyFilter)) -> KeyFilter {
    let mut f = KeyFilter::default();
    edit(&mut f);
    f
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

fn matching(tag_key: &str, tag_value: Option<&str>) -> TagMatch {
    TagMatch {
        tag_key: tag_key.to_owned(),
        tag_value: tag_value.map(str::to_owned),
    }
}
