//! The `Condition` element: operators, condition keys, typed values, and their evaluation.
//!
//! A condition block is `{"<Operator>": {"<Key>": value | [values]}}`. Values of one key are
//! OR-ed; keys within an operator and operators within a block are AND-ed. Values are compiled
//! to their operator's type when the policy is parsed (CIDR blocks, numbers, dates, booleans), so
//! a typo is a parse error, not a condition that silently never matches.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::glob::Glob;
use super::parse::{Node, PolicyError};

/// Every operator the policy language accepts, optionally prefixed by `ForAnyValue:` or
/// `ForAllValues:`.
pub const SUPPORTED_OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "IpAddress",
    "NotIpAddress",
];

/// The condition keys keywarden supplies (names are case-insensitive; the `<name>` of an
/// encryption-context key is case-sensitive, like the context itself).
pub const SUPPORTED_CONDITION_KEYS: &[&str] = &[
    "acs:SourceIp",
    "acs:SecureTransport",
    "acs:CurrentTime",
    "kms:EncryptionContext.<name>",
    "kms:EncryptionContextKeys",
];

/// The comparison an operator makes, before negation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StrEq,
    StrEqIgnoreCase,
    StrLike,
    NumEq,
    NumLt,
    NumLe,
    NumGt,
    NumGe,
    DateEq,
    DateLt,
    DateLe,
    DateGt,
    DateGe,
    Bool,
    Ip,
}

/// Operator name → (comparison, negated).
fn lookup_operator(name: &str) -> Option<(Base, bool)> {
    Some(match name {
        "StringEquals" => (Base::StrEq, false),
        "StringNotEquals" => (Base::StrEq, true),
        "StringEqualsIgnoreCase" => (Base::StrEqIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Base::StrEqIgnoreCase, true),
        "StringLike" => (Base::StrLike, false),
        "StringNotLike" => (Base::StrLike, true),
        "NumericEquals" => (Base::NumEq, false),
        "NumericNotEquals" => (Base::NumEq, true),
        "NumericLessThan" => (Base::NumLt, false),
        "NumericLessThanEquals" => (Base::NumLe, false),
        "NumericGreaterThan" => (Base::NumGt, false),
        "NumericGreaterThanEquals" => (Base::NumGe, false),
        "DateEquals" => (Base::DateEq, false),
        "DateNotEquals" => (Base::DateEq, true),
        "DateLessThan" => (Base::DateLt, false),
        "DateLessThanEquals" => (Base::DateLe, false),
        "DateGreaterThan" => (Base::DateGt, false),
        "DateGreaterThanEquals" => (Base::DateGe, false),
        "Bool" => (Base::Bool, false),
        "IpAddress" => (Base::Ip, false),
        "NotIpAddress" => (Base::Ip, true),
        _ => return None,
    })
}

/// How the request's values of a multi-valued key combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    /// No prefix: any request value matching counts (negated: none may match).
    Plain,
    /// `ForAnyValue:`: at least one request value satisfies the operator (false when empty).
    AnyValue,
    /// `ForAllValues:`: every request value satisfies the operator (true when empty).
    AllValues,
}

/// A condition key, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    /// `acs:SourceIp`.
    SourceIp,
    /// `acs:SecureTransport`.
    SecureTransport,
    /// `acs:CurrentTime`.
    CurrentTime,
    /// `kms:EncryptionContext.<name>` (or `kms:EncryptionContext:<name>`).
    EncryptionContext(String),
    /// `kms:EncryptionContextKeys`.
    EncryptionContextKeys,
    /// Any other key: keywarden never supplies it (see the module docs for how it evaluates).
    Unsupported(String),
}

impl Key {
    fn parse(raw: &str) -> Option<Key> {
        let lower = raw.to_ascii_lowercase();
        let key = match lower.as_str() {
            "acs:sourceip" => Key::SourceIp,
            "acs:securetransport" => Key::SecureTransport,
            "acs:currenttime" => Key::CurrentTime,
            "kms:encryptioncontextkeys" => Key::EncryptionContextKeys,
            _ => {
                const PREFIX: &str = "kms:encryptioncontext";
                match lower.strip_prefix(PREFIX) {
                    Some(rest) if rest.starts_with(['.', ':']) => {
                        // Keep the original case of the name: context keys are case-sensitive.
                        let name = raw.get(PREFIX.len() + 1..).unwrap_or_default();
                        if name.is_empty() {
                            return None;
                        }
                        Key::EncryptionContext(name.to_owned())
                    }
                    _ => Key::Unsupported(raw.to_owned()),
                }
            }
        };
        Some(key)
    }
}

/// A CIDR block (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d[/n]` or `v6[/n]`.
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?))
            }
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` lies in the block. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is
    /// treated as its IPv4 address.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The policy's values for one key, compiled for the operator's type.
#[derive(Debug, Clone)]
enum Values {
    Strings(Vec<String>),
    Globs(Vec<Glob>),
    Numbers(Vec<f64>),
    Dates(Vec<i64>),
    Bools(Vec<bool>),
    Cidrs(Vec<Cidr>),
}

/// One compiled `Operator: {Key: values}` entry.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    base: Base,
    negated: bool,
    qualifier: Qualifier,
    key: Key,
    values: Values,
}

/// The result of evaluating a statement's conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every condition holds.
    Match,
    /// At least one condition fails.
    NoMatch,
    /// No condition fails, but one uses a key keywarden does not supply.
    Unknown,
}

/// A request value as the evaluator sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    /// Text (encryption-context values and keys).
    Str(&'a str),
    /// The caller's address.
    Ip(IpAddr),
    /// Whether the request came over TLS.
    Bool(bool),
    /// Unix seconds.
    Time(i64),
}

impl Val<'_> {
    fn as_text(&self) -> Cow<'_, str> {
        match self {
            Val::Str(s) => Cow::Borrowed(s),
            Val::Ip(ip) => Cow::Owned(ip.to_string()),
            Val::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Val::Time(t) => Cow::Owned(crate::dates::format_unix(*t)),
        }
    }

    fn as_number(&self) -> Option<f64> {
        match self {
            Val::Str(s) => parse_number(s),
            // Unix seconds fit an f64 exactly for any realistic date.
            #[allow(clippy::cast_precision_loss)]
            Val::Time(t) => Some(*t as f64),
            Val::Ip(_) | Val::Bool(_) => None,
        }
    }

    fn as_time(&self) -> Option<i64> {
        match self {
            Val::Time(t) => Some(*t),
            Val::Str(s) => parse_date(s),
            Val::Ip(_) | Val::Bool(_) => None,
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            Val::Str(s) => parse_bool(s),
            Val::Ip(_) | Val::Time(_) => None,
        }
    }

    fn as_ip(&self) -> Option<IpAddr> {
        match self {
            Val::Ip(ip) => Some(*ip),
            Val::Str(s) => s.parse().ok(),
            Val::Bool(_) | Val::Time(_) => None,
        }
    }
}

/// The request-side facts conditions are evaluated against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts<'a> {
    pub(crate) source_ip: Option<IpAddr>,
    pub(crate) secure_transport: Option<bool>,
    pub(crate) current_time: Option<i64>,
    pub(crate) encryption_context: Option<&'a BTreeMap<String, String>>,
}

impl<'a> Facts<'a> {
    /// The request's values for `key`: `None` when keywarden never supplies the key, an empty
    /// list when this request lacks it.
    fn values(&self, key: &'a Key) -> Option<Vec<Val<'a>>> {
        Some(match key {
            Key::SourceIp => self.source_ip.map(Val::Ip).into_iter().collect(),
            Key::SecureTransport => self.secure_transport.map(Val::Bool).into_iter().collect(),
            Key::CurrentTime => self.current_time.map(Val::Time).into_iter().collect(),
            Key::EncryptionContext(name) => self
                .encryption_context
                .and_then(|c| c.get(name))
                .map(|v| Val::Str(v.as_str()))
                .into_iter()
                .collect(),
            Key::EncryptionContextKeys => self
                .encryption_context
                .map(|c| c.keys().map(|k| Val::Str(k.as_str())).collect())
                .unwrap_or_default(),
            Key::Unsupported(_) => return None,
        })
    }
}

impl Condition {
    /// Whether one request value satisfies the (un-negated) comparison with any policy value.
    fn base_matches(&self, v: &Val<'_>) -> bool {
        match &self.values {
            Values::Strings(list) => {
                let text = v.as_text();
                match self.base {
                    Base::StrEqIgnoreCase => {
                        let lower = text.to_lowercase();
                        list.contains(&lower)
                    }
                    _ => list.iter().any(|p| *p == *text),
                }
            }
            Values::Globs(list) => {
                let text: Vec<char> = v.as_text().chars().collect();
                list.iter().any(|g| g.matches(&text))
            }
            Values::Numbers(list) => v.as_number().is_some_and(|n| {
                list.iter().any(|p| match self.base {
                    Base::NumLt => n < *p,
                    Base::NumLe => n <= *p,
                    Base::NumGt => n > *p,
                    Base::NumGe => n >= *p,
                    _ => n == *p,
                })
            }),
            Values::Dates(list) => v.as_time().is_some_and(|t| {
                list.iter().any(|p| match self.base {
                    Base::DateLt => t < *p,
                    Base::DateLe => t <= *p,
                    Base::DateGt => t > *p,
                    Base::DateGe => t >= *p,
                    _ => t == *p,
                })
            }),
            Values::Bools(list) => v.as_bool().is_some_and(|b| list.contains(&b)),
            Values::Cidrs(list) => v
                .as_ip()
                .is_some_and(|ip| list.iter().any(|c| c.contains(ip))),
        }
    }

    /// Evaluates this condition against the request.
    fn evaluate(&self, facts: &Facts<'_>) -> Outcome {
        let Some(vals) = facts.values(&self.key) else {
            return Outcome::Unknown;
        };
        let hit = |v: &Val<'_>| self.base_matches(v) != self.negated;
        let holds = match self.qualifier {
            Qualifier::Plain if self.negated => !vals.iter().any(|v| self.base_matches(v)),
            Qualifier::Plain | Qualifier::AnyValue => vals.iter().any(hit),
            Qualifier::AllValues => vals.iter().all(hit),
        };
        if holds {
            Outcome::Match
        } else {
            Outcome::NoMatch
        }
    }

    /// The key as written, when keywarden does not supply it.
    pub(crate) fn unsupported_key(&self) -> Option<&str> {
        match &self.key {
            Key::Unsupported(k) => Some(k),
            _ => None,
        }
    }
}

/// AND of every condition: a failing condition wins over an unknown one.
pub(crate) fn evaluate_all(conditions: &[Condition], facts: &Facts<'_>) -> Outcome {
    let mut outcome = Outcome::Match;
    for c in conditions {
        match c.evaluate(facts) {
            Outcome::NoMatch => return Outcome::NoMatch,
            Outcome::Unknown => outcome = Outcome::Unknown,
            Outcome::Match => {}
        }
    }
    outcome
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// RFC 3339 (`2024-01-31T08:00:00Z`, `2024-01-31T16:00:00+08:00`) or unix seconds.
fn parse_date(s: &str) -> Option<i64> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses a `Condition` element at `path` (e.g. `Statement[0].Condition`).
pub(crate) fn parse_block(node: &Node, path: &str) -> Result<Vec<Condition>, PolicyError> {
    let ops = node.as_object(path)?;
    let mut out = Vec::new();
    for (op_name, keys) in ops {
        let op_path = format!("{path}.{op_name}");
        let (qualifier, bare) = if let Some(rest) = op_name.strip_prefix("ForAnyValue:") {
            (Qualifier::AnyValue, rest)
        } else if let Some(rest) = op_name.strip_prefix("ForAllValues:") {
            (Qualifier::AllValues, rest)
        } else {
            (Qualifier::Plain, op_name.as_str())
        };
        let (base, negated) =
            lookup_operator(bare).ok_or_else(|| PolicyError::UnknownOperator {
                path: path.to_owned(),
                found: op_name.clone(),
            })?;
        let keys = keys.as_object(&op_path)?;
        if keys.is_empty() {
            return Err(PolicyError::Empty { path: op_path });
        }
        for (raw_key, value) in keys {
            let key_path = format!("{op_path}.{raw_key}");
            let key = Key::parse(raw_key).ok_or_else(|| PolicyError::BadConditionKey {
                path: op_path.clone(),
                found: raw_key.clone(),
            })?;
            let texts = condition_texts(value, &key_path)?;
            let values = compile_values(base, &texts, &key_path)?;
            out.push(Condition {
                base,
                negated,
                qualifier,
                key,
                values,
            });
        }
    }
    Ok(out)
}

/// A condition value or list of values, as text: strings as written, numbers in their JSON
/// form, booleans as `true`/`false`.
fn condition_texts(value: &Node, path: &str) -> Result<Vec<String>, PolicyError> {
    let scalar = |n: &Node, p: &str| match n {
        Node::String(s) => Ok(s.clone()),
        Node::Number(num) => Ok(num.to_string()),
        Node::Bool(b) => Ok(b.to_string()),
        other => Err(PolicyError::WrongType {
            path: p.to_owned(),
            expected: "a string, number or boolean (or an array of them)",
            found: other.kind(),
        }),
    };
    match value {
        Node::Array(items) => {
            if items.is_empty() {
                return Err(PolicyError::Empty {
                    path: path.to_owned(),
                });
            }
            items
                .iter()
                .enumerate()
                .map(|(i, n)| scalar(n, &format!("{path}[{i}]")))
                .collect()
        }
        other => Ok(vec![scalar(other, path)?]),
    }
}

fn compile_values(base: Base, texts: &[String], path: &str) -> Result<Values, PolicyError> {
    fn each<T>(
        texts: &[String],
        path: &str,
        expected: &'static str,
        f: impl Fn(&str) -> Option<T>,
    ) -> Result<Vec<T>, PolicyError> {
        texts
            .iter()
            .map(|t| {
                f(t).ok_or_else(|| PolicyError::BadConditionValue {
                    path: path.to_owned(),
                    found: t.clone(),
                    expected,
                })
            })
            .collect()
    }
    Ok(match base {
        Base::StrEq => Values::Strings(texts.to_vec()),
        Base::StrEqIgnoreCase => Values::Strings(texts.iter().map(|t| t.to_lowercase()).collect()),
        Base::StrLike => Values::Globs(texts.iter().map(|t| Glob::new(t)).collect()),
        Base::NumEq | Base::NumLt | Base::NumLe | Base::NumGt | Base::NumGe => {
            Values::Numbers(each(texts, path, "a number", parse_number)?)
        }
        Base::DateEq | Base::DateLt | Base::DateLe | Base::DateGt | Base::DateGe => {
            Values::Dates(each(
                texts,
                path,
                "an RFC 3339 time such as 2024-01-31T08:00:00Z",
                parse_date,
            )?)
        }
        Base::Bool => Values::Bools(each(texts, path, "true or false", parse_bool)?),
        Base::Ip => Values::Cidrs(each(
            texts,
            path,
            "an IP address or CIDR block such as 10.0.0.0/8 or 2001:db8::/32",
            Cidr::parse,
        )?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn cond(block: &str) -> Vec<Condition> {
        let node: Node = serde_json::from_str(block).unwrap();
        parse_block(&node, "Condition").unwrap()
    }

    fn facts_with<'a>(ctx: Option<&'a BTreeMap<String, String>>) -> Facts<'a> {
        Facts {
            source_ip: Some("192.168.1.10".parse().unwrap()),
            secure_transport: Some(true),
            current_time: Some(1_700_000_000), // 2023-11-14T22:13:20Z
            encryption_context: ctx,
        }
    }

    fn eval(block: &str, ctx: &[(&str, &str)]) -> Outcome {
        let map: BTreeMap<String, String> = ctx
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        evaluate_all(&cond(block), &facts_with(Some(&map)))
    }

    use Outcome::{Match, NoMatch, Unknown};

    #[test]
    fn cidr_parsing_and_membership() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))));
        assert!(!c.contains(IpAddr::V4(Ipv4Addr::new(11, 0, 0, 0))));
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 9, 9, 9).to_ipv6_mapped());
        assert!(c.contains(mapped));
        let host = Cidr::parse("192.0.2.1").unwrap();
        assert!(host.contains("192.0.2.1".parse().unwrap()));
        assert!(!host.contains("192.0.2.2".parse().unwrap()));
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("255.255.255.255".parse().unwrap()));
        assert!(!all.contains("::1".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(
            Cidr::parse("::/0")
                .unwrap()
                .contains(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        for bad in [
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0/8",
            "::/129",
            "x",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn string_operators() {
        let ctx = [("tenant", "Acme"), ("env", "prod")];
        let b = r#"{"StringEquals":{"kms:EncryptionContext.tenant":"Acme"}}"#;
        assert_eq!(eval(b, &ctx), Match);
        let b = r#"{"StringEquals":{"kms:EncryptionContext.tenant":"acme"}}"#;
        assert_eq!(eval(b, &ctx), NoMatch);
        let b = r#"{"StringEquals":{"kms:EncryptionContext.tenant":["x","Acme"]}}"#;
        assert_eq!(eval(b, &ctx), Match, "values are OR-ed");
        let b = r#"{"StringNotEquals":{"kms:EncryptionContext.tenant":["x","y"]}}"#;
        assert_eq!(eval(b, &ctx), Match);
        let b = r#"{"StringNotEquals":{"kms:EncryptionContext.tenant":["x","Acme"]}}"#;
        assert_eq!(eval(b, &ctx), NoMatch);
        let b = r#"{"StringEqualsIgnoreCase":{"kms:EncryptionContext.tenant":"ACME"}}"#;
        assert_eq!(eval(b, &ctx), Match);
        let b = r#"{"StringEqualsIgnoreCase":{"kms:EncryptionContext.tenant":"ACMEX"}}"#;
        assert_eq!(eval(b, &ctx), NoMatch);
        let b = r#"{"StringNotEqualsIgnoreCase":{"kms:EncryptionContext.tenant":"ACME"}}"#;
        assert_eq!(eval(b, &ctx), NoMatch);
        let b = r#"{"StringNotEqualsIgnoreCase":{"kms:EncryptionContext.tenant":"other"}}"#;
        assert_eq!(eval(b, &ctx), Match);
        let b = r#"{"StringLike":{"kms:EncryptionContext.tenant":"Ac?e*"}}"#;
        assert_eq!(eval(b, &ctx), Match);
        let b = r#"{"StringLike":{"kms:EncryptionContext.tenant":"ac*"}}"#;
        assert_eq!(eval(b, &ctx), NoMatch, "StringLike is case-sensitive");
        let b = r#"{"StringNotLike":{"kms:EncryptionContext.tenant":"B*"}}"#;
        assert_eq!(eval(b, &ctx), Match);
        let b = r#"{"StringNotLike":{"kms:EncryptionContext.tenant":"A*"}}"#;
        assert_eq!(eval(b, &ctx), NoMatch);
    }

    #[test]
    fn keys_and_operators_are_anded() {
        let ctx = [("tenant", "Acme"), ("env", "prod")];
        let b = r#"{"StringEquals":{"kms:EncryptionContext.tenant":"Acme","kms:EncryptionContext.env":"prod"}}"#;
        assert_eq!(eval(b, &ctx), Match);
        let b = r#"{"StringEquals":{"kms:EncryptionContext.tenant":"Acme","kms:EncryptionContext.env":"dev"}}"#;
        assert_eq!(eval(b, &ctx), NoMatch);
        let b = r#"{"StringEquals":{"kms:EncryptionContext.tenant":"Acme"},"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#;
        assert_eq!(eval(b, &ctx), NoMatch);
        let b = r#"{"StringEquals":{"kms:EncryptionContext.tenant":"Acme"},"IpAddress":{"acs:SourceIp":"192.168.0.0/16"}}"#;
        assert_eq!(eval(b, &ctx), Match);
    }

    #[test]
    fn encryption_context_key_spellings() {
        let ctx = [("Tenant", "Acme")];
        // Prefix is case-insensitive, `.` or `:` separates; the context key name is exact.
        let b = r#"{"StringEquals":{"KMS:encryptionContext:Tenant":"Acme"}}"#;
        assert_eq!(eval(b, &ctx), Match);
        let b = r#"{"StringEquals":{"kms:EncryptionContext.tenant":"Acme"}}"#;
        assert_eq!(eval(b, &ctx), NoMatch);
    }

    #[test]
    fn missing_keys() {
        let b = r#"{"StringEquals":{"kms:EncryptionContext.tenant":"Acme"}}"#;
        assert_eq!(eval(b, &[]), NoMatch);
        let b = r#"{"StringNotEquals":{"kms:EncryptionContext.tenant":"Acme"}}"#;
        assert_eq!(
            eval(b, &[]),
            Match,
            "a negated operator holds when the key is absent"
        );
        let facts = Facts {
            source_ip: None,
            secure_transport: None,
            current_time: None,
            encryption_context: None,
        };
        let c = cond(r#"{"IpAddress":{"acs:SourceIp":"0.0.0.0/0"}}"#);
        assert_eq!(evaluate_all(&c, &facts), NoMatch);
        let c = cond(r#"{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#);
        assert_eq!(evaluate_all(&c, &facts), Match);
        let c = cond(r#"{"Bool":{"acs:SecureTransport":"true"}}"#);
        assert_eq!(evaluate_all(&c, &facts), NoMatch);
    }

    #[test]
    fn unsupported_keys_are_unknown_and_lose_to_failures() {
        let b = r#"{"Bool":{"acs:MFAPresent":"true"}}"#;
        assert_eq!(eval(b, &[]), Unknown);
        let b = r#"{"Bool":{"acs:MFAPresent":"true","acs:SecureTransport":"true"}}"#;
        assert_eq!(eval(b, &[]), Unknown);
        let b = r#"{"Bool":{"acs:MFAPresent":"true","acs:SecureTransport":"false"}}"#;
        assert_eq!(eval(b, &[]), NoMatch);
        assert_eq!(
            cond(r#"{"StringEquals":{"oss:Prefix":"a"}}"#)[0].unsupported_key(),
            Some("oss:Prefix")
        );
    }

    #[test]
    fn ip_operators() {
        assert_eq!(
            eval(r#"{"IpAddress":{"acs:SourceIp":"192.168.1.0/24"}}"#, &[]),
            Match
        );
        assert_eq!(
            eval(
                r#"{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.1.10"]}}"#,
                &[]
            ),
            Match
        );
        assert_eq!(
            eval(r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, &[]),
            NoMatch
        );
        assert_eq!(
            eval(r#"{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}"#, &[]),
            Match
        );
        assert_eq!(
            eval(
                r#"{"NotIpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}"#,
                &[]
            ),
            NoMatch
        );
        let c = cond(r#"{"IpAddress":{"acs:SourceIp":"2001:db8::/32"}}"#);
        let mut f = facts_with(None);
        f.source_ip = Some("2001:db8::7".parse().unwrap());
        assert_eq!(evaluate_all(&c, &f), Match);
        f.source_ip = Some("2001:db9::7".parse().unwrap());
        assert_eq!(evaluate_all(&c, &f), NoMatch);
    }

    #[test]
    fn bool_operator() {
        assert_eq!(
            eval(r#"{"Bool":{"acs:SecureTransport":"true"}}"#, &[]),
            Match
        );
        assert_eq!(eval(r#"{"Bool":{"acs:SecureTransport":true}}"#, &[]), Match);
        assert_eq!(
            eval(r#"{"Bool":{"acs:SecureTransport":"TRUE"}}"#, &[]),
            Match
        );
        assert_eq!(
            eval(r#"{"Bool":{"acs:SecureTransport":"false"}}"#, &[]),
            NoMatch
        );
    }

    #[test]
    fn date_operators() {
        // now = 1_700_000_000 = 2023-11-14T22:13:20Z
        let cases = [
            ("DateLessThan", "2024-01-01T00:00:00Z", Match),
            ("DateLessThan", "2023-01-01T00:00:00Z", NoMatch),
            ("DateLessThanEquals", "2023-11-14T22:13:20Z", Match),
            ("DateLessThan", "2023-11-14T22:13:20Z", NoMatch),
            ("DateGreaterThan", "2023-01-01T00:00:00+08:00", Match),
            ("DateGreaterThan", "2024-01-01T00:00:00Z", NoMatch),
            ("DateGreaterThanEquals", "2023-11-15T06:13:20+08:00", Match),
            ("DateEquals", "1700000000", Match),
            ("DateEquals", "1700000001", NoMatch),
            ("DateNotEquals", "1700000001", Match),
            ("DateNotEquals", "2023-11-14T22:13:20Z", NoMatch),
        ];
        for (op, v, want) in cases {
            let b = format!(r#"{{"{op}":{{"acs:CurrentTime":"{v}"}}}}"#);
            assert_eq!(eval(&b, &[]), want, "{op} {v}");
        }
        // String operators see the time in the API's format.
        let b = r#"{"StringLike":{"acs:CurrentTime":"2023-11-14T*"}}"#;
        assert_eq!(eval(b, &[]), Match);
    }

    #[test]
    fn numeric_operators() {
        let ctx = [("n", "10"), ("x", "ten")];
        let cases = [
            ("NumericEquals", "10", Match),
            ("NumericEquals", "10.0", Match),
            ("NumericEquals", "11", NoMatch),
            ("NumericNotEquals", "11", Match),
            ("NumericNotEquals", "10", NoMatch),
            ("NumericLessThan", "11", Match),
            ("NumericLessThan", "10", NoMatch),
            ("NumericLessThanEquals", "10", Match),
            ("NumericLessThanEquals", "9", NoMatch),
            ("NumericGreaterThan", "9", Match),
            ("NumericGreaterThan", "10", NoMatch),
            ("NumericGreaterThanEquals", "10", Match),
            ("NumericGreaterThanEquals", "11", NoMatch),
        ];
        for (op, v, want) in cases {
            let b = format!(r#"{{"{op}":{{"kms:EncryptionContext.n":{v}}}}}"#);
            assert_eq!(eval(&b, &ctx), want, "{op} {v}");
        }
        let b = r#"{"NumericEquals":{"kms:EncryptionContext.x":"10"}}"#;
        assert_eq!(
            eval(b, &ctx),
            NoMatch,
            "a non-numeric request value never matches"
        );
    }

    #[test]
    fn set_qualifiers() {
        let ctx = [("tenant", "a"), ("purpose", "b")];
        let any = r#"{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["tenant"]}}"#;
        assert_eq!(eval(any, &ctx), Match);
        assert_eq!(eval(any, &[]), NoMatch);
        let all =
            r#"{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["tenant","purpose"]}}"#;
        assert_eq!(eval(all, &ctx), Match);
        assert_eq!(eval(all, &[("tenant", "a"), ("other", "c")]), NoMatch);
        assert_eq!(eval(all, &[]), Match, "ForAllValues holds vacuously");
        let plain = r#"{"StringEquals":{"kms:EncryptionContextKeys":"purpose"}}"#;
        assert_eq!(eval(plain, &ctx), Match);
        let not = r#"{"StringNotEquals":{"kms:EncryptionContextKeys":"purpose"}}"#;
        assert_eq!(eval(not, &ctx), NoMatch);
        let any_not = r#"{"ForAnyValue:StringNotEquals":{"kms:EncryptionContextKeys":"purpose"}}"#;
        assert_eq!(eval(any_not, &ctx), Match);
        let all_not = r#"{"ForAllValues:StringNotLike":{"kms:EncryptionContextKeys":"secret*"}}"#;
        assert_eq!(eval(all_not, &ctx), Match);
        assert_eq!(eval(all_not, &[("secret-x", "1")]), NoMatch);
    }

    #[test]
    fn parse_errors_name_the_place() {
        let err = |s: &str| {
            let node: Node = serde_json::from_str(s).unwrap();
            parse_block(&node, "Statement[2].Condition")
                .unwrap_err()
                .to_string()
        };
        let e = err(r#"{"StringEqual":{"acs:SourceIp":"x"}}"#);
        assert!(
            e.contains("Statement[2].Condition") && e.contains("StringEqual"),
            "{e}"
        );
        let e = err(r#"{"IpAddress":{"acs:SourceIp":"10.0.0.0/33"}}"#);
        assert!(
            e.contains("Statement[2].Condition.IpAddress.acs:SourceIp") && e.contains("CIDR"),
            "{e}"
        );
        let e = err(r#"{"NumericLessThan":{"kms:EncryptionContext.n":"abc"}}"#);
        assert!(e.contains("a number"), "{e}");
        let e = err(r#"{"DateLessThan":{"acs:CurrentTime":"tomorrow"}}"#);
        assert!(e.contains("RFC 3339"), "{e}");
        let e = err(r#"{"Bool":{"acs:SecureTransport":"yes"}}"#);
        assert!(e.contains("true or false"), "{e}");
        let e = err(r#"{"StringEquals":{"acs:SourceIp":[]}}"#);
        assert!(e.contains("must not be empty"), "{e}");
        let e = err(r#"{"StringEquals":{"acs:SourceIp":{"a":"b"}}}"#);
        assert!(e.contains("an object"), "{e}");
        let e = err(r#"{"StringEquals":{"acs:SourceIp":null}}"#);
        assert!(e.contains("null"), "{e}");
        let e = err(r#"{"StringEquals":{"kms:EncryptionContext.":"x"}}"#);
        assert!(e.contains("condition key"), "{e}");
        let e = err(r#"{"StringEquals":{}}"#);
        assert!(e.contains("must not be empty"), "{e}");
        let e = err(r#"{"StringEquals":"x"}"#);
        assert!(e.contains("an object"), "{e}");
    }

    proptest! {
        #[test]
        fn a_network_contains_its_members(a in any::<u32>(), len in 0u8..=32) {
            let ip = Ipv4Addr::from(a);
            let c = Cidr::parse(&format!("{ip}/{len}")).unwrap();
            prop_assert!(c.contains(IpAddr::V4(ip)));
        }

        #[test]
        fn v6_networks_contain_their_members(a in any::<u128>(), len in 0u8..=128) {
            let ip = Ipv6Addr::from(a);
            let c = Cidr::parse(&format!("{ip}/{len}")).unwrap();
            prop_assert!(c.contains(IpAddr::V6(ip)));
        }

        #[test]
        fn negation_is_the_complement(v in "[a-c]{0,3}", p in "[a-c*]{0,3}") {
            let ctx = [("k", v.as_str())];
            let pos = eval(&format!(r#"{{"StringLike":{{"kms:EncryptionContext.k":"{p}"}}}}"#), &ctx);
            let neg = eval(&format!(r#"{{"StringNotLike":{{"kms:EncryptionContext.k":"{p}"}}}}"#), &ctx);
            prop_assert_ne!(pos, neg);
        }
    }
}
