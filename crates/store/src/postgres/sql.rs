//! Helpers shared by the PostgreSQL row modules: running a query and decoding its rows
//! ([`one`], [`all`]), `WHERE` clauses whose shape depends on a filter (ListKeys `Filters`,
//! ListTagResources), reading columns without panicking, and parsing stored enumeration
//! strings.
//!
//! Values are always bound parameters, never spliced into the SQL text: a clause's text holds
//! only fixed fragments and the `$n` placeholders that [`Conditions::bind`] hands out, numbered
//! in the order the values were bound.

use std::str::FromStr;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql};

use super::error::{PgResultExt, PgStoreError};
use crate::{StoreError, StoreResult};

/// The row `sql` (a prepared, cached statement) selects, if any, decoded by `decode`.
pub(super) async fn one<T>(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    decode: fn(&Row) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let stmt = c.prepare_cached(sql).await.db()?;
    c.query_opt(&stmt, params)
        .await
        .db()?
        .map(|row| decode(&row))
        .transpose()
}

/// Every row `sql` (a prepared, cached statement) selects, in order, decoded by `decode`.
pub(super) async fn all<T>(
    c: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    decode: fn(&Row) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let stmt = c.prepare_cached(sql).await.db()?;
    c.query(&stmt, params)
        .await
        .db()?
        .iter()
        .map(decode)
        .collect()
}

/// A bound parameter value.
pub(super) type Param = Box<dyn ToSql + Sync + Send>;

/// Conditions joined with `AND`, and the values of their placeholders, in order.
#[derive(Default)]
pub(super) struct Conditions {
    clauses: Vec<String>,
    params: Vec<Param>,
}

impl Conditions {
    /// No conditions yet.
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Binds `value` as the next parameter and returns its placeholder (`$n`).
    pub(super) fn bind(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.params.len())
    }

    /// Adds `clause`, which holds only fixed text and placeholders from [`Conditions::bind`].
    pub(super) fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// Adds `template` with `{list}` replaced by the placeholder of a `TEXT[]` of `values`,
    /// when `values` is non-empty: "any of these" (write it as `column = ANY({list})`). An
    /// empty list adds nothing (no constraint).
    pub(super) fn any_of<S: Into<String>>(
        &mut self,
        template: &str,
        values: impl IntoIterator<Item = S>,
    ) {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        if values.is_empty() {
            return;
        }
        let list = self.bind(values);
        self.push(template.replace("{list}", &list));
    }

    /// ` WHERE a AND b ...`, or nothing without conditions.
    pub(super) fn where_sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The bound values, in placeholder order, as `query` takes them.
    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// Column `index` of `row`. A column of another type than asked (the schema was altered
/// outside keywarden) is `Backend`, not a panic.
pub(super) fn col<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> StoreResult<T> {
    row.try_get(index)
        .map_err(|e| StoreError::Backend(Box::new(e)))
}

/// The enumeration value whose wire string column `index` of a `table` row holds. A string
/// that names no value is [`PgStoreError::UnknownWireValue`] (as `Backend`).
pub(super) fn wire<T: FromStr>(
    row: &Row,
    index: usize,
    table: &'static str,
    column: &'static str,
    id: &str,
) -> StoreResult<T> {
    let text: String = col(row, index)?;
    text.parse().map_err(|_| {
        PgStoreError::UnknownWireValue {
            table,
            id: id.to_owned(),
            column,
            value: text.clone(),
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_in_binding_order() {
        let mut c = Conditions::new();
        assert_eq!(c.where_sql(), "");
        c.any_of("a = ANY({list})", Vec::<String>::new());
        assert_eq!(c.where_sql(), "", "empty list constrains nothing");
        assert!(c.params().is_empty());
        c.any_of("a = ANY({list})", ["x", "y"]);
        let (k, v) = (c.bind("k".to_owned()), c.bind(3_i64));
        c.push(format!("(b, c) > ({k}, {v})"));
        assert_eq!(c.where_sql(), " WHERE a = ANY($1) AND (b, c) > ($2, $3)");
        assert_eq!(c.params().len(), 3);
    }
}
