//! What one API call established and did ([`Exchange`]): the facts the answer, the access log
//! and the audit record are made of. The HTTP layer fills it as the call goes (request id,
//! claimed and verified caller, verified action, resolved key); `audit` turns it into a record.

use std::net::SocketAddr;

use crate::action::{Action, AuditFacts, Product, Reply};
use crate::auth::Caller;
use crate::error::ApiError;

/// One API call, from its arrival to its answer.
pub struct Exchange {
    /// The request id (also in the answer).
    pub request_id: String,
    /// The action, once the signed request named one keywarden serves.
    pub action: Option<&'static Action>,
    /// The action name the request claimed, when it is not (yet) a verified one: unknown
    /// actions and unauthenticated requests (cut short in the audit record).
    pub claimed_action: Option<String>,
    /// The product of the API version the request claims, if keywarden serves it.
    pub claimed_product: Option<Product>,
    /// The access key the request claims, before its signature is checked.
    pub claimed_access_key_id: Option<String>,
    /// Who made it, once authenticated.
    pub caller: Option<Caller>,
    /// The peer address.
    pub peer: SocketAddr,
    /// The answer, or the error.
    pub result: Result<Reply, ApiError>,
    /// What the action established about its key.
    pub facts: AuditFacts,
}

impl Exchange {
    /// A call that has just arrived from `peer`.
    pub fn new(request_id: String, peer: SocketAddr) -> Self {
        Exchange {
            request_id,
            action: None,
            claimed_action: None,
            claimed_product: None,
            claimed_access_key_id: None,
            caller: None,
            peer,
            result: Ok(Reply::default()),
            facts: AuditFacts::default(),
        }
    }

    /// The action's name for logs: the verified one, else the claimed one, else `-`.
    pub fn action_name(&self) -> &str {
        match (self.action, &self.claimed_action) {
            (Some(a), _) => a.name,
            (None, Some(claimed)) => claimed,
            (None, None) => "-",
        }
    }
}
