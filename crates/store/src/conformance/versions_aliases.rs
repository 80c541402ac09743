//! Conformance checks for key versions (one row each, found by version id alone, listed in
//! order and paged) and aliases (unique names, re-pointing, deletion, listing per key).

use super::*;

/// Versions are found by id alone and listed in the order they were added, in pages with a
/// total.
pub async fn versions_add_get_and_list<S: KeyStore>(store: &S) -> StoreResult<()> {
    let key = sample_key("key-a", 100);
    let first = sample_version("key-a", "v-100", 100);
    store.create_key(&key, &first).await?;
    let later = [
        ("v-300", 300),
        ("v-200-b", 200),
        ("v-200-a", 200),
        ("v-050", 50),
    ];
    for (version_id, date) in later {
        store
            .add_version(&sample_version("key-a", version_id, date))
            .await?;
    }
    create_sample(store, "key-b", 100).await?;
    store
        .add_version(&sample_version("key-b", "vb-2", 150))
        .await?;

    // The order of addition, whatever the creation dates say.
    let expected: Vec<VersionRecord> = [("v-100", 100), ("v-300", 300), ("v-200-b", 200)]
        .into_iter()
        .chain([("v-200-a", 200), ("v-050", 50)])
        .map(|(id, date)| sample_version("key-a", id, date))
        .collect();
    let listed = store.list_versions("key-a", ALL).await?;
    assert_eq!(
        listed,
        Paged {
            items: expected.clone(),
            total: 5
        },
        "order of addition and total"
    );
    let pages = collect_pages(2, |page| store.list_versions("key-a", page)).await?;
    assert_eq!(pages.sizes, [2, 2, 1], "pages of two");
    assert_eq!(pages.items, expected, "pages concatenate to the full list");
    assert!(
        pages.totals.iter().all(|&t| t == 5),
        "total on every page: {:?}",
        pages.totals
    );
    let past_end = store
        .list_versions(
            "key-a",
            Page {
                offset: 9,
                limit: 2,
            },
        )
        .await?;
    assert_eq!(
        past_end,
        Paged {
            items: vec![],
            total: 5
        },
        "offset past the end"
    );
    let none = store
        .list_versions(
            "key-a",
            Page {
                offset: 0,
                limit: 0,
            },
        )
        .await?;
    assert_eq!(
        none,
        Paged {
            items: vec![],
            total: 5
        },
        "limit zero"
    );

    for version in &expected {
        let found = store.get_version(&version.version_id).await?;
        assert_eq!(found.as_ref(), Some(version), "get_version by id alone");
    }
    assert_eq!(
        store.get_key("key-a").await?,
        Some(key),
        "add_version changed the key row"
    );
    assert_eq!(
        store.list_versions("key-b", ALL).await?.total,
        2,
        "versions of another key"
    );
    let absent = store.list_versions("key-absent", ALL).await?;
    assert_eq!(
        absent,
        Paged {
            items: vec![],
            total: 0
        }
    );
    Ok(())
}

/// Adding to an absent key is `NotFound`; a taken version id (of any key) is `AlreadyExists`.
pub async fn version_errors<S: KeyStore>(store: &S) -> StoreResult<()> {
    create_sample(store, "key-a", 1_000).await?;
    create_sample(store, "key-b", 1_000).await?;
    let orphan = sample_version("key-absent", "v-orphan", 1_000);
    let result = store.add_version(&orphan).await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "absent key: {result:?}"
    );
    assert_eq!(store.get_version("v-orphan").await?, None);

    let original = sample_version("key-a", "v-2", 2_000);
    store.add_version(&original).await?;
    let same_key = VersionRecord {
        sealed_material: vec![1, 2, 3],
        ..original.clone()
    };
    let result = store.add_version(&same_key).await;
    assert!(
        matches!(result, Err(StoreError::AlreadyExists)),
        "same key: {result:?}"
    );
    let other_key = sample_version("key-b", "v-2", 3_000);
    let result = store.add_version(&other_key).await;
    assert!(
        matches!(result, Err(StoreError::AlreadyExists)),
        "other key: {result:?}"
    );
    assert_eq!(
        store.get_version("v-2").await?,
        Some(original),
        "refused add changed version"
    );
    assert_eq!(store.list_versions("key-b", ALL).await?.total, 1);
    Ok(())
}

/// An alias is created, repointed, deleted, and its name is free again afterwards.
pub async fn alias_lifecycle<S: KeyStore>(store: &S) -> StoreResult<()> {
    create_sample(store, "key-1", 1_000).await?;
    create_sample(store, "key-2", 1_000).await?;
    let alias = alias("alias/one", "key-1");
    store.create_alias(&alias).await?;
    assert_eq!(store.get_alias("alias/one").await?, Some(alias.clone()));

    store.update_alias("alias/one", "key-2", "key-1").await?;
    let moved = AliasRecord {
        key_id: "key-2".to_owned(),
        ..alias.clone()
    };
    assert_eq!(
        store.get_alias("alias/one").await?,
        Some(moved),
        "repointed, date kept"
    );
    let of_key_1 = store.list_aliases(Some("key-1"), ALL).await?;
    assert_eq!(
        of_key_1,
        Paged {
            items: vec![],
            total: 0
        },
        "old key lost the alias"
    );

    store.delete_alias("alias/one", "key-2").await?;
    assert_eq!(store.get_alias("alias/one").await?, None);
    assert_eq!(store.list_aliases(None, ALL).await?.total, 0);
    store.create_alias(&alias).await?;
    assert_eq!(
        store.get_alias("alias/one").await?,
        Some(alias),
        "name reusable after delete"
    );
    Ok(())
}

/// Alias refusals: taken name, absent key, absent alias; none of them changes anything.
pub async fn alias_errors<S: KeyStore>(store: &S) -> StoreResult<()> {
    create_sample(store, "key-1", 1_000).await?;
    create_sample(store, "key-2", 1_000).await?;
    let original = alias("alias/one", "key-1");
    store.create_alias(&original).await?;

    let result = store.create_alias(&alias("alias/one", "key-2")).await;
    assert!(
        matches!(result, Err(StoreError::AlreadyExists)),
        "taken name: {result:?}"
    );
    let result = store
        .create_alias(&alias("alias/orphan", "key-absent"))
        .await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "create, absent key: {result:?}"
    );
    assert_eq!(store.get_alias("alias/orphan").await?, None);

    let result = store.update_alias("alias/absent", "key-1", "key-1").await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "update, absent alias: {result:?}"
    );
    assert_eq!(
        store.get_alias("alias/absent").await?,
        None,
        "update must not insert"
    );
    let result = store.update_alias("alias/one", "key-2", "key-2").await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "update, alias moved since it was read: {result:?}"
    );
    let result = store.delete_alias("alias/one", "key-2").await;
    assert!(
        matches!(result, Err(StoreError::Conflict)),
        "delete, alias moved since it was read: {result:?}"
    );
    let result = store.update_alias("alias/one", "key-absent", "key-1").await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "update, absent key: {result:?}"
    );
    assert_eq!(
        store.get_alias("alias/one").await?,
        Some(original),
        "refusals changed alias"
    );

    let result = store.delete_alias("alias/absent", "key-1").await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "delete, absent: {result:?}"
    );
    store.delete_alias("alias/one", "key-1").await?;
    let result = store.delete_alias("alias/one", "key-1").await;
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "delete twice: {result:?}"
    );
    Ok(())
}

/// Aliases list by name, all of them or one key's, in pages with a total.
pub async fn alias_listing<S: KeyStore>(store: &S) -> StoreResult<()> {
    create_sample(store, "key-1", 1_000).await?;
    create_sample(store, "key-2", 1_000).await?;
    let scrambled = [
        ("c", "key-1"),
        ("d", "key-2"),
        ("a", "key-1"),
        ("e", "key-1"),
        ("b", "key-2"),
    ];
    for (name, key_id) in scrambled {
        store
            .create_alias(&alias(&format!("alias/{name}"), key_id))
            .await?;
    }
    let names = |page: &Paged<AliasRecord>| -> Vec<String> {
        page.items.iter().map(|a| a.alias_name.clone()).collect()
    };

    let every = store.list_aliases(None, ALL).await?;
    assert_eq!(
        names(&every),
        ["alias/a", "alias/b", "alias/c", "alias/d", "alias/e"]
    );
    assert_eq!(every.total, 5);
    let pages = collect_pages(2, |page| store.list_aliases(None, page)).await?;
    assert_eq!(pages.sizes, [2, 2, 1]);
    assert_eq!(
        pages.items, every.items,
        "pages concatenate to the full list"
    );
    assert!(
        pages.totals.iter().all(|&t| t == 5),
        "totals {:?}",
        pages.totals
    );

    let of_key_1 = store.list_aliases(Some("key-1"), ALL).await?;
    assert_eq!(
        (names(&of_key_1), of_key_1.total),
        (
            vec!["alias/a".into(), "alias/c".into(), "alias/e".into()],
            3
        )
    );
    assert!(of_key_1.items.iter().all(|a| a.key_id == "key-1"));
    let tail = store
        .list_aliases(
            Some("key-1"),
            Page {
                offset: 2,
                limit: 2,
            },
        )
        .await?;
    assert_eq!((names(&tail), tail.total), (vec!["alias/e".to_owned()], 3));
    let of_key_2 = store.list_aliases(Some("key-2"), ALL).await?;
    assert_eq!(
        (names(&of_key_2), of_key_2.total),
        (vec!["alias/b".into(), "alias/d".into()], 2)
    );
    let of_absent = store.list_aliases(Some("key-absent"), ALL).await?;
    assert_eq!(
        of_absent,
        Paged {
            items: vec![],
            total: 0
        }
    );
    Ok(())
}
