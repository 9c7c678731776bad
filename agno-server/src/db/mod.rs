//! The store: sessions and their runs, and the durable job queue,
//! persisted the way Agno persists them (`agno_sessions`, `agno_runs`,
//! `agno_jobs`), so a store we write reads like one Agno writes.
//!
//! One concern per trait, each small enough to implement and test alone:
//!
//! - [`SessionStore`]: sessions and runs (a run is written with its
//!   durable jobs in one transaction);
//! - [`JobStore`]: the job queue's life (claim, settle, leases, recovery,
//!   the routes' reads), its statements written once for both stores
//!   (`db/jobs/`);
//! - [`Notifier`]: what the instances sharing a store tell each other
//!   (new jobs, cancels).
//!
//! [`Db`] is all three, what an agent is given: [`SqliteDb`] (one file, a
//! single writer thread with group commit and a pool of readers, never
//! blocking async worker threads) and [`PostgresDb`] (several instances
//! on one database).
//!
//! ```no_run
//! # async fn demo() -> Result<(), agno_server::db::DbError> {
//! use agno_server::db::{SessionRecord, SessionStore, SessionType, SqliteDb};
//! use agno_server::RunOutput;
//!
//! let db = SqliteDb::new("tmp/agent.db")?;
//! let session = SessionRecord::new("session-1", SessionType::Agent);
//! let run = RunOutput { run_id: "run-1".into(), ..Default::default() };
//! db.save_run(session, &run).await?;
//! assert_eq!(db.get_runs("session-1").await?.len(), 1);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::broadcast;

use hooks_core::RunOutput;

use crate::telemetry::{StoreLevels, StoreMetrics};

mod day_metrics;
mod error;
mod jobs;
mod postgres;
mod records;
mod run_row;
mod session_list;
mod sqlite;
mod traces;

pub use day_metrics::{
    Day, METRICS_TABLE, MetricsProgress, MetricsQuery, MetricsRow, MetricsStore, RunGroup,
    SessionGroup, TOKEN_KEYS, aggregate_by_date, identify_by_owner, refresh as refresh_metrics,
};
pub use error::{DbError, DriverError};
pub use jobs::{
    ClaimedJob, JOBS_TABLE, JobFence, JobOutcome, JobQuery, JobRecord, JobSettlement, JobSortKey,
    JobStats, JobStatus, JobType, NewJob,
};
pub use postgres::{PG_SCHEMA_VERSION, PostgresDb, PostgresDbOptions};
pub use records::{
    AgentData, MAX_JSON_DEPTH, ModelInfo, SessionRecord, SessionType, SortOrder, json_depth,
    json_len,
};
pub use session_list::{SORT_KEYS, SessionPage, SessionQuery};
pub use sqlite::{SCHEMA_VERSION, SqliteDb, SqliteDbOptions};
pub use traces::{
    Compare, SessionStatsQuery, SessionStatsRow, SpanRow, TraceColumn, TraceFilter, TraceQuery,
    TraceRow, TraceStore, stored_time_of,
};

/// The store's traits, to call their methods on a concrete store
/// (`SqliteDb`, `PostgresDb`): `use agno_server::db::prelude::*;`.
pub mod prelude {
    pub use super::{
        Db as _, JobStore as _, MetricsStore as _, Notifier as _, SessionStore as _,
        TraceStore as _,
    };
}

/// The sessions table (Agno's `agno_sessions`).
pub const SESSIONS_TABLE: &str = "agno_sessions";
/// The runs table (Agno's `agno_runs`).
pub const RUNS_TABLE: &str = "agno_runs";
/// Agno's table of table versions (`agno_schema_versions`), read by its
/// `MigrationManager`.
pub const VERSIONS_TABLE: &str = "agno_schema_versions";
/// The Agno schema version our tables match, as Agno stamps it in
/// [`VERSIONS_TABLE`] (Agno 3.1.10 stamps `"3.0.0"`).
pub const AGNO_SCHEMA_VERSION: &str = "3.0.0";

/// Opens the store `target` names: a Postgres URL (`postgres://`,
/// `postgresql://`, or Agno's `postgresql+psycopg://`) connects a
/// [`PostgresDb`] with default options; anything else is a SQLite file's
/// path ([`SqliteDb`]). What a program that takes its store from its
/// configuration (`DATABASE_URL`, say) calls.
///
/// ```no_run
/// # async fn demo() -> Result<(), agno_server::db::DbError> {
/// let target = std::env::var("DATABASE_URL").unwrap_or_else(|_| "tmp/agent.db".into());
/// let db = agno_server::db::open(&target).await?;
/// # Ok(()) }
/// ```
pub async fn open(target: &str) -> Result<std::sync::Arc<dyn Db>, DbError> {
    let scheme = target.split_once("://").map(|(scheme, _)| scheme);
    match scheme {
        Some(s) if s == "postgres" || s.starts_with("postgresql") || s.starts_with("postgres+") => {
            Ok(std::sync::Arc::new(PostgresDb::connect(target).await?))
        }
        _ => {
            let path = target.to_owned();
            let db = tokio::task::spawn_blocking(move || SqliteDb::new(path))
                .await
                .map_err(|e| DbError::Internal(e.to_string()))??;
            Ok(std::sync::Arc::new(db))
        }
    }
}

/// What one server instance tells the others on a shared store
/// ([`Notifier::publish`], [`Notifier::subscribe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreEvent {
    /// Jobs were queued: workers with room claim them now rather than at
    /// their next poll.
    JobsQueued,
    /// Cancel this run wherever it is under way.
    CancelRun(String),
    /// Events may have been missed (the listener was cut off and
    /// reconnected): what must not be missed is read back from the store
    /// ([`Notifier::cancels_since`]).
    Missed,
}

/// The future every store method returns.
pub type DbFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DbError>> + Send + 'a>>;

/// A whole store: sessions, jobs and the instances' events. What an agent
/// is given (`Arc<dyn Db>`); each part is also usable alone
/// (`Arc<dyn JobStore>` from an `Arc<dyn Db>` by coercion).
pub trait Db: SessionStore + JobStore + Notifier + MetricsStore + TraceStore {
    /// What identifies the underlying store (two handles on the same store
    /// return the same value), so a server lists it once. `None`: every
    /// handle is its own store.
    fn identity(&self) -> Option<String> {
        None
    }

    /// What kind of store it is, as a metric's name says it (`sqlite`,
    /// `postgres`).
    fn kind(&self) -> &'static str {
        "store"
    }

    /// What it measured as it wrote (commits, checkpoints, pool waits),
    /// for the Prometheus exposition; `None`: nothing.
    fn metrics(&self) -> Option<&StoreMetrics> {
        None
    }

    /// Its levels now (the WAL's size, the pool's connections), read
    /// without a query.
    fn levels(&self) -> StoreLevels {
        StoreLevels::default()
    }
}

/// Where sessions and runs are kept. Object-safe.
pub trait SessionStore: Send + Sync + 'static {
    /// Upserts the session row and inserts (or replaces, by `run_id`) the
    /// run row, in ONE transaction.
    ///
    /// A session's owner (`user_id`) never changes once set: a write whose
    /// `session.user_id` is not the stored owner's is refused
    /// ([`DbError::NotOwner`]) inside the same transaction, so nothing of
    /// it is written (two instances racing cannot both win). A session
    /// without an owner is shared: a run with a `user_id` makes it that
    /// user's (as Agno's upsert does).
    ///
    /// A run writes only what a run changes, so writes in between are not
    /// undone (no lost updates): for a session that exists, the keys of
    /// `session.session_state` are set on the state as stored at this
    /// moment (other keys kept: give only the keys the run changed), and
    /// the stored name, metadata and summary are kept (a rename made while
    /// the run was in flight stays). A new session is inserted as given.
    ///
    /// `run_index` (the run's position in its session: 0, 1, ...) is
    /// assigned by the store for new runs; a replaced run keeps its index.
    /// A run without `session_id` gets the session's; a run naming another
    /// session is refused ([`DbError::InvalidInput`]). The run is borrowed:
    /// the store serialises what it needs before the write, and the caller
    /// keeps its output (an agent returns it to whoever ran it).
    fn save_run<'a>(&'a self, session: SessionRecord, run: &'a RunOutput) -> DbFuture<'a, ()> {
        self.save_run_with_jobs(session, run, Vec::new(), None)
    }

    /// [`SessionStore::save_run`], and inserts `jobs` (the run's durable
    /// background hooks) in the SAME transaction: a run that is stored has
    /// its jobs, a run that is not has none.
    ///
    /// With `fence` (a background run writing its result), the write
    /// happens only while that job is `running` at that attempt: a worker
    /// whose job was taken over (its lease expired) gets
    /// [`DbError::Fenced`] and overwrites nothing.
    fn save_run_with_jobs<'a>(
        &'a self,
        session: SessionRecord,
        run: &'a RunOutput,
        jobs: Vec<NewJob>,
        fence: Option<JobFence>,
    ) -> DbFuture<'a, ()>;

    /// Inserts or replaces a session row (keeping its original
    /// `created_at`); refused ([`DbError::NotOwner`]) when the stored
    /// session is another user's.
    fn upsert_session(&self, session: SessionRecord) -> DbFuture<'_, ()>;

    /// One session, or `None`.
    fn get_session(&self, session_id: &str) -> DbFuture<'_, Option<SessionRecord>>;

    /// A filtered, sorted page of sessions. An unknown `sort_by`, or a
    /// `limit`/`page` of 0, is [`DbError::InvalidQuery`].
    fn list_sessions(&self, query: SessionQuery) -> DbFuture<'_, SessionPage>;

    /// Deletes a session and its runs; `false` when it did not exist (or,
    /// with `user_id`, is not that user's: then it is left as it is).
    fn delete_session(&self, session_id: &str, user_id: Option<&str>) -> DbFuture<'_, bool> {
        let (ids, user_id) = (vec![session_id.to_owned()], user_id.map(str::to_owned));
        Box::pin(async move { Ok(self.delete_sessions(ids, user_id.as_deref()).await? > 0) })
    }

    /// Deletes sessions and their runs, in one transaction; returns how
    /// many were deleted. With `user_id`, only that user's sessions are
    /// (the others are left as they are). The durable jobs that read those
    /// runs back get a copy of them first ([`NewJob::run_id`]).
    fn delete_sessions(&self, session_ids: Vec<String>, user_id: Option<&str>)
    -> DbFuture<'_, u64>;

    /// Sets a session's name; returns the renamed session, or `None` when
    /// it does not exist (or, with `user_id`, is not that user's).
    fn rename_session(
        &self,
        session_id: &str,
        name: &str,
        user_id: Option<&str>,
    ) -> DbFuture<'_, Option<SessionRecord>>;

    /// At most `limit` runs of a session from the `offset`-th (0 is the
    /// first), by `run_index` ascending (empty past the end, or when the
    /// session does not exist). What the routes read a long session with,
    /// a few runs at a time.
    fn get_runs_range(
        &self,
        session_id: &str,
        offset: u64,
        limit: usize,
    ) -> DbFuture<'_, Vec<RunOutput>>;

    /// Every run of a session, by `run_index` ascending (empty when the
    /// session does not exist). All in memory: a route reads a long
    /// session with [`SessionStore::get_runs_range`] instead.
    fn get_runs(&self, session_id: &str) -> DbFuture<'_, Vec<RunOutput>> {
        self.get_runs_range(session_id, 0, usize::MAX)
    }

    /// A page of a session's runs by `run_index` ascending: at most
    /// `limit`, from page `page` (1 is the first). `limit` or `page` of 0
    /// is [`DbError::InvalidQuery`].
    fn get_runs_page(
        &self,
        session_id: &str,
        limit: usize,
        page: usize,
    ) -> DbFuture<'_, Vec<RunOutput>> {
        let session_id = session_id.to_owned();
        Box::pin(async move {
            let (limit, offset) = records::page_offset(limit, page)?;
            self.get_runs_range(&session_id, offset as u64, limit as usize)
                .await
        })
    }

    /// One run by id, or `None`.
    fn get_run(&self, run_id: &str) -> DbFuture<'_, Option<RunOutput>>;

    /// The last `limit` runs of a session, oldest first (for history).
    fn recent_runs(&self, session_id: &str, limit: usize) -> DbFuture<'_, Vec<RunOutput>>;
}

/// The durable job queue (`agno_jobs`): the moves of a job's life (see
/// `db/jobs/transitions.rs`) and what the queue's routes read. Object-safe.
pub trait JobStore: Send + Sync + 'static {
    /// How long a claimed job stays its worker's without a renewal
    /// ([`JobStore::renew_leases`]) before any instance may take it over.
    /// `None` (SQLite): one process owns the store, and a job left
    /// `running` by another owner is a dead process's
    /// ([`JobStore::recover_jobs`] at start).
    fn lease(&self) -> Option<Duration>;

    /// Renews `owner`'s leases on the attempts `held` (job id, attempt)
    /// (every [`JobStore::lease`]` / 3`); returns how many it still holds
    /// (an attempt taken over is no longer `owner`'s).
    fn renew_leases(&self, owner: &str, held: Vec<(String, u32)>) -> DbFuture<'_, usize>;

    /// Claims up to `limit` due, queued jobs of the agents `components`
    /// for the worker `owner` (each becomes `running`, its attempt
    /// counted), oldest first. A hook's job is claimed only when its hook
    /// is one of `hooks` (the registry names the worker can run).
    fn claim_jobs(
        &self,
        owner: &str,
        components: Vec<String>,
        hooks: Vec<String>,
        limit: usize,
    ) -> DbFuture<'_, Vec<ClaimedJob>>;

    /// Records how attempts ended; returns how many jobs changed (an
    /// attempt that is no longer the job's current one changes nothing).
    fn settle_jobs(&self, settlements: Vec<JobSettlement>) -> DbFuture<'_, usize>;

    /// The jobs of `components` left `running` by an instance that stopped
    /// (a dead process; on a shared store, a lease that ran out) are
    /// queued again, or failed when out of attempts. `held` are the
    /// attempts `owner` runs now: never taken over by it. Returns (queued
    /// again, failed).
    fn recover_jobs(
        &self,
        owner: &str,
        components: Vec<String>,
        held: Vec<(String, u32)>,
    ) -> DbFuture<'_, (usize, usize)>;

    /// One job with its payload, or `None`.
    fn get_job(&self, id: &str) -> DbFuture<'_, Option<JobRecord>>;

    /// A page of the jobs `query` asks for (without payloads), and how
    /// many match in all. A `limit` or `page` of 0 is
    /// [`DbError::InvalidQuery`].
    fn list_jobs(&self, query: JobQuery) -> DbFuture<'_, (Vec<JobRecord>, u64)>;

    /// Queues a failed or cancelled job again for one more attempt (its
    /// attempt count, the fence, is kept): `None` when no such job exists,
    /// `Some(false)` when it is in another state.
    fn requeue_job(&self, id: &str) -> DbFuture<'_, Option<bool>>;

    /// Queues again every failed or cancelled job `query`'s filters match
    /// (its paging ignored), as [`JobStore::requeue_job`] does one;
    /// returns the agent of each job requeued (to wake their workers).
    fn requeue_jobs(&self, query: JobQuery) -> DbFuture<'_, Vec<String>>;

    /// Counts by status and the age of the oldest queued job.
    fn job_stats(&self) -> DbFuture<'_, JobStats>;

    /// The job a client's `Idempotency-Key` made for `user_id`, if any.
    fn job_by_key(&self, key: &str, user_id: Option<&str>) -> DbFuture<'_, Option<JobRecord>>;

    /// How many background runs wait in the queue.
    fn queued_runs(&self) -> DbFuture<'_, u64>;

    /// How many jobs of the agent `component` are queued, counted up to
    /// `bound` (a check that stays cheap however deep the queue), and how
    /// many seconds the oldest due one has waited (`None`: none is due).
    fn job_backlog(&self, component: &str, bound: usize) -> DbFuture<'_, (u64, Option<i64>)>;

    /// Cancels a queued background run (its job and its PENDING run, in
    /// one transaction); `false` when it was not queued.
    fn cancel_queued_run(&self, run_id: &str) -> DbFuture<'_, bool>;

    /// Fails the queued and running jobs of agents not in `components`:
    /// they could never run. Returns how many. Only for a store one server
    /// owns ([`JobStore::lease`] is `None`): on a shared one another
    /// instance may have those agents.
    fn fail_orphan_jobs(&self, components: Vec<String>) -> DbFuture<'_, usize>;

    /// Deletes the jobs of background runs that finished at least
    /// `retention` ago, and the failed jobs at least `failed_retention`
    /// old; returns how many.
    fn prune_jobs(&self, retention: Duration, failed_retention: Duration) -> DbFuture<'_, usize>;

    /// Deletes the runs at least `retention` old that no job still to run
    /// (or to requeue) reads back (their sessions stay); returns how many.
    fn prune_runs(&self, retention: Duration) -> DbFuture<'_, usize>;

    /// Fails the queued hook jobs of `components` whose hook is not one
    /// of `hooks` (the asking worker's) and that no instance claimed for
    /// `after` since they were due (no live instance has the hook), saying
    /// so; returns how many.
    fn fail_missing_hooks(
        &self,
        components: Vec<String>,
        hooks: Vec<String>,
        after: Duration,
    ) -> DbFuture<'_, usize>;

    /// Queues again the hook jobs of `components` failed for want of a
    /// hook that is one of `hooks` again (an instance with it started);
    /// returns how many.
    fn requeue_found_hooks(
        &self,
        components: Vec<String>,
        hooks: Vec<String>,
    ) -> DbFuture<'_, usize>;
}

/// What the instances sharing a store tell each other. Object-safe.
pub trait Notifier: Send + Sync + 'static {
    /// What the instances sharing this store tell each other (new jobs,
    /// cancels), from the moment of the call; `None` when no other
    /// instance can share it (SQLite).
    fn subscribe(&self) -> Option<broadcast::Receiver<StoreEvent>>;

    /// Tells every instance on this store (this one too) about `event`.
    /// A store no other instance shares has no one to tell. A cancel is
    /// also kept in the store for an hour, so an instance that missed its
    /// notice finds it ([`Notifier::cancels_since`]).
    fn publish(&self, event: StoreEvent) -> DbFuture<'_, ()>;

    /// The runs whose cancel was published at or after `since` (the
    /// value a previous call returned; `None`: from now on), and the value
    /// to ask with next time (the store's clock). What an instance reads
    /// when its events lagged or its listener reconnected: cancels are
    /// never dropped. A store no other instance shares has none.
    fn cancels_since(&self, since: Option<i64>) -> DbFuture<'_, (Vec<String>, i64)>;
}
