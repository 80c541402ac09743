//! Parsing and validating a policy document into a [`Policy`].
//!
//! The JSON is first read into a [`Node`] tree that refuses duplicate object keys (serde_json
//! would keep the last one silently, so `{"Effect":"Deny","Effect":"Allow"}` would be an Allow),
//! then walked element by element so every error names the element it is about.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::condition::{self, SUPPORTED_OPERATORS};
use super::glob::Glob;
use super::principal::Principals;
use super::{Effect, MAX_POLICY_CHARS, Policy, Statement, Targets};

/// Which kind of document is parsed: a RAM (identity) policy, or a key policy whose statements
/// name their `Principal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Attached to a user: `Principal` is refused; at most [`MAX_POLICY_CHARS`] characters.
    Identity,
    /// Attached to a key: every statement has a `Principal`; at most
    /// [`super::MAX_KEY_POLICY_BYTES`] bytes.
    Key,
}

/// Why a policy document was refused. The `Display` text names the offending element
/// (`Statement[1].Effect`; statements are numbered from 0) and says what is expected, so it can be
/// returned to the user as the `Message` of a `MalformedPolicyDocument` error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// Longer than [`MAX_POLICY_CHARS`] characters.
    #[error("the policy document has {chars} characters; at most {MAX_POLICY_CHARS} are allowed")]
    TooLong {
        /// Characters in the document.
        chars: usize,
    },
    /// A key policy longer than [`super::MAX_KEY_POLICY_BYTES`] bytes.
    #[error(
        "the key policy has {bytes} bytes; at most {} are allowed",
        super::MAX_KEY_POLICY_BYTES
    )]
    KeyPolicyTooLong {
        /// Bytes in the document.
        bytes: usize,
    },
    /// A `Principal` that is not `{"RAM": <ARN or list of ARNs>}`, or an ARN that is not `*`
    /// or `acs:ram:...`.
    #[error(
        "{path} is {found:?}; a principal must be \"*\" or a RAM ARN such as \"acs:ram::<account>:*\" or \"acs:ram::<account>:user/<name>\""
    )]
    BadPrincipal {
        /// Where.
        path: String,
        /// The value found.
        found: String,
    },
    /// Not JSON, or an object has the same key twice.
    #[error("the policy document is not valid JSON: {0}")]
    Syntax(String),
    /// An element has the wrong JSON type.
    #[error("{path} must be {expected}, but it is {found}")]
    WrongType {
        /// Where.
        path: String,
        /// What was expected.
        expected: &'static str,
        /// What was found (`a number`, `an array`, ...).
        found: &'static str,
    },
    /// A required element is absent.
    #[error("{path} is required")]
    Missing {
        /// The missing element.
        path: String,
    },
    /// An element the policy language does not have (or does not allow here).
    #[error("{path} is not a valid element{hint}")]
    UnknownElement {
        /// The element.
        path: String,
        /// Extra advice, starting with `; ` (may be empty).
        hint: &'static str,
    },
    /// `Version` is not `"1"`.
    #[error("Version must be \"1\", but it is {found}")]
    BadVersion {
        /// The value found, as JSON.
        found: String,
    },
    /// `Effect` is neither `Allow` nor `Deny`.
    #[error("{path} must be \"Allow\" or \"Deny\", but it is {found:?}")]
    BadEffect {
        /// Where.
        path: String,
        /// The value found.
        found: String,
    },
    /// An action is not `*` or `<product>:<action>`.
    #[error(
        "{path} is {found:?}; an action must be \"*\" or \"<product>:<action>\", such as \"kms:Encrypt\" or \"kms:Generate*\""
    )]
    BadAction {
        /// Where.
        path: String,
        /// The value found.
        found: String,
    },
    /// A resource is not `*` or an `acs:` ARN.
    #[error(
        "{path} is {found:?}; a resource must be \"*\" or an ARN such as \"acs:kms:*:*:key/*\" or \"acs:kms:*:*:alias/app-*\""
    )]
    BadResource {
        /// Where.
        path: String,
        /// The value found.
        found: String,
    },
    /// An array or object that must have members is empty.
    #[error("{path} must not be empty")]
    Empty {
        /// Where.
        path: String,
    },
    /// A statement has both an element and its `Not` form.
    #[error("{path} has both {first} and {second}; use only one of them")]
    Conflict {
        /// The statement.
        path: String,
        /// The element.
        first: &'static str,
        /// Its `Not` form.
        second: &'static str,
    },
    /// A condition operator the language does not have.
    #[error("{path} uses the unknown condition operator {found:?}; supported operators are {}, optionally prefixed by ForAnyValue: or ForAllValues:", SUPPORTED_OPERATORS.join(", "))]
    UnknownOperator {
        /// The `Condition` element.
        path: String,
        /// The operator found.
        found: String,
    },
    /// A condition key that cannot be a key (for example `kms:EncryptionContext.` with no name).
    #[error("{path} has the malformed condition key {found:?}")]
    BadConditionKey {
        /// The operator's element.
        path: String,
        /// The key found.
        found: String,
    },
    /// A condition value of the wrong form for its operator.
    #[error("{path} has the value {found:?}, which is not {expected}")]
    BadConditionValue {
        /// The key's element.
        path: String,
        /// The value found.
        found: String,
        /// What the operator needs.
        expected: &'static str,
    },
}

/// A JSON value whose objects keep their keys in order and never repeat one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// `a string`, `an array`, ... for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Number(_) => "a number",
            Node::String(_) => "a string",
            Node::Array(_) => "an array",
            Node::Object(_) => "an object",
        }
    }

    /// The members of an object, or a `WrongType` error for `path`.
    pub(crate) fn as_object(&self, path: &str) -> Result<&[(String, Node)], PolicyError> {
        match self {
            Node::Object(members) => Ok(members),
            other => Err(PolicyError::WrongType {
                path: path.to_owned(),
                expected: "an object",
                found: other.kind(),
            }),
        }
    }

    fn as_str(&self, path: &str, expected: &'static str) -> Result<&str, PolicyError> {
        match self {
            Node::String(s) => Ok(s),
            other => Err(PolicyError::WrongType {
                path: path.to_owned(),
                expected,
                found: other.kind(),
            }),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        serde_json::Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut members: Vec<(String, Node)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom(format!("duplicate key {key:?}")));
            }
            let value = map.next_value()?;
            members.push((key, value));
        }
        Ok(Node::Object(members))
    }
}

/// Parses and validates a policy document of `kind`.
pub(crate) fn parse_policy(text: &str, kind: Kind) -> Result<Policy, PolicyError> {
    match kind {
        Kind::Identity => {
            let chars = text.chars().count();
            if chars > MAX_POLICY_CHARS {
                return Err(PolicyError::TooLong { chars });
            }
        }
        Kind::Key if text.len() > super::MAX_KEY_POLICY_BYTES => {
            return Err(PolicyError::KeyPolicyTooLong { bytes: text.len() });
        }
        Kind::Key => {}
    }
    let root: Node = serde_json::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
    let members = match &root {
        Node::Object(m) => m,
        other => {
            return Err(PolicyError::WrongType {
                path: "the policy document".to_owned(),
                expected: "a JSON object with Version and Statement",
                found: other.kind(),
            });
        }
    };
    let mut version = None;
    let mut statement = None;
    for (name, value) in members {
        match name.as_str() {
            "Version" => version = Some(value),
            "Statement" => statement = Some(value),
            _ => {
                return Err(PolicyError::UnknownElement {
                    path: name.clone(),
                    hint: "; a policy has only Version and Statement",
                });
            }
        }
    }
    match version {
        Some(Node::String(v)) if v == "1" => {}
        Some(other) => {
            return Err(PolicyError::BadVersion {
                found: node_to_json(other),
            });
        }
        None => {
            return Err(PolicyError::Missing {
                path: "Version".to_owned(),
            });
        }
    }
    let statements = match statement {
        Some(Node::Array(items)) => items.iter().collect::<Vec<_>>(),
        Some(obj @ Node::Object(_)) => vec![obj],
        Some(other) => {
            return Err(PolicyError::WrongType {
                path: "Statement".to_owned(),
                expected: "an array of statements or a single statement object",
                found: other.kind(),
            });
        }
        None => {
            return Err(PolicyError::Missing {
                path: "Statement".to_owned(),
            });
        }
    };
    if statements.is_empty() {
        return Err(PolicyError::Empty {
            path: "Statement".to_owned(),
        });
    }
    let statements = statements
        .into_iter()
        .enumerate()
        .map(|(i, node)| parse_statement(node, &format!("Statement[{i}]"), kind))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Policy { statements })
}

fn node_to_json(node: &Node) -> String {
    match node {
        Node::String(s) => format!("{s:?}"),
        Node::Number(n) => n.to_string(),
        other => other.kind().to_owned(),
    }
}

/// The elements of one statement, before validation.
#[derive(Default)]
struct Raw<'a> {
    sid: Option<&'a Node>,
    effect: Option<&'a Node>,
    action: Option<&'a Node>,
    not_action: Option<&'a Node>,
    resource: Option<&'a Node>,
    not_resource: Option<&'a Node>,
    condition: Option<&'a Node>,
    principal: Option<&'a Node>,
}

fn parse_statement(node: &Node, path: &str, kind: Kind) -> Result<Statement, PolicyError> {
    let mut raw = Raw::default();
    for (name, value) in node.as_object(path)? {
        let slot = match name.as_str() {
            "Sid" => &mut raw.sid,
            "Effect" => &mut raw.effect,
            "Action" => &mut raw.action,
            "NotAction" => &mut raw.not_action,
            "Resource" => &mut raw.resource,
            "NotResource" => &mut raw.not_resource,
            "Condition" => &mut raw.condition,
            "Principal" if kind == Kind::Key => &mut raw.principal,
            "Principal" | "NotPrincipal" if kind == Kind::Identity => {
                return Err(PolicyError::UnknownElement {
                    path: format!("{path}.{name}"),
                    hint: "; a policy attached to a user applies to that user and cannot name a Principal",
                });
            }
            _ => {
                return Err(PolicyError::UnknownElement {
                    path: format!("{path}.{name}"),
                    hint: match kind {
                        Kind::Identity => {
                            "; a statement may have Sid, Effect, Action or NotAction, Resource or NotResource, and Condition"
                        }
                        Kind::Key => {
                            "; a key policy statement may have Sid, Effect, Principal, Action or NotAction, Resource or NotResource, and Condition"
                        }
                    },
                });
            }
        };
        *slot = Some(value);
    }
    let principals = match (kind, raw.principal) {
        (Kind::Identity, _) => None,
        (Kind::Key, None) => {
            return Err(PolicyError::Missing {
                path: format!("{path}.Principal"),
            });
        }
        (Kind::Key, Some(n)) => Some(parse_principal(n, &format!("{path}.Principal"))?),
    };
    let sid = raw
        .sid
        .map(|n| n.as_str(&format!("{path}.Sid"), "a string"))
        .transpose()?
        .map(str::to_owned);
    let effect = match raw.effect {
        None => {
            return Err(PolicyError::Missing {
                path: format!("{path}.Effect"),
            });
        }
        Some(n) => match n.as_str(&format!("{path}.Effect"), "\"Allow\" or \"Deny\"")? {
            "Allow" => Effect::Allow,
            "Deny" => Effect::Deny,
            other => {
                return Err(PolicyError::BadEffect {
                    path: format!("{path}.Effect"),
                    found: other.to_owned(),
                });
            }
        },
    };
    let actions = targets(
        path,
        ("Action", raw.action),
        ("NotAction", raw.not_action),
        parse_action,
    )?;
    let resources = targets(
        path,
        ("Resource", raw.resource),
        ("NotResource", raw.not_resource),
        parse_resource,
    )?;
    let conditions = match raw.condition {
        Some(n) => condition::parse_block(n, &format!("{path}.Condition"))?,
        None => Vec::new(),
    };
    Ok(Statement {
        sid,
        effect,
        principals,
        actions,
        resources,
        conditions,
    })
}

/// `{"RAM": "<arn>"}` or `{"RAM": ["<arn>", ...]}`, each `*` or `acs:ram:...`.
fn parse_principal(node: &Node, path: &str) -> Result<Principals, PolicyError> {
    let members = node.as_object(path)?;
    if members.is_empty() {
        return Err(PolicyError::Empty {
            path: path.to_owned(),
        });
    }
    let mut patterns = Vec::new();
    for (name, value) in members {
        if name != "RAM" {
            return Err(PolicyError::UnknownElement {
                path: format!("{path}.{name}"),
                hint: "; a key policy names its principals under RAM",
            });
        }
        for (p, arn) in string_list(value, &format!("{path}.RAM"))? {
            let ok = arn == "*"
                || (arn.starts_with("acs:ram:") && !arn.chars().any(char::is_whitespace));
            if !ok {
                return Err(PolicyError::BadPrincipal {
                    path: p,
                    found: arn.to_owned(),
                });
            }
            patterns.push(arn);
        }
    }
    Ok(Principals::new(&patterns))
}

/// Reads `Action`/`NotAction` (or `Resource`/`NotResource`): exactly one must be present.
fn targets(
    path: &str,
    (name, only): (&'static str, Option<&Node>),
    (not_name, except): (&'static str, Option<&Node>),
    parse_one: fn(&str, &str) -> Result<Glob, PolicyError>,
) -> Result<Targets, PolicyError> {
    let (node, elem, negated) = match (only, except) {
        (Some(_), Some(_)) => {
            return Err(PolicyError::Conflict {
                path: path.to_owned(),
                first: name,
                second: not_name,
            });
        }
        (Some(n), None) => (n, name, false),
        (None, Some(n)) => (n, not_name, true),
        (None, None) => {
            return Err(PolicyError::Missing {
                path: format!("{path}.{name}"),
            });
        }
    };
    let elem_path = format!("{path}.{elem}");
    let globs = string_list(node, &elem_path)?
        .into_iter()
        .map(|(p, s)| parse_one(&p, s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if negated {
        Targets::AllExcept(globs)
    } else {
        Targets::Only(globs)
    })
}

/// A string or a non-empty array of strings, each with its path.
fn string_list<'a>(node: &'a Node, path: &str) -> Result<Vec<(String, &'a str)>, PolicyError> {
    const EXPECTED: &str = "a string or an array of strings";
    match node {
        Node::String(s) => Ok(vec![(path.to_owned(), s.as_str())]),
        Node::Array(items) if items.is_empty() => Err(PolicyError::Empty {
            path: path.to_owned(),
        }),
        Node::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let p = format!("{path}[{i}]");
                let s = n.as_str(&p, "a string")?;
                Ok((p, s))
            })
            .collect(),
        other => Err(PolicyError::WrongType {
            path: path.to_owned(),
            expected: EXPECTED,
            found: other.kind(),
        }),
    }
}

fn parse_action(path: &str, s: &str) -> Result<Glob, PolicyError> {
    let bad = || PolicyError::BadAction {
        path: path.to_owned(),
        found: s.to_owned(),
    };
    if s != "*" {
        let (product, action) = s.split_once(':').ok_or_else(bad)?;
        let product_ok = !product.is_empty()
            && product
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '?'));
        let action_ok = !action.is_empty()
            && action
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '?'));
        if !product_ok || !action_ok {
            return Err(bad());
        }
    }
    Ok(Glob::new_lowercase(s))
}

fn parse_resource(path: &str, s: &str) -> Result<Glob, PolicyError> {
    let ok = s == "*" || (s.starts_with("acs:") && !s.chars().any(char::is_whitespace));
    if !ok {
        return Err(PolicyError::BadResource {
            path: path.to_owned(),
            found: s.to_owned(),
        });
    }
    Ok(Glob::new(s))
}
