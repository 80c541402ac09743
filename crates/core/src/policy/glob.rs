//! Wildcard patterns: `*` matches any run of characters (including none and including `:` and
//! `/`, so patterns are segment-agnostic), `?` matches exactly one character. There is no escape:
//! a literal `*` or `?` in a pattern is always a wildcard.
//!
//! Matching is linear-time backtracking over a single star position, so a hostile pattern such
//! as `*a*a*a*a*b` costs O(pattern × text) at worst, never exponential time.

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    chars: Vec<char>,
}

impl Glob {
    /// Compiles `pattern` as written (case-sensitive matching).
    pub(crate) fn new(pattern: &str) -> Self {
        Self {
            chars: pattern.chars().collect(),
        }
    }

    /// Compiles `pattern` for case-insensitive matching: the text must be lower-cased by the
    /// caller with [`str::to_lowercase`] too.
    pub(crate) fn new_lowercase(pattern: &str) -> Self {
        Self::new(&pattern.to_lowercase())
    }

    /// Whether `text` (already split into characters) matches the whole pattern.
    pub(crate) fn matches(&self, text: &[char]) -> bool {
        glob_match(&self.chars, text)
    }

    /// Whether `text` matches the whole pattern.
    #[cfg(test)]
    pub(crate) fn matches_str(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        self.matches(&chars)
    }
}

/// Classic two-pointer wildcard match with backtracking to the most recent `*`.
fn glob_match(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    // (position of the last `*` in the pattern, text position it is currently matched up to)
    let mut star: Option<(usize, usize)> = None;
    while let Some(&tc) = text.get(t) {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&pc) if pc == '?' || pc == tc => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    // Let the last star swallow one more character and retry.
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).matches_str(t)
    }

    /// An obviously correct (exponential) reference implementation.
    fn reference(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
            Some((c, rest)) => match t.split_first() {
                Some((tc, trest)) => (*c == '?' || c == tc) && reference(rest, trest),
                None => false,
            },
        }
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(m("kms:encrypt", "kms:encrypt"));
        assert!(!m("kms:encrypt", "kms:encrypt2"));
        assert!(!m("kms:encrypt", "kms:encryp"));
        assert!(m("*", ""));
        assert!(m("*", "anything:at/all"));
        assert!(m("kms:*", "kms:"));
        assert!(m("kms:generate*", "kms:generatedatakey"));
        assert!(!m("kms:generate*", "kms:encrypt"));
        assert!(m("acs:kms:*:*:key/*", "acs:kms:cn-hangzhou:123:key/abc"));
        assert!(!m("acs:kms:*:*:key/*", "acs:kms:cn-hangzhou:123:alias/abc"));
        assert!(m("acs:kms:*:*:alias/app-*", "acs:kms:r:1:alias/app-x/y"));
        assert!(m("k?s", "kms"));
        assert!(!m("k?s", "ks"));
        assert!(m("a?c", "a€c"), "? matches one character, not one byte");
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("*a*b*", "xxbxxaxx"));
        assert!(!m("", "a"));
        assert!(m("", ""));
    }

    #[test]
    fn case_sensitivity_is_the_callers_choice() {
        assert!(!m("kms:Encrypt", "kms:encrypt"));
        assert!(Glob::new_lowercase("KMS:Gen*").matches_str("kms:generatedatakey"));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let p = format!("{}b", "*a".repeat(50));
        let t = "a".repeat(5000);
        assert!(!m(&p, &t));
    }

    proptest! {
        #[test]
        fn agrees_with_reference(p in "[ab*?]{0,8}", t in "[ab]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(glob_match(&pc, &tc), reference(&pc, &tc));
        }

        #[test]
        fn literal_matches_itself(t in "[^*?]{0,20}") {
            prop_assert!(m(&t, &t));
        }

        #[test]
        fn prefix_star(prefix in "[^*?]{0,10}", rest in ".{0,10}") {
            let pattern = format!("{prefix}*");
            let text = format!("{prefix}{rest}");
            prop_assert!(m(&pattern, &text));
        }
    }
}
