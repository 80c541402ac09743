//! The action table's building block: one [`Action`] descriptor per API action, made from a type
//! that implements [`Operation`]. Routing, authorization, DryRun, the audit record and
//! `keywarden kms --help` all read the descriptors (`ops::ACTIONS`, `ram::ACTIONS`, found
//! through `crate::table`); no other place lists action names.
//!
//! Every call runs the same pipeline ([`Action::run`]), on facts established once:
//!
//! 1. [`Operation::parse`]: the typed parameters, from the decoded request, once.
//! 2. [`Operation::resolve`]: every reference (key id, alias, ARN, blob) resolved once to the
//!    thing it names, or to "absent" with the ARN that stands in for it.
//! 3. [`Operation::targets`]: the resources of the resolved values, authorized against the
//!    caller's policies (`authz`) **before** anything runs; a denied call does nothing.
//! 4. [`Operation::run`]: the operation, on the same resolved values that were authorized.
//!
//! What the audit record says about the key comes from the resolved values
//! ([`Operation::audit`]) and from the [`Reply`]; nothing reads the answer's JSON again.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use crate::authz::{Access, Conditions, Target};
use crate::caller::Caller;
use crate::error::ApiError;
use crate::kms::Kms;
use crate::request::ApiRequest;

/// A response body (without `RequestId`, which the HTTP layer adds).
pub type Body = Map<String, Value>;

/// The products served on one endpoint, told apart by the signed API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Product {
    /// Key Management Service, 2016-01-20.
    Kms,
    /// Resource Access Management (users, access keys, policies), 2015-05-01.
    Ram,
}

impl Product {
    /// Every product.
    pub const ALL: [Product; 2] = [Product::Kms, Product::Ram];

    /// The API version that selects this product.
    pub fn version(self) -> &'static str {
        match self {
            Product::Kms => "2016-01-20",
            Product::Ram => "2015-05-01",
        }
    }

    /// The product of an API version, if keywarden serves it.
    pub fn of_version(version: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.version() == version)
    }

    /// The prefix of this product's permissions and audit actions (`kms`, `ram`).
    pub fn prefix(self) -> &'static str {
        match self {
            Product::Kms => "kms",
            Product::Ram => "ram",
        }
    }
}

/// What the audit record says about the key and context of a call, as the action's pipeline
/// established them: the resolved key (else the reference as given), the version acted on, the
/// encryption context.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFacts {
    /// The key acted on (resolved id), else the `KeyId` as given.
    pub key_id: Option<String>,
    /// The key version acted on.
    pub key_version_id: Option<String>,
    /// The encryption context of the call.
    pub encryption_context: Option<BTreeMap<String, String>>,
}

impl AuditFacts {
    /// The facts of a request that did not authenticate: the `KeyId` and `KeyVersionId`
    /// parameters as given (the audit record cuts them short), never its context.
    pub fn unverified(req: &ApiRequest) -> Self {
        AuditFacts {
            key_id: req.optional("KeyId").map(str::to_owned),
            key_version_id: req.optional("KeyVersionId").map(str::to_owned),
            encryption_context: None,
        }
    }
}

/// What an operation answers: the body, and the key and version it acted on when the resolved
/// values did not already say (a key it created, a version it made).
#[derive(Debug, Default)]
pub struct Reply {
    /// The response body.
    pub body: Body,
    /// The key acted on, for the audit record.
    pub key_id: Option<String>,
    /// The key version acted on, for the audit record.
    pub key_version_id: Option<String>,
}

impl From<Body> for Reply {
    fn from(body: Body) -> Self {
        Reply {
            body,
            ..Reply::default()
        }
    }
}

impl Reply {
    /// A body that names the key and version acted on.
    pub fn about(body: Body, key_id: &str, key_version_id: Option<&str>) -> Self {
        Reply {
            body,
            key_id: Some(key_id.to_owned()),
            key_version_id: key_version_id.map(str::to_owned),
        }
    }
}

/// Who runs a call, and how: what every [`Operation::run`] may read besides its own values.
pub struct Call<'a> {
    /// Shared state.
    pub kms: &'a Kms,
    /// The authenticated caller.
    pub caller: &'a Caller,
    /// `DryRun=true` was given to an action that supports it: check everything, change nothing,
    /// answer `DryRunOperationError`.
    pub dry_run: bool,
    /// The caller's policies and condition values: lists leave out what they deny.
    pub access: &'a Access,
}

/// The peer's address and transport, for policy conditions.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// The TCP peer.
    pub peer: Option<std::net::SocketAddr>,
}

/// One API action. Implemented by a type holding the action's typed parameters; made into a
/// table entry with [`Action::of`].
pub trait Operation: Sized + Send + 'static {
    /// The product it belongs to.
    const PRODUCT: Product;
    /// The wire name (`Encrypt`).
    const NAME: &'static str;
    /// Whether the action honours `DryRun`.
    const DRY_RUN: bool = false;
    /// The parameters with every reference resolved.
    type Resolved: Send;

    /// The typed parameters of `req`; a bad value is `MissingParameter` / `InvalidParameter`.
    fn parse(req: &ApiRequest) -> Result<Self, ApiError>;

    /// Resolves every reference once. A reference to nothing is not an error here (the caller
    /// may not learn what exists before being authorized): it resolves to "absent", and
    /// [`Operation::run`] refuses it.
    fn resolve(
        self,
        kms: &Kms,
        caller: &Caller,
    ) -> impl Future<Output = Result<Self::Resolved, ApiError>> + Send;

    /// The resources the call acts on, each with its encryption context.
    fn targets(resolved: &Self::Resolved, kms: &Kms) -> Vec<Target>;

    /// What the audit record says about the key, from the resolved values.
    fn audit(_resolved: &Self::Resolved, _facts: &mut AuditFacts) {}

    /// Runs the authorized call.
    fn run(
        resolved: Self::Resolved,
        call: &Call<'_>,
    ) -> impl Future<Output = Result<Reply, ApiError>> + Send;
}

/// A boxed call future.
type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<Reply, ApiError>> + Send + 'a>>;

/// The type-erased pipeline of one [`Operation`].
type Runner =
    for<'a> fn(&'a Kms, &'a Caller, Origin, &'a ApiRequest, &'a mut AuditFacts) -> CallFuture<'a>;

/// One entry of an action table.
pub struct Action {
    /// The product.
    pub product: Product,
    /// The wire name.
    pub name: &'static str,
    /// Whether `DryRun` is honoured.
    pub dry_run: bool,
    runner: Runner,
    parser: fn(&ApiRequest) -> Result<(), ApiError>,
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.product.prefix(), self.name)
    }
}

impl Action {
    /// The table entry of operation `O`.
    pub const fn of<O: Operation>() -> Action {
        Action {
            product: O::PRODUCT,
            name: O::NAME,
            dry_run: O::DRY_RUN,
            runner: pipeline::<O>,
            parser: parse_only::<O>,
        }
    }

    /// Reads the action's typed parameters from `req` ([`Operation::parse`], the first step of
    /// [`Action::run`]) and drops them: whether the request's parameters are valid for this
    /// action, without state or a caller (the `request` fuzz target calls it).
    pub fn parse_params(&self, req: &ApiRequest) -> Result<(), ApiError> {
        (self.parser)(req)
    }

    /// `<product>:<Name>`: the permission it needs and its name in the audit trail.
    pub fn permission(&self) -> String {
        format!("{}:{}", self.product.prefix(), self.name)
    }

    /// Parses, resolves, authorizes and runs the call for `caller`, filling `facts` as the
    /// facts become known (so a refused call's record still names its key).
    pub async fn run(
        &self,
        kms: &Kms,
        caller: &Caller,
        origin: Origin,
        req: &ApiRequest,
        facts: &mut AuditFacts,
    ) -> Result<Reply, ApiError> {
        (self.runner)(kms, caller, origin, req, facts).await
    }
}

fn parse_only<O: Operation>(req: &ApiRequest) -> Result<(), ApiError> {
    O::parse(req).map(drop)
}

fn pipeline<'a, O: Operation>(
    kms: &'a Kms,
    caller: &'a Caller,
    origin: Origin,
    req: &'a ApiRequest,
    facts: &'a mut AuditFacts,
) -> CallFuture<'a> {
    Box::pin(async move {
        let dry_run = O::DRY_RUN && req.dry_run()?;
        let resolved = O::parse(req)?.resolve(kms, caller).await?;
        O::audit(&resolved, facts);
        let permission = format!("{}:{}", O::PRODUCT.prefix(), O::NAME);
        let targets = O::targets(&resolved, kms);
        let policies = kms.policies_of(&caller.user_name).await?;
        let conditions = Conditions {
            peer: origin.peer,
            secure_transport: kms.authz.secure_transport(),
            now: kms.now(),
        };
        let access = Access::new(policies, caller, &kms.realm, conditions);
        access.authorize(kms, &permission, targets).await?;
        let call = Call {
            kms,
            caller,
            dry_run,
            access: &access,
        };
        let reply = O::run(resolved, &call).await?;
        if reply.key_id.is_some() {
            facts.key_id.clone_from(&reply.key_id);
        }
        if reply.key_version_id.is_some() {
            facts.key_version_id.clone_from(&reply.key_version_id);
        }
        Ok(reply)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: &str) -> ApiRequest {
        ApiRequest::parse("POST", Some(query), Vec::new(), b"", None).unwrap()
    }

    #[test]
    fn parse_params_reads_the_typed_parameters_of_its_action() {
        let action = crate::table::find(Product::Kms, "GenerateDataKey").unwrap();
        assert!(
            action
                .parse_params(&req("KeyId=k&NumberOfBytes=32"))
                .is_ok()
        );
        assert!(matches!(
            action.parse_params(&req("KeyId=k&NumberOfBytes=2000")),
            Err(ApiError::InvalidParameter { .. })
        ));
        assert!(matches!(
            action.parse_params(&req("NumberOfBytes=32")),
            Err(ApiError::MissingParameter("KeyId"))
        ));
        let describe = crate::table::find(Product::Kms, "DescribeRegions").unwrap();
        assert!(describe.parse_params(&req("")).is_ok());
    }
}
