//! `WHERE` clauses whose shape depends on a filter (ListKeys `Filters`, ListTagResources).
//!
//! Values are always bound parameters, never spliced into the SQL text: the text holds only
//! the fixed fragments given here and `?` placeholders, bound in the order they appear.

use rusqlite::types::Value;

/// Conditions joined with `AND`, and the values of their placeholders, in order.
#[derive(Debug, Default)]
pub(super) struct Conditions {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl Conditions {
    /// No conditions yet.
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Adds `template` with `{list}` replaced by one placeholder per value (`?, ?, ?`), when
    /// `values` is non-empty: "any of these". An empty list adds nothing (no constraint).
    pub(super) fn any_of<S: Into<String>>(
        &mut self,
        template: &str,
        values: impl IntoIterator<Item = S>,
    ) {
        let values: Vec<Value> = values.into_iter().map(|v| Value::Text(v.into())).collect();
        if values.is_empty() {
            return;
        }
        let list = vec!["?"; values.len()].join(", ");
        self.clauses.push(template.replace("{list}", &list));
        self.params.extend(values);
    }

    /// Adds a fixed clause with its placeholders' values.
    pub(super) fn push(&mut self, clause: &str, params: impl IntoIterator<Item = Value>) {
        self.clauses.push(clause.to_owned());
        self.params.extend(params);
    }

    /// ` WHERE a AND b ...`, or nothing without conditions.
    pub(super) fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The placeholders' values, followed by `extra` (for `LIMIT` and `OFFSET`).
    pub(super) fn params_with(&self, extra: impl IntoIterator<Item = Value>) -> Vec<Value> {
        self.params.iter().cloned().chain(extra).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_placeholders_in_order() {
        let mut c = Conditions::new();
        assert_eq!(c.where_sql(), "");
        c.any_of("a IN ({list})", Vec::<String>::new());
        assert_eq!(c.where_sql(), "", "empty list constrains nothing");
        c.any_of("a IN ({list})", ["x", "y"]);
        c.push("b > ?", [Value::Integer(3)]);
        assert_eq!(c.where_sql(), " WHERE a IN (?, ?) AND b > ?");
        assert_eq!(
            c.params_with([Value::Integer(10)]),
            [
                Value::Text("x".into()),
                Value::Text("y".into()),
                Value::Integer(3),
                Value::Integer(10)
            ]
        );
    }
}
