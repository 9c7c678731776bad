//! The job queue on SQLite: runs the plans of `db/jobs/` (their
//! statements rendered for SQLite, lists bound as JSON arrays) on one
//! connection, inside the caller's transaction.

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, ToSql, params_from_iter};

use crate::clock::now_secs;
use crate::db::DbError;
use crate::db::jobs::sql::{Arg, Cell, Col, Dialect, Output, Plan, Want};

/// Runs `plan` on `conn` (the caller holds the transaction).
pub(crate) fn run<T>(conn: &Connection, plan: &Plan<T>) -> Result<T, DbError> {
    let now = Arg::from(now_secs());
    let mut outputs = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        if step.want == Want::Lock {
            // One writer: nothing to order.
            outputs.push(Output::Count(0));
            continue;
        }
        let rendered = step.statement.render(Dialect::Sqlite);
        let values = step.ordered(rendered, &now)?;
        let mut statement = conn.prepare_cached(&rendered.sql)?;
        outputs.push(match step.want {
            Want::Count => Output::Count(statement.execute(params_from_iter(values))? as u64),
            Want::Discard | Want::Lock => {
                statement.execute(params_from_iter(values))?;
                Output::Count(0)
            }
            Want::Rows(columns) => {
                let rows = statement.query_map(params_from_iter(values), |row| {
                    (0..columns.len())
                        .map(|i| cell(row.get_ref(i)?, columns[i]))
                        .collect::<rusqlite::Result<Vec<Cell>>>()
                })?;
                Output::Rows(rows.collect::<Result<_, _>>()?)
            }
        });
    }
    (plan.finish)(outputs)
}

/// An argument bound as SQLite wants it: text and integers borrowed,
/// lists as JSON arrays.
impl ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Arg::Text(Some(text)) => Ok(ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes()))),
            Arg::Int(Some(n)) => Ok(ToSqlOutput::Owned(Value::Integer(*n))),
            Arg::Text(None) | Arg::Int(None) | Arg::Texts(None) => {
                Ok(ToSqlOutput::Owned(Value::Null))
            }
            Arg::Texts(Some(list)) => json(list),
            Arg::Ints(list) => json(list),
        }
    }
}

/// A list as a JSON array (what `json_each` reads).
fn json<T: serde::Serialize>(list: &T) -> rusqlite::Result<ToSqlOutput<'static>> {
    serde_json::to_string(list)
        .map(|text| ToSqlOutput::Owned(Value::Text(text)))
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn cell(value: rusqlite::types::ValueRef<'_>, column: Col) -> rusqlite::Result<Cell> {
    use rusqlite::types::ValueRef;
    Ok(match (value, column) {
        (ValueRef::Null, _) => Cell::Null,
        (ValueRef::Integer(n), _) => Cell::Int(n),
        (ValueRef::Real(f), Col::Int) => Cell::Int(f as i64),
        (ValueRef::Real(f), Col::Text) => Cell::Text(f.to_string()),
        (ValueRef::Text(t) | ValueRef::Blob(t), _) => {
            Cell::Text(String::from_utf8_lossy(t).into_owned())
        }
    })
}
