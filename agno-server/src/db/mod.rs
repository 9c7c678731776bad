//! The session store: sessions and their runs, persisted the way Agno
//! persists them (`agno_sessions` and `agno_runs` in a SQLite file), so a
//! file we write reads like one Agno writes.
//!
//! [`Db`] is the interface the server uses; [`SqliteDb`] implements it on
//! one SQLite file with a single writer thread (group commit) and a pool of
//! readers, never blocking async worker threads.
//!
//! ```no_run
//! # async fn demo() -> Result<(), agno_server::db::DbError> {
//! use agno_server::db::{Db, SessionRecord, SessionType, SqliteDb};
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

mod checkpoint;
mod connection;
mod error;
mod jobs;
mod postgres;
mod queries;
mod read_pool;
mod records;
mod run_row;
mod schema;
mod sqlite;
mod writer;

pub use error::DbError;
pub use jobs::{
    ClaimedJob, JOBS_TABLE, JobFence, JobOutcome, JobQuery, JobRecord, JobSettlement, JobSortKey,
    JobStats, JobStatus, NewJob,
};
pub use postgres::{PostgresDb, PostgresDbOptions};
pub use records::{
    AgentData, MAX_JSON_DEPTH, ModelInfo, SORT_KEYS, SessionPage, SessionQuery, SessionRecord,
    SessionType, SortOrder, json_depth, json_len,
};
pub use schema::{AGNO_SCHEMA_VERSION, RUNS_TABLE, SCHEMA_VERSION, SESSIONS_TABLE, VERSIONS_TABLE};
pub use sqlite::{SqliteDb, SqliteDbOptions};

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
/// ([`Db::publish`], [`Db::subscribe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreEvent {
    /// Jobs were queued: workers with room claim them now rather than at
    /// their next poll.
    JobsQueued,
    /// Cancel this run wherever it is under way.
    CancelRun(String),
}

/// The future every [`Db`] method returns.
pub type DbFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DbError>> + Send + 'a>>;

/// Where sessions and runs are kept. Object-safe: use it as
/// `Arc<dyn Db>`.
pub trait Db: Send + Sync + 'static {
    /// What identifies the underlying store (two handles on the same store
    /// return the same value), so a server lists it once. `None`: every
    /// handle is its own store.
    fn identity(&self) -> Option<String> {
        None
    }

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

    /// [`Db::save_run`], and inserts `jobs` (the run's durable background
    /// hooks) in the SAME transaction: a run that is stored has its jobs,
    /// a run that is not has none.
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

    /// How long a claimed job stays its worker's without a renewal
    /// ([`Db::renew_leases`]) before any instance may take it over. `None`
    /// (SQLite): one process owns the store, and a job left `running` by
    /// another owner is a dead process's ([`Db::recover_jobs`] at start).
    fn lease(&self) -> Option<Duration> {
        None
    }

    /// Renews `owner`'s leases on its running jobs `ids` (every
    /// [`Db::lease`]` / 3`); returns how many it still holds (a job taken
    /// over is no longer `owner`'s).
    fn renew_leases(&self, owner: &str, ids: Vec<String>) -> DbFuture<'_, usize> {
        let _ = (owner, ids);
        Box::pin(async { Ok(0) })
    }

    /// What the instances sharing this store tell each other (new jobs,
    /// cancels), from the moment of the call; `None` when no other
    /// instance can share it (SQLite).
    fn subscribe(&self) -> Option<broadcast::Receiver<StoreEvent>> {
        None
    }

    /// Tells every instance on this store (this one too) about `event`.
    /// A store no other instance shares has no one to tell.
    fn publish(&self, event: StoreEvent) -> DbFuture<'_, ()> {
        let _ = event;
        Box::pin(async { Ok(()) })
    }

    /// Claims up to `limit` due, queued jobs of the agents `components`
    /// for the worker `owner` (each becomes `running`, its attempt
    /// counted), oldest first.
    fn claim_jobs(
        &self,
        owner: &str,
        components: Vec<String>,
        limit: usize,
    ) -> DbFuture<'_, Vec<ClaimedJob>>;

    /// Records how attempts ended; returns how many jobs changed (an
    /// attempt that is no longer the job's current one changes nothing).
    fn settle_jobs(&self, settlements: Vec<JobSettlement>) -> DbFuture<'_, usize>;

    /// At start-up: the jobs of `components` left `running` by a process
    /// that is gone are queued again (or failed, when out of attempts).
    /// Returns (queued again, failed).
    fn recover_jobs(&self, owner: &str, components: Vec<String>) -> DbFuture<'_, (usize, usize)>;

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

    /// Counts by status and the age of the oldest queued job.
    fn job_stats(&self) -> DbFuture<'_, JobStats>;

    /// The job a client's `Idempotency-Key` made for `user_id`, if any.
    fn job_by_key(&self, key: &str, user_id: Option<&str>) -> DbFuture<'_, Option<JobRecord>>;

    /// How many background runs wait in the queue.
    fn queued_runs(&self) -> DbFuture<'_, u64>;

    /// Cancels a queued background run (its job and its PENDING run, in
    /// one transaction); `false` when it was not queued.
    fn cancel_queued_run(&self, run_id: &str) -> DbFuture<'_, bool>;

    /// Fails the queued and running jobs of agents not in `components`
    /// (the agents of the one server using this store): they could never
    /// run. Returns how many. Only for a store one server owns (SQLite).
    fn fail_orphan_jobs(&self, components: Vec<String>) -> DbFuture<'_, usize>;

    /// Deletes the jobs of background runs that finished before `before`
    /// (epoch seconds); returns how many.
    fn prune_jobs(&self, before: i64) -> DbFuture<'_, usize>;

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
    /// (the others are left as they are).
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
    /// session with [`Db::get_runs_range`] instead.
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
