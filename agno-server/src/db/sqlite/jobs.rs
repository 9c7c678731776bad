//! The job queue on SQLite: runs the plans of `db/jobs/` (their
//! statements rendered for SQLite, lists bound as JSON arrays) on one
//! connection, inside the caller's transaction.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use crate::clock::now_secs;
use crate::db::DbError;
use crate::db::jobs::sql::{Arg, Cell, Col, Dialect, Output, Plan, Want};

/// Runs `plan` on `conn` (the caller holds the transaction).
pub(crate) fn run<T>(conn: &Connection, plan: &Plan<T>) -> Result<T, DbError> {
    let now = now_secs();
    let mut outputs = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        let rendered = step.statement.render(Dialect::Sqlite);
        let values: Vec<Value> = step
            .ordered(rendered, now)?
            .into_iter()
            .map(value)
            .collect::<Result<_, _>>()?;
        let mut statement = conn.prepare_cached(&rendered.sql)?;
        outputs.push(match step.want {
            Want::Count => Output::Count(statement.execute(params_from_iter(values))? as u64),
            Want::Discard => {
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

fn value(arg: Arg) -> Result<Value, DbError> {
    Ok(match arg {
        Arg::Text(Some(text)) => Value::Text(text),
        Arg::Int(Some(n)) => Value::Integer(n),
        Arg::Text(None) | Arg::Int(None) | Arg::Texts(None) => Value::Null,
        Arg::Texts(Some(list)) => Value::Text(serde_json::to_string(&list)?),
        Arg::Ints(list) => Value::Text(serde_json::to_string(&list)?),
    })
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
