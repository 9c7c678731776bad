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
use std::time::Duration;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::PostgresDb;
use crate::db::jobs::{self as queue, transitions};
use crate::db::{
    ClaimedJob, DbFuture, JobQuery, JobRecord, JobSettlement, JobStats, JobStore, StoreEvent,
};

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

impl JobStore for PostgresDb {
    fn lease(&self) -> Option<Duration> {
        Some(self.inner.options.lease)
    }

    fn renew_leases(&self, owner: &str, held: Vec<(String, u32)>) -> DbFuture<'_, usize> {
        Box::pin(self.plan(transitions::renew(owner, &held, self.inner.options.lease)))
    }

    fn claim_jobs(
        &self,
        owner: &str,
        components: Vec<String>,
        hooks: Vec<String>,
        limit: usize,
    ) -> DbFuture<'_, Vec<ClaimedJob>> {
        Box::pin(self.plan(transitions::claim(
            owner,
            &components,
            &hooks,
            limit,
            self.inner.options.lease,
        )))
    }

    fn settle_jobs(&self, settlements: Vec<JobSettlement>) -> DbFuture<'_, usize> {
        Box::pin(self.plan(transitions::settle(&settlements)))
    }

    fn recover_jobs(
        &self,
        owner: &str,
        components: Vec<String>,
        held: Vec<(String, u32)>,
    ) -> DbFuture<'_, (usize, usize)> {
        // Other instances are alive: only a lease that ran out says a job's
        // instance stopped, whoever held it (but never one of the asking
        // instance's own live attempts).
        let abandoned = transitions::Abandoned {
            owner: owner.to_owned(),
            lease: self.inner.options.lease,
            held,
        };
        let plan = transitions::recover(
            &components,
            &abandoned,
            "the instance running it stopped (its lease ran out) during attempt ",
        );
        Box::pin(self.plan(plan))
    }

    fn get_job(&self, id: &str) -> DbFuture<'_, Option<JobRecord>> {
        Box::pin(self.plan(queue::get(id)))
    }

    fn list_jobs(&self, query: JobQuery) -> DbFuture<'_, (Vec<JobRecord>, u64)> {
        Box::pin(async move {
            let plan = queue::list(&query)?;
            // One snapshot for the count and the page.
            let mut client = self.client().await?;
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let page = self::run(&tx, &plan).await?;
            tx.commit().await?;
            Ok(page)
        })
    }

    fn requeue_job(&self, id: &str) -> DbFuture<'_, Option<bool>> {
        let id = id.to_owned();
        Box::pin(async move {
            let found = self.plan(transitions::requeue(&id)).await?;
            if found == Some(true) {
                self.notify(&StoreEvent::JobsQueued).await?;
            }
            Ok(found)
        })
    }

    fn requeue_jobs(&self, query: JobQuery) -> DbFuture<'_, Vec<String>> {
        Box::pin(async move {
            let agents = self.plan(transitions::requeue_many(&query)).await?;
            if !agents.is_empty() {
                self.notify(&StoreEvent::JobsQueued).await?;
            }
            Ok(agents)
        })
    }

    fn job_stats(&self) -> DbFuture<'_, JobStats> {
        Box::pin(self.plan(queue::stats()))
    }

    fn job_by_key(&self, key: &str, user_id: Option<&str>) -> DbFuture<'_, Option<JobRecord>> {
        Box::pin(self.plan(queue::by_key(key, user_id)))
    }

    fn job_backlog(&self, component: &str, bound: usize) -> DbFuture<'_, (u64, Option<i64>)> {
        Box::pin(self.plan(queue::backlog(component, bound)))
    }

    fn queued_runs(&self) -> DbFuture<'_, u64> {
        Box::pin(self.plan(queue::queued_runs()))
    }

    fn cancel_queued_run(&self, run_id: &str) -> DbFuture<'_, bool> {
        Box::pin(self.plan(transitions::cancel_queued_run(run_id)))
    }

    fn fail_orphan_jobs(&self, components: Vec<String>) -> DbFuture<'_, usize> {
        Box::pin(self.plan(transitions::fail_orphans(&components)))
    }

    fn prune_jobs(&self, retention: Duration, failed_retention: Duration) -> DbFuture<'_, usize> {
        Box::pin(self.plan(transitions::prune(retention, failed_retention)))
    }

    fn prune_runs(&self, retention: Duration) -> DbFuture<'_, usize> {
        Box::pin(self.plan(transitions::prune_runs(retention)))
    }

    fn fail_missing_hooks(
        &self,
        components: Vec<String>,
        hooks: Vec<String>,
        after: Duration,
    ) -> DbFuture<'_, usize> {
        Box::pin(self.plan(transitions::fail_missing_hooks(&components, &hooks, after)))
    }

    fn requeue_found_hooks(
        &self,
        components: Vec<String>,
        hooks: Vec<String>,
    ) -> DbFuture<'_, usize> {
        Box::pin(self.plan(transitions::requeue_found_hooks(&components, &hooks)))
    }
}
