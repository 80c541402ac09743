//! The `Principal` of a key-policy statement: who the statement is about.
//!
//! Patterns are `*` or RAM ARNs (`acs:ram::<account>:*`, `acs:ram::<account>:user/<name>`), with
//! the wildcards of [`Glob`], matched case-sensitively against the caller's ARN
//! `acs:ram::<account>:user/<user name>`.
//!
//! A pattern is **account-wide** when it is `*` or its part after the account is `*`
//! (`acs:ram::<account>:*`): such a pattern stands for "the account's RAM identities", and an
//! `Allow` through it grants nothing by itself (the caller's RAM policies decide), which is what
//! the default key policy says. Any other pattern (`...:user/alice`, `...:user/*`) *names* the
//! users it matches, and an `Allow` through it grants them the statement's actions on the key.

use super::glob::Glob;

/// The patterns of one `Principal` element.
#[derive(Debug, Clone)]
pub(crate) struct Principals {
    patterns: Vec<(Glob, Scope)>,
}

/// Whether a pattern is the whole account or names identities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Account,
    Named,
}

/// How a statement's principals match one caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalMatch {
    /// No pattern matches.
    None,
    /// Only account-wide patterns match.
    Account,
    /// A pattern naming identities matches.
    Named,
}

impl Principals {
    /// The patterns as written.
    pub(crate) fn new(patterns: &[&str]) -> Self {
        Self {
            patterns: patterns.iter().map(|p| (Glob::new(p), scope(p))).collect(),
        }
    }

    /// How the patterns match the caller's ARN (as characters).
    pub(crate) fn matches(&self, caller: &[char]) -> PrincipalMatch {
        let mut found = PrincipalMatch::None;
        for (glob, scope) in &self.patterns {
            if glob.matches(caller) {
                match scope {
                    Scope::Named => return PrincipalMatch::Named,
                    Scope::Account => found = PrincipalMatch::Account,
                }
            }
        }
        found
    }
}

/// `*`, and `acs:ram:<region>:<account>:*`, are account-wide.
fn scope(pattern: &str) -> Scope {
    let tail = pattern.splitn(5, ':').nth(4);
    if pattern == "*" || tail == Some("*") {
        Scope::Account
    } else {
        Scope::Named
    }
}

/// The ARN of a RAM user as key-policy principals see it: `acs:ram::<account>:user/<name>`.
pub fn user_principal(account: &str, user_name: &str) -> String {
    format!("acs:ram::{account}:user/{user_name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(patterns: &[&str], caller: &str) -> PrincipalMatch {
        let chars: Vec<char> = caller.chars().collect();
        Principals::new(patterns).matches(&chars)
    }

    #[test]
    fn account_wide_and_named_patterns() {
        let alice = user_principal("123", "alice");
        assert_eq!(m(&["acs:ram::123:*"], &alice), PrincipalMatch::Account);
        assert_eq!(m(&["*"], &alice), PrincipalMatch::Account);
        assert_eq!(m(&["acs:ram:*:123:*"], &alice), PrincipalMatch::Account);
        assert_eq!(
            m(&["acs:ram::123:user/alice"], &alice),
            PrincipalMatch::Named
        );
        assert_eq!(m(&["acs:ram::123:user/*"], &alice), PrincipalMatch::Named);
        assert_eq!(
            m(&["acs:ram::123:*", "acs:ram::123:user/al*"], &alice),
            PrincipalMatch::Named
        );
        assert_eq!(m(&["acs:ram::123:user/bob"], &alice), PrincipalMatch::None);
        assert_eq!(m(&["acs:ram::999:*"], &alice), PrincipalMatch::None);
        assert_eq!(
            m(&["acs:ram::123:user/Alice"], &alice),
            PrincipalMatch::None
        );
    }
}
