//! A world for authorization tests: a [`Node`] whose `admin` user has `AdministratorAccess`,
//! requests routed exactly as the HTTP layer routes them after authentication
//! (the signed version's product → the action's descriptor: parse, resolve, authorize, run),
//! as any user, from any source address.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;

use keywarden_core::sign::percent::encode_query;
use keywarden_server::action::Product;
use keywarden_server::auth::Caller;
use keywarden_server::ops::KMS_VERSION;
use keywarden_server::ram::RAM_VERSION;
use keywarden_server::request::ApiRequest;
use serde_json::{Value, json};

use crate::common::{Node, START, run_as, text};

pub use crate::common::ADMIN;

/// The default source address of requests.
pub const LOCAL: &str = "127.0.0.1:40000";

/// A node with an administrator.
pub struct World {
    pub node: Node,
}

impl World {
    pub async fn new(dir: &Path) -> World {
        let node = Node::open(dir, START).await;
        World { node }
    }

    /// Runs `action` of the product `version` as `user` from `peer`: the body, or the code.
    pub async fn call_from(
        &self,
        user: &str,
        peer: &str,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Value, String> {
        let caller = Caller {
            access_key_id: format!("AK-{user}"),
            user_name: user.to_owned(),
        };
        let mut all: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        all.push(("Version".into(), version.into()));
        let query = encode_query(&all);
        let peer: SocketAddr = peer.parse().unwrap();
        let req = ApiRequest::parse("POST", Some(&query), vec![], b"", Some(peer)).unwrap();
        let product = Product::of_version(version).ok_or("InvalidVersion")?;
        run_as(&self.node.kms, &caller, Some(peer), product, action, &req).await
    }

    /// A KMS action as `user`.
    pub async fn kms(
        &self,
        user: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Value, String> {
        self.call_from(user, LOCAL, KMS_VERSION, action, params)
            .await
    }

    /// A RAM action as `user`.
    pub async fn ram(
        &self,
        user: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Result<Value, String> {
        self.call_from(user, LOCAL, RAM_VERSION, action, params)
            .await
    }

    /// The error code of a KMS action as `user` (`None` when it succeeds).
    pub async fn kms_code(
        &self,
        user: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Option<String> {
        self.kms(user, action, params).await.err()
    }

    /// The error code of a RAM action as `user` (`None` when it succeeds).
    pub async fn ram_code(
        &self,
        user: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> Option<String> {
        self.ram(user, action, params).await.err()
    }

    /// A KMS action as the admin, which must succeed.
    pub async fn kms_ok(&self, action: &str, params: &[(&str, &str)]) -> Value {
        self.kms(ADMIN, action, params)
            .await
            .unwrap_or_else(|code| panic!("admin {action} {params:?}: {code}"))
    }

    /// A RAM action as the admin, which must succeed.
    pub async fn ram_ok(&self, action: &str, params: &[(&str, &str)]) -> Value {
        self.ram(ADMIN, action, params)
            .await
            .unwrap_or_else(|code| panic!("admin {action} {params:?}: {code}"))
    }

    /// A new key; its id.
    pub async fn key(&self) -> String {
        text(&self.kms_ok("CreateKey", &[]).await["KeyMetadata"]["KeyId"])
    }

    /// A new user with a custom policy `<user>-policy` holding `document` (none when `None`).
    pub async fn user(&self, name: &str, document: Option<&str>) {
        self.ram_ok("CreateUser", &[("UserName", name)]).await;
        if let Some(doc) = document {
            self.grant(name, &format!("{name}-policy"), doc).await;
        }
    }

    /// Creates custom policy `policy` with `document` and attaches it to `user`.
    pub async fn grant(&self, user: &str, policy: &str, document: &str) {
        self.ram_ok(
            "CreatePolicy",
            &[("PolicyName", policy), ("PolicyDocument", document)],
        )
        .await;
        self.attach(user, "Custom", policy).await;
    }

    /// Attaches a policy to a user.
    pub async fn attach(&self, user: &str, policy_type: &str, policy: &str) {
        self.ram_ok(
            "AttachPolicyToUser",
            &[
                ("UserName", user),
                ("PolicyType", policy_type),
                ("PolicyName", policy),
            ],
        )
        .await;
    }

    /// Everything the KMS API can observe, read as the admin: keys (metadata, versions, tags,
    /// policy) and all aliases.
    pub async fn kms_state(&self) -> Value {
        let keys = self.kms_ok("ListKeys", &[("PageSize", "100")]).await["Keys"]["Key"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::new();
        for k in keys {
            let id = text(&k["KeyId"]);
            let id = id.as_str();
            out.push(json!({
                "meta": self.kms_ok("DescribeKey", &[("KeyId", id)]).await["KeyMetadata"],
                "versions": self.kms_ok("ListKeyVersions", &[("KeyId", id), ("PageSize", "100")]).await["KeyVersions"],
                "tags": self.kms_ok("ListResourceTags", &[("KeyId", id)]).await["Tags"],
                "policy": self.kms_ok("GetKeyPolicy", &[("KeyId", id)]).await["Policy"],
            }));
        }
        json!({
            "keys": out,
            "aliases": self.kms_ok("ListAliases", &[("PageSize", "100")]).await["Aliases"],
        })
    }

    /// Everything the RAM API can observe, read as the admin.
    pub async fn ram_state(&self) -> Value {
        let users = self.ram_ok("ListUsers", &[]).await["Users"]["User"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::new();
        for u in users {
            let name = text(&u["UserName"]);
            let name = name.as_str();
            out.push(json!({
                "user": self.ram_ok("GetUser", &[("UserName", name)]).await["User"],
                "keys": self.ram_ok("ListAccessKeys", &[("UserName", name)]).await["AccessKeys"],
                "policies": self.ram_ok("ListPoliciesForUser", &[("UserName", name)]).await["Policies"],
            }));
        }
        let policies = self
            .ram_ok("ListPolicies", &[("PolicyType", "Custom")])
            .await["Policies"]["Policy"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut ps = Vec::new();
        for p in policies {
            let name = text(&p["PolicyName"]);
            let name = name.as_str();
            let of = [("PolicyName", name), ("PolicyType", "Custom")];
            ps.push(json!({
                "policy": self.ram_ok("GetPolicy", &of).await["Policy"],
                "versions": self.ram_ok("ListPolicyVersions", &of).await["PolicyVersions"],
            }));
        }
        json!({ "users": out, "policies": ps })
    }
}

/// A policy document allowing `actions` on `resources`.
pub fn allow(actions: &[&str], resources: &[&str]) -> String {
    json!({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": resources}
    ]})
    .to_string()
}

/// A policy document denying `actions` on `resources`.
pub fn deny(actions: &[&str], resources: &[&str]) -> String {
    json!({"Version": "1", "Statement": [
        {"Effect": "Deny", "Action": actions, "Resource": resources}
    ]})
    .to_string()
}
