//! The job queue on Postgres: runs the plans of `db/jobs/` (their
//! statements rendered for Postgres) on one connection or transaction,
//! the statements of a plan pipelined (sent together, answered in order).
//!
//! What Postgres adds to the queue's life is in the statements
//! themselves: claims take rows `FOR UPDATE SKIP LOCKED` (two instances
//! never claim one job, and neither waits for the other), leases are on
//! the database's clock, and `attempt` fences every write about a running
//! job.

use deadpool_postgres::GenericClient;
use futures_util::future::try_join_all;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::db::DbError;
use crate::db::jobs::sql::{Arg, Cell, Col, Dialect, Output, Plan, Want};

/// Runs `plan` on `client` (a transaction, for a plan of several
/// statements that must commit together).
pub(crate) async fn run<T>(client: &impl GenericClient, plan: &Plan<T>) -> Result<T, DbError> {
    // Prepared first (cached per connection), so that the executions
    // below are sent in the plan's order.
    let mut prepared = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        let rendered = step.statement.render(Dialect::Postgres);
        let params: Vec<&(dyn ToSql + Sync)> = step
            .ordered(rendered, &NO_CLOCK)?
            .into_iter()
            .map(Arg::value)
            .collect();
        prepared.push((
            client.prepare_cached(&rendered.sql).await?,
            params,
            &step.want,
        ));
    }
    let outputs = try_join_all(prepared.iter().map(|(statement, params, want)| async move {
        Ok::<_, DbError>(match want {
            Want::Count => Output::Count(client.execute(statement, params).await?),
            Want::Discard | Want::Lock => {
                client.execute(statement, params).await?;
                Output::Count(0)
            }
            Want::Rows(columns) => {
                let rows = client.query(statement, params).await?;
                Output::Rows(
                    rows.iter()
                        .map(|row| cells(row, columns))
                        .collect::<Result<_, _>>()?,
                )
            }
        })
    }))
    .await?;
    (plan.finish)(outputs)
}

/// Postgres reads the database's clock (`{now}` is rendered as SQL):
/// there is no clock to bind.
static NO_CLOCK: Arg = Arg::Int(None);

impl Arg {
    /// The value bound, borrowed.
    fn value(&self) -> &(dyn ToSql + Sync) {
        match self {
            Arg::Text(text) => text,
            Arg::Int(n) => n,
            Arg::Texts(list) => list,
            Arg::Ints(list) => list,
        }
    }
}

fn cells(row: &Row, columns: &[Col]) -> Result<Vec<Cell>, DbError> {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            Ok(match column {
                Col::Text => row
                    .try_get::<_, Option<String>>(i)?
                    .map_or(Cell::Null, Cell::Text),
                Col::Int => match row.try_get::<_, Option<i64>>(i) {
                    Ok(n) => n.map_or(Cell::Null, Cell::Int),
                    // An `integer` (a literal `SELECT 1`).
                    Err(_) => row
                        .try_get::<_, Option<i32>>(i)?
                        .map_or(Cell::Null, |n| Cell::Int(i64::from(n))),
                },
            })
        })
        .collect()
}
