//! ListAliases: every alias, paged. Needs the alias collection (`acs:kms:<r>:<a>:alias`);
//! leaves out aliases the caller is explicitly denied `kms:ListAliases` on (the alias or its
//! key, key policy included).

use keywarden_store::{AliasRecord, Paged};
use serde_json::{Value, json};

use super::shared::{Body, KMS, body, collection};
use super::visible;
use crate::action::{Call, Operation, Product, Reply};
use crate::auth::Caller;
use crate::authz::Target;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::{ApiRequest, PageParams};

/// The parameters.
pub struct ListAliases(PageParams);

impl Operation for ListAliases {
    const PRODUCT: Product = KMS;
    const NAME: &'static str = "ListAliases";
    type Resolved = Self;

    fn parse(req: &ApiRequest) -> Result<Self, ApiError> {
        PageParams::read(req, 100).map(Self)
    }

    async fn resolve(self, _: &Kms, _: &Caller) -> Result<Self, ApiError> {
        Ok(self)
    }

    fn targets(_: &Self, kms: &Kms) -> Vec<Target> {
        vec![Target::of(vec![collection(kms, "alias")])]
    }

    async fn run(r: Self, call: &Call<'_>) -> Result<Reply, ApiError> {
        let visible = visible::aliases(call, "kms:ListAliases", None).await?;
        let aliases = visible::page_of(&visible, r.0.page());
        Ok(render(call.kms, &aliases, r.0).into())
    }
}

/// The `Aliases` body of a page.
pub fn render(kms: &Kms, aliases: &Paged<AliasRecord>, page: PageParams) -> Body {
    let items: Vec<Value> = aliases
        .items
        .iter()
        .map(|a| json!({ "AliasName": a.alias_name, "AliasArn": kms.realm.alias_arn(&a.alias_name), "KeyId": a.key_id }))
        .collect();
    body([
        ("Aliases", json!({ "Alias": items })),
        ("TotalCount", json!(aliases.total)),
        ("PageNumber", json!(page.number)),
        ("PageSize", json!(page.size)),
    ])
}
