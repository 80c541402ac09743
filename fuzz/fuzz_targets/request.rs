//! The server's request parser on raw requests ([`crate::wire`]): decoding the query and the
//! form body (`ApiRequest::parse`), the claim (`auth::claim`: scheme, access key, action,
//! version, nonce), routing, and the typed parameters of the action the request names
//! (`Action::parse_params`, i.e. `Operation::parse`). Nothing may panic, and what parses must
//! be consistent: a claim routes only on values the request carries.

use keywarden_server::action::{Action, Product};
use keywarden_server::auth;
use keywarden_server::request::{ApiRequest, PageParams};
use keywarden_server::table;

use crate::wire::{DEBUG, Wire};

pub fn run(data: &[u8]) {
    let Some((_, req)) = Wire::request(data) else {
        return;
    };
    assert!(req.query_params().count() <= req.params.len());
    let claimed = auth::claim(&req).ok();
    if let Some(claim) = &claimed {
        let routed = req.param("Action").or(req.header("x-acs-action"));
        assert_eq!(routed, Some(claim.action.as_str()));
    }
    let name = claimed
        .as_ref()
        .map(|c| c.action.as_str())
        .or(req.param("Action"))
        .or(req.header("x-acs-action"));
    let version = claimed
        .as_ref()
        .map(|c| c.version.as_str())
        .or(req.param("Version"))
        .or(req.header("x-acs-version"));
    for action in actions(name, version, data.len()) {
        let parsed = action.parse_params(&req);
        if *DEBUG {
            eprintln!(
                "request: {action:?} claim {}: {parsed:?}",
                claimed.is_some()
            );
        }
    }
    accessors(&req);
}

/// The actions whose parameters to read: the named one (in the named product, else in any),
/// else one picked by the input's length, so that every parser gets inputs.
fn actions(name: Option<&str>, version: Option<&str>, pick: usize) -> Vec<&'static Action> {
    let products: Vec<Product> = match version.and_then(Product::of_version) {
        Some(p) => vec![p],
        None => Product::ALL.to_vec(),
    };
    if let Some(name) = name {
        let found: Vec<_> = products
            .iter()
            .filter_map(|p| table::find(*p, name))
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    let all: Vec<&'static Action> = Product::ALL
        .iter()
        .flat_map(|p| table::actions(*p))
        .collect();
    all.get(pick % all.len().max(1))
        .copied()
        .into_iter()
        .collect()
}

/// The shared typed accessors, on the parameter names the actions use.
fn accessors(req: &ApiRequest) {
    let _ = req.context("EncryptionContext");
    let _ = req.indexed_values("ResourceId");
    let _ = req.indexed_objects("Tag");
    let _ = req.dry_run();
    let _ = PageParams::read(req, 100).map(|p| p.page());
    let _ = req.int_in("NumberOfBytes", 1..=1024);
    let _ = req.action_params().count();
}
