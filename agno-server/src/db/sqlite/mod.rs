//! [`SqliteDb`]: the [`Db`] on one SQLite file, laid out as Agno lays it out.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hooks_core::RunOutput;
use tokio::sync::broadcast;

use self::checkpoint::Checkpointer;
use self::connection::open_writer;
use self::read_pool::ReadPool;
use self::writer::{WriteGate, Writer};
use crate::clock::now_secs;
use crate::db::jobs::{self as queue, sql::Plan, transitions};
use crate::db::run_row::RunRow;
use crate::db::{
    ClaimedJob, Db, DbError, DbFuture, JobFence, JobQuery, JobRecord, JobSettlement, JobStats,
    JobStore, NewJob, Notifier, SessionPage, SessionQuery, SessionRecord, SessionStore, StoreEvent,
};
use crate::telemetry::{StoreLevels, StoreMetrics};

mod checkpoint;
mod connection;
mod jobs;
mod metrics;
mod read_pool;
mod rows;
mod schema;
mod sessions;
mod traces;
mod writer;

pub use schema::SCHEMA_VERSION;

/// Tuning of a [`SqliteDb`]; `SqliteDbOptions::default()` suits a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteDbOptions {
    /// How many read connections may be in use at once (default 4).
    pub read_connections: usize,
    /// How long a connection waits for a lock held by another process
    /// before failing (default 5 s).
    pub busy_timeout: Duration,
    /// How many writes may wait for the writer thread before callers wait
    /// to enqueue (default 1024).
    pub queue_capacity: usize,
    /// The most writes committed in one transaction (default 512).
    pub max_batch: usize,
    /// How often the checkpoint thread copies the WAL into the database
    /// file (default 50 ms); commits never wait for it.
    pub checkpoint_interval: Duration,
    /// Past how many frames (pages of 4 KiB) in the WAL the checkpoint
    /// thread holds the writer back for one short pass, so that the WAL
    /// starts over instead of growing (default 32 768 frames, 128 MiB:
    /// under steady load the writer waits 5 to 20 ms once per that many
    /// frames; a WAL that sees a quiet moment starts over without it).
    pub wal_reset_frames: i64,
    /// The size the WAL file is cut back to when it starts over, in bytes
    /// (SQLite's `journal_size_limit`; default 128 MiB), so a burst does not
    /// leave a larger file behind.
    pub wal_size_limit: i64,
}

impl Default for SqliteDbOptions {
    fn default() -> Self {
        Self {
            read_connections: 4,
            busy_timeout: Duration::from_secs(5),
            queue_capacity: 1024,
            max_batch: 512,
            checkpoint_interval: Duration::from_millis(50),
            wal_reset_frames: 32_768,
            wal_size_limit: 128 * 1024 * 1024,
        }
    }
}

/// Sessions and runs in one SQLite file (`agno_sessions`, `agno_runs`).
///
/// A cheap, clonable handle: clones share one writer thread (which owns the
/// only writing connection and commits queued writes together) and one
/// pool of read connections (used through `spawn_blocking`). No blocking
/// SQLite call runs on an async worker thread. When the last clone is
/// dropped, the writer finishes the queued writes, closes the file and its
/// thread is joined.
///
/// ```no_run
/// # fn main() -> Result<(), agno_server::db::DbError> {
/// use agno_server::db::SqliteDb;
/// let db = SqliteDb::new("tmp/agent.db")?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqliteDb {
    inner: Arc<Inner>,
}

/// Fields drop in order: the idle readers close first, so the writer's
/// connection is the last one and checkpoints the WAL into the file.
struct Inner {
    path: PathBuf,
    reads: Arc<ReadPool>,
    // Dropped in this order: the writer finishes its queue first, then the
    // checkpointer runs a last checkpoint.
    writer: Writer,
    _checkpointer: Checkpointer,
    /// Held for the store's life (released when the process ends, however
    /// it ends): see [`lock_file`].
    _lock: std::fs::File,
    /// Its commits and checkpoints, as they happen.
    metrics: StoreMetrics,
}

/// Takes the store's lock, `<file>.lock` beside it (an OS lock, `flock`):
/// a second process on the same file, or a second `SqliteDb` of this one,
/// is refused ([`DbError::InUse`]). One process owns a SQLite store: at
/// start it takes every job left `running` for a dead process's. (A lock
/// file of its own, not the database file: SQLite's own locks on the
/// database are POSIX locks, which closing any other descriptor of the
/// file would release.)
fn lock_file(path: &Path) -> Result<std::fs::File, DbError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(DbError::InUse {
            path: path.display().to_string(),
            lock: lock_path.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(error)) => Err(error.into()),
    }
}

impl fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteDb")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteDb {
    /// Opens (or creates, with its parent folders) the database at `path`
    /// with default options, and creates or migrates the tables.
    ///
    /// Blocks briefly (opening the file, migrating): call it at start-up, or
    /// from `spawn_blocking`.
    pub fn new(path: impl AsRef<Path>) -> Result<Self, DbError> {
        Self::with_options(path, SqliteDbOptions::default())
    }

    /// Like [`SqliteDb::new`], with `options`.
    pub fn with_options(path: impl AsRef<Path>, options: SqliteDbOptions) -> Result<Self, DbError> {
        let path = path.as_ref().to_path_buf();
        let text = path.to_string_lossy();
        if text.is_empty() || text == ":memory:" || text.starts_with("file:") {
            return Err(DbError::InvalidInput(format!(
                "{text:?} is not a file path (the store needs a file: its connections share it)"
            )));
        }
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        let lock = lock_file(&path)?;
        let mut conn = open_writer(&path, options.busy_timeout, options.wal_size_limit)?;
        let from = schema::migrate(&mut conn)?;
        if from != schema::SCHEMA_VERSION {
            tracing::info!(
                path = %path.display(),
                from,
                to = schema::SCHEMA_VERSION,
                "session store schema ready"
            );
        }
        let reads = Arc::new(ReadPool::new(
            path.clone(),
            options.busy_timeout,
            options.read_connections,
        ));
        reads.warm_up()?;
        let gate = WriteGate::default();
        let metrics = StoreMetrics::default();
        let writer = Writer::spawn(
            conn,
            options.queue_capacity,
            options.max_batch,
            gate.clone(),
            metrics.clone(),
        )?;
        let checkpointer = Checkpointer::spawn(
            &path,
            options.busy_timeout,
            options.checkpoint_interval,
            options.wal_reset_frames,
            gate,
            metrics.clone(),
        )?;
        tracing::debug!(path = %path.display(), "session store open");
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                reads,
                writer,
                _checkpointer: checkpointer,
                _lock: lock,
                metrics,
            }),
        })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

impl SqliteDb {
    /// Runs a job plan on the writer thread, in a transaction of its own
    /// (committed with whatever else the writer commits in that batch).
    async fn write<T: Send + 'static>(&self, plan: Plan<T>) -> Result<T, DbError> {
        if plan.is_empty() {
            return (plan.finish)(Vec::new());
        }
        self.inner
            .writer
            .submit(move |conn| jobs::run(conn, &plan))
            .await
    }

    /// Runs a job plan on a read connection.
    async fn read<T: Send + 'static>(&self, plan: Plan<T>) -> Result<T, DbError> {
        self.inner
            .reads
            .run(move |conn| jobs::run(conn, &plan))
            .await
    }
}

impl Db for SqliteDb {
    fn identity(&self) -> Option<String> {
        Some(format!("sqlite:{}", self.inner.path.display()))
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn metrics(&self) -> Option<&StoreMetrics> {
        Some(&self.inner.metrics)
    }

    fn levels(&self) -> StoreLevels {
        let mut wal = self.inner.path.clone().into_os_string();
        wal.push("-wal");
        StoreLevels {
            // No WAL file (checkpointed and closed) is an empty one.
            wal_bytes: Some(std::fs::metadata(wal).map_or(0, |m| m.len())),
            pool: None,
        }
    }
}

impl SessionStore for SqliteDb {
    fn save_run_with_jobs<'a>(
        &'a self,
        session: SessionRecord,
        run: &'a RunOutput,
        new_jobs: Vec<NewJob>,
        fence: Option<JobFence>,
    ) -> DbFuture<'a, ()> {
        Box::pin(async move {
            let row = RunRow::new(&session, run)?;
            let now = now_secs();
            let fenced = fence.as_ref().map(transitions::complete_fenced);
            let inserted = transitions::insert(&new_jobs, Duration::ZERO);
            self.inner
                .writer
                .submit(move |conn| {
                    if let Some(fenced) = &fenced {
                        jobs::run(conn, fenced)?;
                    }
                    sessions::save_run(conn, &session, &row, now)?;
                    jobs::run(conn, &inserted)
                })
                .await
        })
    }

    fn upsert_session(&self, session: SessionRecord) -> DbFuture<'_, ()> {
        Box::pin(async move {
            session.check_writable()?;
            self.inner
                .writer
                .submit(move |conn| sessions::upsert_session(conn, &session))
                .await
        })
    }

    fn get_session(&self, session_id: &str) -> DbFuture<'_, Option<SessionRecord>> {
        let session_id = session_id.to_owned();
        Box::pin(async move {
            self.inner
                .reads
                .run(move |conn| sessions::get_session(conn, &session_id))
                .await
        })
    }

    fn list_sessions(&self, query: SessionQuery) -> DbFuture<'_, SessionPage> {
        Box::pin(async move {
            // Reject a bad query before taking a connection.
            query.paging()?;
            query.sort_key()?;
            self.inner
                .reads
                .run(move |conn| sessions::list_sessions(conn, &query))
                .await
        })
    }

    fn delete_sessions(
        &self,
        session_ids: Vec<String>,
        user_id: Option<&str>,
    ) -> DbFuture<'_, u64> {
        let user_id = user_id.map(str::to_owned);
        Box::pin(async move {
            if session_ids.is_empty() {
                return Ok(0);
            }
            self.inner
                .writer
                .submit(move |conn| {
                    sessions::delete_sessions(conn, &session_ids, user_id.as_deref())
                })
                .await
        })
    }

    fn rename_session(
        &self,
        session_id: &str,
        name: &str,
        user_id: Option<&str>,
    ) -> DbFuture<'_, Option<SessionRecord>> {
        let session_id = session_id.to_owned();
        let name = name.to_owned();
        let user_id = user_id.map(str::to_owned);
        Box::pin(async move {
            self.inner
                .writer
                .submit(move |conn| {
                    sessions::rename_session(conn, &session_id, &name, user_id.as_deref())
                })
                .await
        })
    }

    fn get_runs_range(
        &self,
        session_id: &str,
        offset: u64,
        limit: usize,
    ) -> DbFuture<'_, Vec<RunOutput>> {
        let session_id = session_id.to_owned();
        let (offset, limit) = (
            i64::try_from(offset).unwrap_or(i64::MAX),
            i64::try_from(limit).unwrap_or(i64::MAX),
        );
        Box::pin(async move {
            self.inner
                .reads
                .run(move |conn| sessions::get_runs_page(conn, &session_id, limit, offset))
                .await
        })
    }

    fn get_run(&self, run_id: &str) -> DbFuture<'_, Option<RunOutput>> {
        let run_id = run_id.to_owned();
        Box::pin(async move {
            self.inner
                .reads
                .run(move |conn| sessions::get_run(conn, &run_id))
                .await
        })
    }

    fn recent_runs(&self, session_id: &str, limit: usize) -> DbFuture<'_, Vec<RunOutput>> {
        let session_id = session_id.to_owned();
        Box::pin(async move {
            if limit == 0 {
                return Ok(Vec::new());
            }
            self.inner
                .reads
                .run(move |conn| sessions::recent_runs(conn, &session_id, limit))
                .await
        })
    }
}

impl JobStore for SqliteDb {
    /// None: one process owns the file.
    fn lease(&self) -> Option<Duration> {
        None
    }

    /// Nothing to renew: no other process can take a job over.
    fn renew_leases(&self, owner: &str, held: Vec<(String, u32)>) -> DbFuture<'_, usize> {
        let _ = owner;
        Box::pin(async move { Ok(held.len()) })
    }

    fn claim_jobs(
        &self,
        owner: &str,
        components: Vec<String>,
        hooks: Vec<String>,
        limit: usize,
    ) -> DbFuture<'_, Vec<ClaimedJob>> {
        let plan = transitions::claim(owner, &components, &hooks, limit, Duration::ZERO);
        Box::pin(self.write(plan))
    }

    fn settle_jobs(&self, settlements: Vec<JobSettlement>) -> DbFuture<'_, usize> {
        Box::pin(self.write(transitions::settle(&settlements)))
    }

    fn recover_jobs(
        &self,
        owner: &str,
        components: Vec<String>,
        held: Vec<(String, u32)>,
    ) -> DbFuture<'_, (usize, usize)> {
        let abandoned = transitions::Abandoned {
            owner: owner.to_owned(),
            lease: Duration::ZERO,
            held,
        };
        let plan = transitions::recover(
            &components,
            &abandoned,
            "the process running it stopped during attempt ",
        );
        Box::pin(self.write(plan))
    }

    fn get_job(&self, id: &str) -> DbFuture<'_, Option<JobRecord>> {
        Box::pin(self.read(queue::get(id)))
    }

    fn list_jobs(&self, query: JobQuery) -> DbFuture<'_, (Vec<JobRecord>, u64)> {
        Box::pin(async move { self.read(queue::list(&query)?).await })
    }

    fn requeue_job(&self, id: &str) -> DbFuture<'_, Option<bool>> {
        Box::pin(self.write(transitions::requeue(id)))
    }

    fn requeue_jobs(&self, query: JobQuery) -> DbFuture<'_, Vec<String>> {
        Box::pin(self.write(transitions::requeue_many(&query)))
    }

    fn job_stats(&self) -> DbFuture<'_, JobStats> {
        Box::pin(self.read(queue::stats()))
    }

    fn job_by_key(&self, key: &str, user_id: Option<&str>) -> DbFuture<'_, Option<JobRecord>> {
        Box::pin(self.read(queue::by_key(key, user_id)))
    }

    fn job_backlog(&self, component: &str, bound: usize) -> DbFuture<'_, (u64, Option<i64>)> {
        Box::pin(self.read(queue::backlog(component, bound)))
    }

    fn queued_runs(&self) -> DbFuture<'_, u64> {
        Box::pin(self.read(queue::queued_runs()))
    }

    fn cancel_queued_run(&self, run_id: &str) -> DbFuture<'_, bool> {
        Box::pin(self.write(transitions::cancel_queued_run(run_id)))
    }

    fn fail_orphan_jobs(&self, components: Vec<String>) -> DbFuture<'_, usize> {
        Box::pin(self.write(transitions::fail_orphans(&components)))
    }

    fn prune_jobs(&self, retention: Duration, failed_retention: Duration) -> DbFuture<'_, usize> {
        Box::pin(self.write(transitions::prune(retention, failed_retention)))
    }

    fn prune_runs(&self, retention: Duration) -> DbFuture<'_, usize> {
        Box::pin(self.write(transitions::prune_runs(retention)))
    }

    fn fail_missing_hooks(
        &self,
        components: Vec<String>,
        hooks: Vec<String>,
        after: Duration,
    ) -> DbFuture<'_, usize> {
        Box::pin(self.write(transitions::fail_missing_hooks(&components, &hooks, after)))
    }

    fn requeue_found_hooks(
        &self,
        components: Vec<String>,
        hooks: Vec<String>,
    ) -> DbFuture<'_, usize> {
        Box::pin(self.write(transitions::requeue_found_hooks(&components, &hooks)))
    }
}

/// One process owns the file: there is no other instance to tell.
impl Notifier for SqliteDb {
    fn subscribe(&self) -> Option<broadcast::Receiver<StoreEvent>> {
        None
    }

    fn publish(&self, event: StoreEvent) -> DbFuture<'_, ()> {
        let _ = event;
        Box::pin(async { Ok(()) })
    }

    fn cancels_since(&self, since: Option<i64>) -> DbFuture<'_, (Vec<String>, i64)> {
        Box::pin(async move { Ok((Vec::new(), since.unwrap_or(0))) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_paths_are_refused() {
        assert!(matches!(
            SqliteDb::new(":memory:"),
            Err(DbError::InvalidInput(_))
        ));
    }
}
