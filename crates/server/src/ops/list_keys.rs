//! ListKeys: key ids and ARNs, paged, optionally narrowed by `Filters`, a JSON array of
//! `{"Key": <property>, "Values": [...]}` (0 to 10 entries of 0 to 10 values). Properties:
//! `KeyState`, `KeySpec`, `KeyUsage`, `ProtectionLevel`, `Creator`, `keyId`, `AliasName`,
//! `TagKey`, `TagValue`, `CreatorType`, `DKMSInstanceId`. Values of one property are OR-ed
//! (also across repeated entries), properties are AND-ed; an empty `Values` does not
//! constrain. The filtering happens in the store; keys the caller is explicitly denied
//! `kms:ListKeys` on (RAM or key policy) are left out (`visible`).
//!
//! Every keywarden key is user-created and outside any KMS instance, so `CreatorType` matches
//! all keys when its values include `User` (none otherwise) and `DKMSInstanceId` matches none.

use keywarden_store::KeyFilter;
use serde::Deserialize;
use serde_json::{Value, json};

use super::shared::{KMS, body, collection};
use super::visible;
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::{ApiRequest, PageParams};

/// Most filter entries, and most values per entry.
const MAX_FILTERS: usize = 10;

/// The parameters: the page and the store filter (`None` when no key can match).
pub struct ListKeys {
    page: PageParams,
    filter: Option<KeyFilter>,
}

impl Operation for ListKeys {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "ListKeys";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        Ok(ListKeys {
            page: PageParams::read(req, 100)?,
            filter: filters(req.optional("Filters"))?,
        })
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(_: &Self, kms: &Kms) -> Vec<Target> {
        vec![Target::of(vec![collection(kms, "key")])]
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        list(call, p).await
    }
}

async fn list(call: &Call<'_>, p: ListKeys) -> Result<Reply, ApiError> {
    let (kms, page) = (call.kms, p.page);
    let visible = match &p.filter {
        Some(filter) => visible::keys(call, "kms:ListKeys", filter).await?,
        None => Vec::new(),
    };
    let keys = visible::page_of(&visible, page.page());
    let items: Vec<Value> = keys
        .items
        .iter()
        .map(|id| json!({ "KeyId": id, "KeyArn": kms.realm.key_arn(id) }))
        .collect();
    Ok(body([
        ("Keys", json!({ "Key": items })),
        ("TotalCount", json!(keys.total)),
        ("PageNumber", json!(page.number)),
        ("PageSize", json!(page.size)),
    ])
    .into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFilter {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Values", default)]
    values: Vec<String>,
}

/// The store filter for the `Filters` parameter; `None` when no key can match.
fn filters(text: Option<&str>) -> Result<Option<KeyFilter>, ApiError> {
    let mut filter = KeyFilter::default();
    let Some(text) = text else {
        return Ok(Some(filter));
    };
    let wire: Vec<WireFilter> = serde_json::from_str(text).map_err(|e| {
        ApiError::invalid(
            "Filters",
            format!("must be a JSON array of {{\"Key\",\"Values\"}}: {e}"),
        )
    })?;
    if wire.len() > MAX_FILTERS {
        return Err(ApiError::invalid("Filters", "at most 10 filters"));
    }
    let mut matches_some = true;
    for entry in wire {
        if entry.values.len() > MAX_FILTERS {
            return Err(ApiError::invalid("Filters", "at most 10 values per filter"));
        }
        matches_some &= add(&mut filter, &entry.key, entry.values)?;
    }
    Ok(matches_some.then_some(filter))
}

/// Adds one entry to `filter`; `false` when it excludes every keywarden key.
fn add(filter: &mut KeyFilter, key: &str, values: Vec<String>) -> Result<bool, ApiError> {
    if values.is_empty() {
        return Ok(true);
    }
    let target = match key {
        "KeyState" => return enum_values(key, &values, &mut filter.states),
        "KeySpec" => return enum_values(key, &values, &mut filter.specs),
        "KeyUsage" => return enum_values(key, &values, &mut filter.usages),
        "ProtectionLevel" => return enum_values(key, &values, &mut filter.protection_levels),
        "Creator" => &mut filter.creators,
        "keyId" | "KeyId" => &mut filter.key_ids,
        "AliasName" => &mut filter.alias_names,
        "TagKey" => &mut filter.tag_keys,
        "TagValue" => &mut filter.tag_values,
        "CreatorType" => return creator_type(&values),
        "DKMSInstanceId" => return Ok(false),
        other => {
            return Err(ApiError::invalid(
                "Filters",
                format!("{other:?} is not a filter key"),
            ));
        }
    };
    target.extend(values);
    Ok(true)
}

/// Adds the values of an enumeration dimension, once every one of them spells a `T`.
fn enum_values<T: std::str::FromStr>(
    key: &str,
    values: &[String],
    dimension: &mut Vec<T>,
) -> Result<bool, ApiError> {
    let parsed = values
        .iter()
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| ApiError::invalid("Filters", format!("{v:?} is not a valid {key}")))
        })
        .collect::<Result<Vec<T>, ApiError>>()?;
    dimension.extend(parsed);
    Ok(true)
}

/// `CreatorType`: `User` or `Service`; keywarden keys are all user-created.
fn creator_type(values: &[String]) -> Result<bool, ApiError> {
    if let Some(bad) = values.iter().find(|v| *v != "User" && *v != "Service") {
        return Err(ApiError::invalid(
            "Filters",
            format!("{bad:?} is not a valid CreatorType"),
        ));
    }
    Ok(values.iter().any(|v| v == "User"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keywarden_core::model::{KeySpec, KeyState};

    #[test]
    fn parses_filters() {
        assert_eq!(filters(None).unwrap(), Some(KeyFilter::default()));
        let f = filters(Some(
            r#"[{"Key":"KeyState","Values":["Enabled","Disabled"]},
                {"Key":"KeyState","Values":["PendingDeletion"]},
                {"Key":"KeySpec","Values":["Aliyun_AES_256"]},
                {"Key":"TagKey","Values":[]},
                {"Key":"CreatorType","Values":["User"]}]"#,
        ))
        .unwrap()
        .unwrap();
        assert_eq!(
            f.states,
            [
                KeyState::Enabled,
                KeyState::Disabled,
                KeyState::PendingDeletion
            ]
        );
        assert_eq!(f.specs, [KeySpec::Aes256]);
        assert!(f.tag_keys.is_empty());
        assert_eq!(
            filters(Some(r#"[{"Key":"CreatorType","Values":["Service"]}]"#)).unwrap(),
            None
        );
        assert_eq!(
            filters(Some(r#"[{"Key":"DKMSInstanceId","Values":["kst-1"]}]"#)).unwrap(),
            None
        );
        for bad in [
            "{}",
            "not json",
            r#"[{"Key":"Color","Values":["red"]}]"#,
            r#"[{"Key":"KeyState","Values":["enabled"]}]"#,
            r#"[{"Key":"KeyState","Values":["Enabled"],"Extra":1}]"#,
            r#"[{"Key":"KeyState","Values":[1]}]"#,
        ] {
            let e = filters(Some(bad)).unwrap_err();
            assert_eq!(e.code(), "InvalidParameter", "{bad}");
        }
        let eleven = format!("[{}]", [r#"{"Key":"TagKey","Values":["a"]}"#; 11].join(","));
        assert!(filters(Some(&eleven)).is_err());
    }
}
