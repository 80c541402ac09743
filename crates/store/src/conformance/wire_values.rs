//! Conformance check for the enumerations of a key row: a backend stores each of them in some
//! form of its own (SQLite: the wire string) and must give back every value it was given.

use keywarden_core::model::{
    AutomaticRotation, KeySpec, KeyState, KeyUsage, Origin, ProtectionLevel,
};

use super::{ALL, sample_key, sample_version};
use crate::{KeyFilter, KeyRecord, KeyStore, StoreResult};

/// Every value of every enumeration of a key row round-trips: one key per value, read back
/// equal by `get_key`, and found by the `list_keys` filter on that value where there is one.
pub async fn every_enum_value_round_trips<S: KeyStore>(store: &S) -> StoreResult<()> {
    let mut keys: Vec<(KeyRecord, KeyFilter)> = Vec::new();
    let mut add = |key_id: String, edit: &dyn Fn(&mut KeyRecord, &mut KeyFilter)| {
        let mut key = sample_key(&key_id, 1_000 + keys.len() as i64);
        let mut filter = KeyFilter::default();
        edit(&mut key, &mut filter);
        keys.push((key, filter));
    };
    for &v in KeySpec::ALL {
        add(format!("spec-{v}"), &|k, f| {
            k.key_spec = v;
            f.specs = vec![v];
        });
    }
    for &v in KeyUsage::ALL {
        add(format!("usage-{v}"), &|k, f| {
            k.key_usage = v;
            f.usages = vec![v];
        });
    }
    for &v in Origin::ALL {
        add(format!("origin-{v}"), &|k, _| k.origin = v);
    }
    for &v in ProtectionLevel::ALL {
        add(format!("level-{v}"), &|k, f| {
            k.protection_level = v;
            f.protection_levels = vec![v];
        });
    }
    for &v in KeyState::ALL {
        add(format!("state-{v}"), &|k, f| {
            k.state = v;
            f.states = vec![v];
        });
    }
    for &v in AutomaticRotation::ALL {
        add(format!("rotation-{v}"), &|k, _| k.automatic_rotation = v);
    }
    for (key, _) in &keys {
        let first = sample_version(&key.key_id, &key.primary_version_id, key.creation_date);
        store.create_key(key, &first).await?;
    }
    for (key, filter) in &keys {
        assert_eq!(
            store.get_key(&key.key_id).await?.as_ref(),
            Some(key),
            "{} round-trips",
            key.key_id
        );
        if filter.is_empty() {
            continue;
        }
        let expected: Vec<&KeyRecord> = keys
            .iter()
            .map(|(k, _)| k)
            .filter(|k| {
                allows(&filter.states, k.state)
                    && allows(&filter.specs, k.key_spec)
                    && allows(&filter.usages, k.key_usage)
                    && allows(&filter.protection_levels, k.protection_level)
            })
            .collect();
        let listed = store.list_keys(filter, ALL).await?;
        assert_eq!(
            listed.items.iter().collect::<Vec<_>>(),
            expected,
            "{filter:?} lists the keys with that value"
        );
    }
    Ok(())
}

/// Whether a filter dimension with these values keeps a key with value `v` (empty: any).
fn allows<T: PartialEq>(values: &[T], v: T) -> bool {
    values.is_empty() || values.contains(&v)
}
