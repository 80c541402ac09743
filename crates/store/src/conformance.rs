//! The conformance suite: what every [`KeyStore`] backend must do, checked the same way for all.
//!
//! [`run_all`] runs every check, each against a fresh, empty store from the caller's factory, so a
//! new backend (PostgreSQL, ...) proves itself by calling it from one test. The checks are also
//! public one by one, for backends that want one test per check.
//!
//! A check returns `Err` when the store fails where it should have succeeded, and fails an
//! assertion when the store succeeds where it should not, or returns the wrong rows. Every check
//! covers the refusals (`NotFound`, `AlreadyExists`, `Conflict`) as well as the happy path.
//! The concurrency checks spawn tasks, so run them on a multi-threaded tokio runtime.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;

use keywarden_core::model::{
    AccessKeyStatus, AutomaticRotation, KeySpec, KeyState, KeyUsage, Origin, ProtectionLevel,
};
use tokio::task::JoinSet;

mod audit;
mod identity;
mod key_policies;
mod lifecycle;
mod versions_aliases;
mod wire_values;

pub use self::audit::{
    audit_append_list_and_head, audit_prune_keeps_a_verifiable_rest,
    audit_strings_round_trip_whatever_they_hold, concurrent_audit_appends_form_one_chain,
    large_audit_batches_round_trip, sample_audit_record,
};
pub use self::identity::{
    access_keys_by_user, attachments_lifecycle, instance_is_recorded_once, policies_and_versions,
    sample_user, users_lifecycle,
};
pub use self::key_policies::key_policies_lifecycle;
pub use self::lifecycle::{
    concurrent_destroys_have_one_winner, concurrent_rotations_have_one_winner,
    destroy_key_shreds_everything, due_work_is_found, list_keys_filters,
    rotate_key_is_atomic_compare_and_set, tag_resources_listing,
};
pub use self::versions_aliases::{
    alias_errors, alias_lifecycle, alias_listing, version_errors, versions_add_get_and_list,
};
pub use self::wire_values::every_enum_value_round_trips;

use crate::{
    AccessKeyRecord, AliasRecord, KeyFilter, KeyRecord, KeyStore, Page, Paged, StoreError,
    StoreResult, TagRecord, VersionRecord,
};

/// Calls macro `$m` with the name of every check that takes the store by reference, so that
/// [`run_all`] and the backends' one-test-per-check files list the same checks.
#[macro_export]
macro_rules! store_checks {
    ($m:ident) => {
        $m!(
            key_round_trip,
            every_enum_value_round_trips,
            duplicate_key_is_refused,
            update_key_is_compare_and_set,
            versions_add_get_and_list,
            version_errors,
            alias_lifecycle,
            alias_errors,
            alias_listing,
            tags_put_replace_delete,
            access_keys_upsert,
            nonces_refuse_replays,
            nonces_expire,
            list_keys_pages,
            rotate_key_is_atomic_compare_and_set,
            destroy_key_shreds_everything,
            due_work_is_found,
            list_keys_filters,
            tag_resources_listing,
            users_lifecycle,
            access_keys_by_user,
            policies_and_versions,
            attachments_lifecycle,
            instance_is_recorded_once,
            key_policies_lifecycle,
            audit_append_list_and_head,
            large_audit_batches_round_trip,
            audit_prune_keeps_a_verifiable_rest,
            audit_strings_round_trip_whatever_they_hold,
        );
    };
}

/// Calls macro `$m` with the name of every check that takes the store shared (`Arc<S>`): the
/// concurrency checks.
#[macro_export]
macro_rules! concurrent_store_checks {
    ($m:ident) => {
        $m!(
            concurrent_updates_have_one_winner,
            concurrent_creates_all_land,
            concurrent_destroys_have_one_winner,
            concurrent_rotations_have_one_winner,
            concurrent_audit_appends_form_one_chain,
        );
    };
}

/// A page large enough for every list in this suite.
pub(crate) const ALL: Page = Page {
    offset: 0,
    limit: 1_000,
};

/// A check that hit an unexpected store error (or whose store could not be made).
#[derive(Debug, thiserror::Error)]
#[error("conformance check `{check}` failed: {source}")]
pub struct CheckFailed {
    /// The check's function name.
    pub check: &'static str,
    /// The unexpected error.
    #[source]
    pub source: StoreError,
}

/// Runs every check, each on a fresh empty store made by `make`. Stops at the first failure.
pub async fn run_all<S, F, Fut>(make: F) -> Result<(), CheckFailed>
where
    S: KeyStore,
    F: Fn() -> Fut,
    Fut: Future<Output = StoreResult<S>>,
{
    /// Runs one check on a fresh store, naming the check in its error.
    macro_rules! check {
        ($name:ident($store:ident => $arg:expr)) => {{
            let failed = |source| CheckFailed {
                check: stringify!($name),
                source,
            };
            let $store = Arc::new(make().await.map_err(failed)?);
            $name($arg).await.map_err(failed)?;
        }};
    }
    /// Runs each named check with the store by reference.
    macro_rules! by_ref {
        ($($check:ident),* $(,)?) => {$( check!($check(s => &*s)); )*};
    }
    /// Runs each named check with the store shared (`Arc`), for checks that spawn tasks.
    macro_rules! shared {
        ($($check:ident),* $(,)?) => {$( check!($check(s => s)); )*};
    }
    crate::store_checks!(by_ref);
    crate::concurrent_store_checks!(shared);
    Ok(())
}

/// A key with every field set, revision 0.
pub fn sample_key(key_id: &str, creation_date: i64) -> KeyRecord {
    KeyRecord {
        key_id: key_id.to_owned(),
        description: format!("key {key_id} — ünïcode ok"),
        key_spec: KeySpec::Aes256,
        key_usage: KeyUsage::EncryptDecrypt,
        origin: Origin::AliyunKms,
        protection_level: ProtectionLevel::Software,
        state: KeyState::Enabled,
        creator: "1234567890".to_owned(),
        creation_date,
        primary_version_id: format!("{key_id}-v1"),
        last_rotation_date: creation_date,
        automatic_rotation: AutomaticRotation::Enabled,
        rotation_interval: Some(31_536_000),
        next_rotation_date: Some(creation_date + 31_536_000),
        delete_date: Some(creation_date + 7 * 86_400),
        deletion_protection: true,
        deletion_protection_description: "production".to_owned(),
        material_expire_time: Some(creation_date + 1),
        revision: 0,
    }
}

/// A version whose material holds zero and non-UTF-8 bytes.
pub fn sample_version(key_id: &str, version_id: &str, creation_date: i64) -> VersionRecord {
    let mut sealed_material = vec![0, 0xff, 0x80, 0];
    sealed_material.extend_from_slice(version_id.as_bytes());
    VersionRecord {
        key_id: key_id.to_owned(),
        version_id: version_id.to_owned(),
        creation_date,
        sealed_material,
    }
}

/// Creates `sample_key(key_id)` with its first version `{key_id}-v1`.
pub(crate) async fn create_sample<S: KeyStore>(
    store: &S,
    key_id: &str,
    creation_date: i64,
) -> StoreResult<KeyRecord> {
    let key = sample_key(key_id, creation_date);
    let first = sample_version(key_id, &key.primary_version_id, creation_date);
    store.create_key(&key, &first).await?;
    Ok(key)
}

/// A key and its first version come back exactly as stored; absent ids are `None`.
pub async fn key_round_trip<S: KeyStore>(store: &S) -> StoreResult<()> {
    let key = sample_key("key-a", 1_000);
    let first = sample_version("key-a", "key-a-v1", 1_000);
    store.create_key(&key, &first).await?;
    assert_eq!(
        store.get_key("key-a").await?,
        Some(key),
        "get_key after create_key"
    );
    assert_eq!(store.get_version("key-a-v1").await?, Some(first.clone()));
    let listed = store.list_versions("key-a", ALL).await?;
    assert_eq!(
        listed,
        Paged {
            items: vec![first],
            total: 1
        },
        "first version listed"
    );
    assert_eq!(store.get_key("key-absent").await?, None);
    assert_eq!(store.get_version("version-absent").await?, None);

    let bare = KeyRecord {
        description: String::new(),
        rotation_interval: None,
        next_rotation_date: None,
        delete_date: None,
        deletion_protection: false,
        deletion_protection_description: String::new(),
        material_expire_time: None,
        ..sample_key("key-bare", 1_001)
    };
    let empty_material = VersionRecord {
        sealed_material: Vec::new(),
        ..sample_version("key-bare", "key-bare-v1", 1_001)
    };
    store.create_key(&bare, &empty_material).await?;
    assert_eq!(
        store.get_key("key-bare").await?,
        Some(bare),
        "empty options round-trip"
    );
    assert_eq!(
        store.get_version("key-bare-v1").await?,
        Some(empty_material)
    );
    Ok(())
}

/// A taken key id, or a taken first version id, is `AlreadyExists` and changes nothing.
pub async fn duplicate_key_is_refused<S: KeyStore>(store: &S) -> StoreResult<()> {
    let original = create_sample(store, "key-a", 1_000).await?;
    let again = KeyRecord {
        description: "second".to_owned(),
        ..original.clone()
    };
    let result = store
        .create_key(&again, &sample_version("key-a", "key-a-other", 2_000))
        .await;
    assert!(
        matches!(result, Err(StoreError::AlreadyExists)),
        "duplicate key id: {result:?}"
    );
    assert_eq!(
        store.get_key("key-a").await?,
        Some(original),
        "original key kept"
    );
    assert_eq!(
        store.get_version("key-a-other").await?,
        None,
        "refused create wrote a version"
    );

    let reused = store
        .create_key(
            &sample_key("key-b", 3_000),
            &sample_version("key-b", "key-a-v1", 3_000),
        )
        .await;
    assert!(
        matches!(reused, Err(StoreError::AlreadyExists)),
        "taken version id: {reused:?}"
    );
    assert_eq!(
        store.get_key("key-b").await?,
        None,
        "create_key is not atomic"
    );
    assert_eq!(store.list_keys(&KeyFilter::default(), ALL).await?.total, 1);
    Ok(())
}

/// `update_key` stores `revision + 1` when the revision matches; otherwise `Conflict`, or
/// `NotFound` for an absent key, and the row is unchanged.
pub async fn update_key_is_compare_and_set<S: KeyStore>(store: &S) -> StoreResult<()> {
    let created = create_sample(store, "key-a", 1_000).await?;
    let changed = KeyRecord {
        description: "rotated".to_owned(),
        state: KeyState::Disabled,
        primary_version_id: "key-a-v2".to_owned(),
        rotation_interval: None,
        delete_date: None,
        deletion_protection: false,
        ..created.clone()
    };
    store.update_key(&changed).await?;
    let stored = KeyRecord {
        revision: 1,
        ..changed.clone()
    };
    assert_eq!(
        store.get_key("key-a").await?,
        Some(stored.clone()),
        "update stored revision + 1"
    );

    let stale = KeyRecord {
        description: "stale".to_owned(),
        ..changed
    };
    let result = store.update_key(&stale).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "stale revision: {result:?}"
    );
    let ahead = KeyRecord {
        revision: 7,
        ..stale.clone()
    };
    let result = store.update_key(&ahead).await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "future revision: {result:?}"
    );
    assert_eq!(
        store.get_key("key-a").await?,
        Some(stored.clone()),
        "refused update changed row"
    );

    let next = KeyRecord {
        description: "again".to_owned(),
        ..stored
    };
    store.update_key(&next).await?;
    let after = store.get_key("key-a").await?;
    assert_eq!(
        after.map(|k| (k.revision, k.description)),
        Some((2, "again".to_owned()))
    );

    let absent = sample_key("key-absent", 1_000);
    let result = store.update_key(&absent).await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "absent key: {result:?}"
    );
    assert_eq!(
        store.get_key("key-absent").await?,
        None,
        "update must not insert"
    );
    Ok(())
}

/// Tags upsert by tag key, list by tag key, delete ignoring absent keys; a missing key is
/// `NotFound`.
pub async fn tags_put_replace_delete<S: KeyStore>(store: &S) -> StoreResult<()> {
    create_sample(store, "key-1", 1_000).await?;
    create_sample(store, "key-2", 1_000).await?;
    store
        .put_tags("key-1", &[tag("env", "prod"), tag("app", "web")])
        .await?;
    assert_eq!(
        store.list_tags("key-1").await?,
        [tag("app", "web"), tag("env", "prod")]
    );

    store
        .put_tags("key-1", &[tag("env", "dev"), tag("team", "x")])
        .await?;
    let replaced = [tag("app", "web"), tag("env", "dev"), tag("team", "x")];
    assert_eq!(
        store.list_tags("key-1").await?,
        replaced,
        "replace one, add one, keep one"
    );
    store.put_tags("key-1", &[]).await?;
    assert_eq!(
        store.list_tags("key-1").await?,
        replaced,
        "empty put changes nothing"
    );

    store.put_tags("key-2", &[tag("env", "other")]).await?;
    assert_eq!(store.list_tags("key-2").await?, [tag("env", "other")]);
    assert_eq!(
        store.list_tags("key-1").await?,
        replaced,
        "tags are per key"
    );

    store
        .delete_tags("key-1", &["app".to_owned(), "absent".to_owned()])
        .await?;
    assert_eq!(
        store.list_tags("key-1").await?,
        [tag("env", "dev"), tag("team", "x")]
    );
    assert_eq!(
        store.list_tags("key-2").await?,
        [tag("env", "other")],
        "delete is per key"
    );

    let result = store.put_tags("key-absent", &[tag("env", "prod")]).await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "put, absent key: {result:?}"
    );
    let result = store.put_tags("key-absent", &[]).await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "empty put, absent key: {result:?}"
    );
    assert!(
        store.list_tags("key-absent").await?.is_empty(),
        "tags of an absent key"
    );
    Ok(())
}

/// Access keys insert, read back, and upsert (a second put changes status and secret).
pub async fn access_keys_upsert<S: KeyStore>(store: &S) -> StoreResult<()> {
    let active = AccessKeyRecord {
        access_key_id: "LTAIexample1".to_owned(),
        sealed_secret: vec![0, 1, 0xfe, 0xff],
        status: AccessKeyStatus::Active,
        user_name: "alice".to_owned(),
        creation_date: 1_000,
    };
    store.put_access_key(&active).await?;
    assert_eq!(
        store.get_access_key("LTAIexample1").await?,
        Some(active.clone())
    );
    assert_eq!(store.get_access_key("LTAIabsent").await?, None);

    let other = AccessKeyRecord {
        access_key_id: "LTAIexample2".to_owned(),
        ..active.clone()
    };
    store.put_access_key(&other).await?;
    let inactive = AccessKeyRecord {
        status: AccessKeyStatus::Inactive,
        sealed_secret: vec![9, 9, 9],
        ..active
    };
    store.put_access_key(&inactive).await?;
    assert_eq!(
        store.get_access_key("LTAIexample1").await?,
        Some(inactive),
        "upsert replaced"
    );
    assert_eq!(
        store.get_access_key("LTAIexample2").await?,
        Some(other),
        "other key untouched"
    );
    Ok(())
}

/// How long after its expiry a backend forgets a nonce at the latest, in seconds (the SQLite
/// window keeps whole 64-second slots, and one slot more for calls that read the clock early).
pub const NONCE_FORGET_WITHIN: i64 = 192;

/// The digest a server would remember for nonce `name` (any fixed 16 bytes per name).
fn nonce(name: &str) -> crate::NonceDigest {
    use std::hash::{Hash, Hasher};
    let mut out = [0u8; 16];
    for (half, chunk) in out.chunks_exact_mut(8).enumerate() {
        let mut h = std::hash::DefaultHasher::new();
        (name, half).hash(&mut h);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// A nonce is accepted once; a replay inside its window, its last second included, is refused.
pub async fn nonces_refuse_replays<S: KeyStore>(store: &S) -> StoreResult<()> {
    assert!(
        store.remember_nonce(&nonce("n-1"), 1_100, 1_000).await?,
        "first use"
    );
    assert!(
        !store.remember_nonce(&nonce("n-1"), 1_101, 1_001).await?,
        "replay"
    );
    assert!(
        !store.remember_nonce(&nonce("n-1"), 1_200, 1_099).await?,
        "replay before the end of the window"
    );
    assert!(
        !store.remember_nonce(&nonce("n-1"), 1_200, 1_100).await?,
        "replay in the last second of the window"
    );
    assert!(
        store.remember_nonce(&nonce("n-2"), 1_100, 1_001).await?,
        "another nonce"
    );
    for i in 0..5_000 {
        assert!(
            store
                .remember_nonce(&nonce(&format!("bulk-{i}")), 2_000, 1_500)
                .await?,
            "bulk {i}"
        );
    }
    for i in (0..5_000).step_by(97) {
        assert!(
            !store
                .remember_nonce(&nonce(&format!("bulk-{i}")), 2_000, 1_501)
                .await?,
            "bulk replay {i}"
        );
    }
    Ok(())
}

/// A nonce whose window has passed (by more than [`NONCE_FORGET_WITHIN`]) is accepted again,
/// and then refused again.
pub async fn nonces_expire<S: KeyStore>(store: &S) -> StoreResult<()> {
    let later = 1_100 + NONCE_FORGET_WITHIN + 1;
    assert!(store.remember_nonce(&nonce("n-1"), 1_100, 1_000).await?);
    assert!(
        store
            .remember_nonce(&nonce("n-1"), later + 200, later)
            .await?,
        "expired nonce accepted"
    );
    assert!(
        !store
            .remember_nonce(&nonce("n-1"), later + 300, later + 1)
            .await?,
        "renewed window refuses"
    );
    for i in 0..5_000 {
        assert!(
            store
                .remember_nonce(&nonce(&format!("bulk-{i}")), 2_000, 1_500)
                .await?
        );
    }
    for i in 0..5_000 {
        assert!(
            store
                .remember_nonce(&nonce(&format!("bulk-{i}")), 4_000, 3_000)
                .await?,
            "bulk {i}"
        );
    }
    Ok(())
}

/// 25 keys in pages of 10: 10, 10, 5, total 25 each time, no duplicates, by creation date then
/// id, the same order every time.
pub async fn list_keys_pages<S: KeyStore>(store: &S) -> StoreResult<()> {
    // Created out of order, with creation dates that tie, so both sort keys matter.
    let mut expected = Vec::new();
    for i in (0..25).map(|i| (i * 11) % 25) {
        expected.push(create_sample(store, &format!("key-{i:02}"), 1_000 + (i * 7) % 5).await?);
    }
    expected.sort_by(|a, b| (a.creation_date, &a.key_id).cmp(&(b.creation_date, &b.key_id)));

    let no_filter = KeyFilter::default();
    let pages = collect_pages(10, |page| store.list_keys(&no_filter, page)).await?;
    assert_eq!(pages.sizes, [10, 10, 5]);
    assert!(
        pages.totals.iter().all(|&t| t == 25),
        "totals {:?}",
        pages.totals
    );
    let unique: HashSet<&str> = pages.items.iter().map(|k| k.key_id.as_str()).collect();
    assert_eq!(unique.len(), 25, "duplicates across pages");
    assert_eq!(pages.items, expected, "creation date then key id");
    let again = collect_pages(10, |page| store.list_keys(&no_filter, page)).await?;
    assert_eq!(again.items, pages.items, "order is stable");

    let edges = [(25, 10), (0, 0), (u64::MAX, 10)];
    for (offset, limit) in edges {
        let empty = store
            .list_keys(&KeyFilter::default(), Page { offset, limit })
            .await?;
        assert_eq!(
            empty,
            Paged {
                items: vec![],
                total: 25
            },
            "offset {offset} limit {limit}"
        );
    }
    let huge = store
        .list_keys(
            &KeyFilter::default(),
            Page {
                offset: 0,
                limit: u64::MAX,
            },
        )
        .await?;
    assert_eq!(huge.items, expected, "limit u64::MAX means all");
    Ok(())
}

/// Many tasks update one key from the same revision: exactly one wins, the rest get `Conflict`.
pub async fn concurrent_updates_have_one_winner<S: KeyStore>(store: Arc<S>) -> StoreResult<()> {
    const WRITERS: usize = 16;
    let key = create_sample(&*store, "key-a", 1_000).await?;
    let mut tasks = JoinSet::new();
    for i in 0..WRITERS {
        let (store, key) = (Arc::clone(&store), key.clone());
        tasks.spawn(async move {
            let mine = KeyRecord {
                description: format!("writer {i}"),
                ..key
            };
            (i, store.update_key(&mine).await)
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
    let stored = store.get_key("key-a").await?;
    let expected = winners.first().map(|w| (1, format!("writer {w}")));
    assert_eq!(
        stored.map(|k| (k.revision, k.description)),
        expected,
        "the winner's row"
    );
    Ok(())
}

/// Several tasks create keys at once: every create lands and is immediately readable.
pub async fn concurrent_creates_all_land<S: KeyStore>(store: Arc<S>) -> StoreResult<()> {
    const TASKS: usize = 8;
    const PER_TASK: usize = 25;
    let mut tasks = JoinSet::new();
    for t in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            for n in 0..PER_TASK {
                let key_id = format!("key-t{t}-{n:02}");
                create_sample(&*store, &key_id, 1_000).await?;
                let readable = store.get_key(&key_id).await?.is_some();
                assert!(readable, "{key_id} not readable after create_key returned");
            }
            StoreResult::Ok(())
        });
    }
    for result in join_all(tasks).await? {
        result?;
    }
    let listed = store.list_keys(&KeyFilter::default(), ALL).await?;
    assert_eq!(listed.total, (TASKS * PER_TASK) as u64);
    assert_eq!(listed.items.len(), TASKS * PER_TASK);
    for key in &listed.items {
        let first = store.get_version(&key.primary_version_id).await?;
        assert_eq!(
            first.map(|v| v.key_id),
            Some(key.key_id.clone()),
            "first version landed"
        );
    }
    Ok(())
}

pub(crate) fn alias(alias_name: &str, key_id: &str) -> AliasRecord {
    AliasRecord {
        alias_name: alias_name.to_owned(),
        key_id: key_id.to_owned(),
        creation_date: 1_234,
    }
}

pub(crate) fn tag(tag_key: &str, tag_value: &str) -> TagRecord {
    TagRecord {
        tag_key: tag_key.to_owned(),
        tag_value: tag_value.to_owned(),
    }
}

/// Every page of a listing, read `size` rows at a time until a short page.
pub(crate) struct Pages<T> {
    pub(crate) items: Vec<T>,
    pub(crate) sizes: Vec<usize>,
    pub(crate) totals: Vec<u64>,
}

pub(crate) async fn collect_pages<T, F, Fut>(size: u64, mut list: F) -> StoreResult<Pages<T>>
where
    F: FnMut(Page) -> Fut,
    Fut: Future<Output = StoreResult<Paged<T>>>,
{
    let mut pages = Pages {
        items: Vec::new(),
        sizes: Vec::new(),
        totals: Vec::new(),
    };
    let mut offset = 0;
    loop {
        let page = list(Page {
            offset,
            limit: size,
        })
        .await?;
        let len = page.items.len();
        pages.sizes.push(len);
        pages.totals.push(page.total);
        pages.items.extend(page.items);
        offset += size;
        if (len as u64) < size || pages.sizes.len() > 1_000 {
            return Ok(pages);
        }
    }
}

/// Waits for every task. A task's panic (a failed assertion) is re-raised here; a task that was
/// cancelled is a backend failure.
pub(crate) async fn join_all<T: 'static>(mut tasks: JoinSet<T>) -> StoreResult<Vec<T>> {
    let mut outputs = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(output) => outputs.push(output),
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => return Err(StoreError::Backend(Box::new(error))),
        }
    }
    Ok(outputs)
}
