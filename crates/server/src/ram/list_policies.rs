//! ListPolicies: system policies (by name) then custom ones (by name), optionally only one
//! `PolicyType`; `MaxItems` a page, `Marker` to go on (opaque: `<PolicyType>:<last name>`).
//! Needs `policy/*`; leaves out the policies the caller is explicitly denied
//! `ram:ListPolicies` on (`policy/<name>`).

use keywarden_core::policy::{SYSTEM_POLICIES, SystemPolicy};
use serde_json::Value;

use super::params::{PolicyType, encode_marker, optional_policy_type, page, refuse_tags};
use super::{Problem, RAM, RamError, policy_arn, policy_target, render};
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// The validated parameters.
pub struct ListPolicies {
    only: Option<PolicyType>,
    /// The last policy of the previous page.
    after: Option<(PolicyType, String)>,
    max: u64,
}

/// One listed policy: its type, name and summary.
type Row = (PolicyType, String, Value);

impl Operation for ListPolicies {
    const PRODUCT: Product = RAM;
    const NAME: &'static str = "ListPolicies";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        let only = optional_policy_type(req)?;
        refuse_tags(req)?;
        let (marker, max) = page(req)?;
        let after = marker.as_deref().map(last_listed).transpose()?;
        Ok(ListPolicies { only, after, max })
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(_: &Self, kms: &Kms) -> Vec<Target> {
        policy_target(kms, "*")
    }

    async fn run(p: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let want = usize::try_from(p.max)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let (after_type, after_name) = match &p.after {
            Some((t, n)) => (Some(*t), Some(n.as_str())),
            None => (None, None),
        };
        let mut rows = Vec::new();
        if p.only != Some(PolicyType::Custom) && after_type != Some(PolicyType::Custom) {
            rows = system_rows(call.kms, after_name, usize::MAX).await?;
            rows.retain(|(_, name, _)| !hidden(call, name));
            rows.truncate(want);
        }
        if p.only != Some(PolicyType::System) && rows.len() < want {
            let after = after_name.filter(|_| after_type == Some(PolicyType::Custom));
            let left = (want - rows.len()) as u64;
            rows.extend(visible_custom_rows(call, after, left).await?);
        }
        let next = if rows.len() >= want {
            rows.truncate(want - 1);
            rows.last()
                .map(|(t, n, _)| encode_marker(&format!("{}:{n}", t.as_str())))
        } else {
            None
        };
        let items = rows.into_iter().map(|(_, _, v)| v).collect();
        Ok(render::paged("Policies", "Policy", items, next).into())
    }
}

/// The last policy listed, from a decoded `Marker`.
fn last_listed(marker: &str) -> Result<(PolicyType, String), ApiError> {
    match marker.split_once(':') {
        Some(("System", n)) => Ok((PolicyType::System, n.to_owned())),
        Some(("Custom", n)) => Ok((PolicyType::Custom, n.to_owned())),
        _ => Err(RamError::invalid(
            "Marker",
            Problem::Format,
            "is not a marker this server issued",
        )),
    }
}

/// Up to `want` system policies named after `after`, by name.
async fn system_rows(kms: &Kms, after: Option<&str>, want: usize) -> Result<Vec<Row>, ApiError> {
    let mut systems: Vec<&SystemPolicy> = SYSTEM_POLICIES.iter().collect();
    systems.sort_by_key(|p| p.name);
    let mut rows = Vec::new();
    for p in systems
        .into_iter()
        .filter(|p| after.is_none_or(|a| p.name > a))
        .take(want)
    {
        let summary = render::system_summary(kms, p).await?;
        rows.push((PolicyType::System, p.name.to_owned(), summary));
    }
    Ok(rows)
}

/// Whether the caller is explicitly denied `ram:ListPolicies` on `policy/<name>`.
fn hidden(call: &Call<'_>, name: &str) -> bool {
    let arn = policy_arn(call.kms, name);
    call.access
        .hides_with("ram:ListPolicies", vec![arn], &Vec::new())
}

/// Up to `left` custom policies after `after` that the caller is not denied listing.
async fn visible_custom_rows(
    call: &Call<'_>,
    after: Option<&str>,
    left: u64,
) -> Result<Vec<Row>, ApiError> {
    let mut after = after.map(str::to_owned);
    let mut kept = Vec::new();
    loop {
        let batch = custom_rows(call.kms, after.as_deref(), left).await?;
        let exhausted = (batch.len() as u64) < left;
        after = batch.last().map(|(_, n, _)| n.clone());
        kept.extend(batch.into_iter().filter(|(_, n, _)| !hidden(call, n)));
        if exhausted || kept.len() as u64 >= left {
            kept.truncate(usize::try_from(left).unwrap_or(usize::MAX));
            return Ok(kept);
        }
    }
}

/// Up to `left` custom policies named after `after`, by name.
async fn custom_rows(kms: &Kms, after: Option<&str>, left: u64) -> Result<Vec<Row>, ApiError> {
    let mut rows = Vec::new();
    for p in kms.store.list_policies(after, left).await? {
        let summary = render::custom_summary(kms, &p).await?;
        rows.push((PolicyType::Custom, p.policy_name, summary));
    }
    Ok(rows)
}
