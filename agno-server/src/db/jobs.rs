//! The durable job queue's rows (`agno_jobs`, in Agno 3.1.10's layout)
//! and their SQL.
//!
//! A job is one unit of background work that must survive the process: a
//! durable background hook today (`job_type = "hook"`), a background run
//! next (`"run"`, Agno's only kind). Its life:
//!
//! ```text
//! queued ──claim──> running ──ok──> (deleted)
//!   ▲                  │ error, attempts left: queued again, available later (back-off)
//!   │                  │ error, none left ───> failed ──requeue──> queued
//!   └── start-up: a running row of a dead owner (crash) is queued again,
//!       or failed when its attempts are used up
//! ```
//!
//! Completed jobs are deleted when they complete: a busy server writes
//! thousands a second, and what proves a hook ran is its own side effect
//! (plus the counters in `GET /hooks`). Failed jobs stay until requeued:
//! deleting a session does not delete them.
//!
//! `attempt` doubles as a fencing token (as in Agno): every write about a
//! running job names the attempt it is about, so a worker whose job was
//! taken over (a lease that expired, on Postgres) cannot settle it.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::Value;

use super::DbError;

/// The table.
pub const JOBS_TABLE: &str = "agno_jobs";

/// Where a job is in its life (Agno's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting to run (new, or a retry waiting for its back-off).
    Queued,
    /// Claimed by a worker.
    Running,
    /// Finished (rows are deleted at once; seen only in counts).
    Completed,
    /// Out of attempts, or its hook or agent is gone: kept, visible,
    /// requeueable.
    Failed,
    /// Cancelled before it ran.
    Cancelled,
}

impl JobStatus {
    /// Every status, in the order counts are listed.
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    /// The stored text.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// The status stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<JobStatus> {
        JobStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A job to insert with its run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The job's id (a UUID; stable across attempts).
    pub id: String,
    /// `"hook"` (a durable background hook) or `"run"`.
    pub job_type: &'static str,
    /// The agent's id.
    pub component_id: String,
    /// The run's session.
    pub session_id: String,
    /// The run's user.
    pub user_id: Option<String>,
    /// What the worker needs to run it (JSON text).
    pub payload: String,
    /// How many attempts it gets.
    pub max_attempts: u32,
    /// `Some(owner)`: inserted already claimed by `owner` (attempt 1),
    /// which starts it as soon as the transaction commits; `None`: queued.
    pub claimed_by: Option<String>,
    /// The client's dedup key (`Idempotency-Key`, background runs).
    pub idempotency_key: Option<String>,
}

/// Which attempt of which job a write belongs to: a background run's
/// result is written only while its job is still `running` at that
/// attempt (see [`Db::save_run_with_jobs`](super::Db::save_run_with_jobs)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFence {
    /// The job (a background run's job id is its run id).
    pub job_id: String,
    /// The attempt the writer holds.
    pub attempt: u32,
}

/// Completes the job `fence` holds, in the transaction that writes its
/// background run's result, so the run's end and its job's end are one
/// commit (a crash between the two cannot leave a finished run whose job
/// looks abandoned). Refuses the write ([`DbError::Fenced`]) when the job
/// moved on: taken over by another worker, cancelled, settled. The caller
/// holds the write's transaction.
pub(crate) fn complete_fenced(
    conn: &Connection,
    fence: &JobFence,
    now: i64,
) -> Result<(), DbError> {
    let changed = conn
        .prepare_cached(
            "UPDATE agno_jobs SET status = 'completed', locked_by = NULL, locked_at = NULL,
                    updated_at = ?3, completed_at = ?3
              WHERE id = ?1 AND attempt = ?2 AND status = 'running'",
        )?
        .execute(params![fence.job_id, fence.attempt, now])?;
    if changed == 0 {
        return Err(DbError::Fenced {
            job_id: fence.job_id.clone(),
            attempt: fence.attempt,
        });
    }
    Ok(())
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobRecord {
    /// The job's id.
    pub id: String,
    /// `agent` (Agno's `component_type`).
    pub component_type: String,
    /// `hook` or `run`.
    pub job_type: String,
    /// The agent's id.
    pub component_id: String,
    /// The run's session.
    pub session_id: String,
    /// The run's user.
    pub user_id: Option<String>,
    /// What the worker needs to run it (`{}` in lists: a durable hook's
    /// payload holds its whole run; read one job to see it).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Where it is in its life.
    pub status: JobStatus,
    /// Attempts made so far (the current one while running).
    pub attempt: u32,
    /// Attempts it gets.
    pub max_attempts: u32,
    /// The client's dedup key (background runs), if any.
    pub idempotency_key: Option<String>,
    /// Epoch seconds from which it may be claimed.
    pub available_at: i64,
    /// The worker holding it, while running.
    pub locked_by: Option<String>,
    /// When that worker claimed it (epoch seconds).
    pub locked_at: Option<i64>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds.
    pub updated_at: Option<i64>,
    /// Epoch seconds, once finished.
    pub completed_at: Option<i64>,
}

/// How an attempt ended, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Done: a hook's row is deleted. (A background run's job is completed
    /// by its run's final write, fenced by its attempt: this changes
    /// nothing more for it.)
    Completed,
    /// Failed, with attempts left: queued again after `delay_secs`.
    Retry {
        /// Why.
        error: String,
        /// Back-off before the next attempt.
        delay_secs: i64,
    },
    /// Failed for good (out of attempts, or it can never run).
    Failed {
        /// Why.
        error: String,
    },
    /// Not run to its end (the process is stopping): queued again at
    /// once, this attempt not counted.
    Released,
}

/// One settled attempt: which job, which attempt (the fence), and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSettlement {
    /// The job.
    pub id: String,
    /// The attempt being settled; a row at another attempt is left alone.
    pub attempt: u32,
    /// How it ended.
    pub outcome: JobOutcome,
}

/// A job handed to a worker by a claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// The job's id.
    pub id: String,
    /// `hook` or `run`.
    pub job_type: String,
    /// The agent's id.
    pub component_id: String,
    /// The payload (JSON text).
    pub payload: String,
    /// This attempt's number (from 1).
    pub attempt: u32,
    /// Attempts it gets.
    pub max_attempts: u32,
}

/// Which jobs [`Db::list_jobs`](super::Db::list_jobs) lists, and in what
/// order (Agno's `GET /queue/jobs` filters). `JobQuery::default()`: the
/// 20 newest jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobQuery {
    /// Only jobs in one of these statuses (empty: any).
    pub statuses: Vec<JobStatus>,
    /// Only jobs of one of these sessions (empty: any).
    pub session_ids: Vec<String>,
    /// Only jobs of this user.
    pub user_id: Option<String>,
    /// The column sorted on.
    pub sort_by: JobSortKey,
    /// Its direction (jobs without a value go last either way).
    pub sort_order: super::SortOrder,
    /// Jobs per page (at least 1).
    pub limit: usize,
    /// The page, from 1.
    pub page: usize,
}

impl Default for JobQuery {
    fn default() -> Self {
        Self {
            statuses: Vec::new(),
            session_ids: Vec::new(),
            user_id: None,
            sort_by: JobSortKey::CreatedAt,
            sort_order: super::SortOrder::Desc,
            limit: 20,
            page: 1,
        }
    }
}

impl JobQuery {
    /// The first page of jobs in `status`, newest first.
    pub fn of_status(status: JobStatus) -> Self {
        Self {
            statuses: vec![status],
            ..Self::default()
        }
    }

    /// The statuses as JSON text (`None`: any), for a SQL `IN`.
    pub(crate) fn statuses_json(&self) -> Option<String> {
        (!self.statuses.is_empty()).then(|| {
            let names: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
            serde_json::Value::from(names).to_string()
        })
    }
}

/// What a job list is sorted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobSortKey {
    /// When it was made (the default).
    #[default]
    CreatedAt,
    /// When it last changed (its making, if never).
    UpdatedAt,
    /// From when it may be claimed.
    AvailableAt,
    /// When it finished.
    CompletedAt,
}

impl JobSortKey {
    /// The key named `name`; Agno ignores a name it does not know (the
    /// default order), and so does this.
    pub fn named(name: &str) -> JobSortKey {
        match name {
            "updated_at" => JobSortKey::UpdatedAt,
            "available_at" => JobSortKey::AvailableAt,
            "completed_at" => JobSortKey::CompletedAt,
            _ => JobSortKey::CreatedAt,
        }
    }

    /// The SQL it sorts on.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            JobSortKey::CreatedAt => "created_at",
            JobSortKey::UpdatedAt => "coalesce(updated_at, created_at)",
            JobSortKey::AvailableAt => "available_at",
            JobSortKey::CompletedAt => "completed_at",
        }
    }
}

/// Counts by status and the age of the oldest queued job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobStats {
    /// How many stored jobs have each status (`completed` is always 0:
    /// completed rows are deleted).
    #[schema(value_type = std::collections::BTreeMap<String, u64>)]
    pub counts: std::collections::BTreeMap<&'static str, u64>,
    /// Seconds since the oldest queued job was created (`null` when none
    /// is queued, as Agno answers).
    pub oldest_queued_age_seconds: Option<i64>,
}

/// Inserts `jobs` (the caller holds the run's transaction).
pub(crate) fn insert(conn: &Connection, jobs: &[NewJob], now: i64) -> Result<(), DbError> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO agno_jobs (
             id, component_type, job_type, deployment_id, component_id, session_id, user_id,
             payload, status, attempt, max_attempts, idempotency_key, available_at,
             locked_by, locked_at, error, created_at, updated_at, completed_at)
         VALUES (?1, 'agent', ?2, NULL, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?13, ?10, ?11, ?12, NULL,
                 ?10, ?10, NULL)",
    )?;
    for job in jobs {
        let (status, attempt, locked_at) = match job.claimed_by {
            Some(_) => (JobStatus::Running, 1, Some(now)),
            None => (JobStatus::Queued, 0, None),
        };
        insert.execute(params![
            job.id,
            job.job_type,
            job.component_id,
            job.session_id,
            job.user_id,
            job.payload,
            status.as_str(),
            attempt,
            job.max_attempts,
            now,
            job.claimed_by,
            locked_at,
            job.idempotency_key,
        ])?;
    }
    Ok(())
}

/// Claims up to `limit` queued jobs of `components` (agent ids) that are
/// due, oldest first, for `owner`: each becomes `running` with its
/// attempt counted.
pub(crate) fn claim(
    conn: &Connection,
    owner: &str,
    components: &[String],
    limit: usize,
    now: i64,
) -> Result<Vec<ClaimedJob>, DbError> {
    if components.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let components = serde_json::to_string(components)?;
    let mut claim = conn.prepare_cached(
        "UPDATE agno_jobs
            SET status = 'running', attempt = attempt + 1, locked_by = ?1, locked_at = ?2,
                updated_at = ?2
          WHERE id IN (SELECT id FROM agno_jobs
                        WHERE status = 'queued' AND available_at <= ?2
                          AND component_id IN (SELECT value FROM json_each(?3))
                        ORDER BY available_at, created_at LIMIT ?4)
         RETURNING id, job_type, component_id, payload, attempt, max_attempts",
    )?;
    let rows = claim.query_map(params![owner, now, components, limit as i64], |row| {
        Ok(ClaimedJob {
            id: row.get(0)?,
            job_type: row.get(1)?,
            component_id: row.get(2)?,
            payload: row.get(3)?,
            attempt: row.get(4)?,
            max_attempts: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Settles attempts; returns how many rows were changed (a settlement
/// whose job moved on, fenced out by its attempt, changes none).
pub(crate) fn settle(
    conn: &Connection,
    settlements: &[JobSettlement],
    now: i64,
) -> Result<usize, DbError> {
    let mut changed = 0;
    for s in settlements {
        changed += match &s.outcome {
            // A hook's job is deleted. A background run's job was completed
            // by its run's own final write ([`complete_fenced`]), in the
            // same commit: nothing is left to do for it.
            JobOutcome::Completed => conn
                .prepare_cached(
                    "DELETE FROM agno_jobs
                      WHERE id = ?1 AND attempt = ?2 AND status = 'running' AND job_type = 'hook'",
                )?
                .execute(params![s.id, s.attempt])?,
            JobOutcome::Retry { error, delay_secs } => conn
                .prepare_cached(
                    "UPDATE agno_jobs SET status = 'queued', available_at = ?3, error = ?4,
                            locked_by = NULL, locked_at = NULL, updated_at = ?5
                      WHERE id = ?1 AND attempt = ?2 AND status = 'running'",
                )?
                .execute(params![s.id, s.attempt, now + delay_secs, error, now])?,
            JobOutcome::Failed { error } => {
                let failed = conn
                    .prepare_cached(
                        "UPDATE agno_jobs SET status = 'failed', error = ?3, locked_by = NULL,
                                locked_at = NULL, updated_at = ?4, completed_at = ?4
                          WHERE id = ?1 AND attempt = ?2 AND status = 'running'",
                    )?
                    .execute(params![s.id, s.attempt, error, now])?;
                // A background run that will not run again ends visibly.
                if failed > 0 {
                    conn.prepare_cached(
                        "UPDATE agno_runs SET status = 'ERROR',
                                run_data = json_set(run_data, '$.status', 'ERROR', '$.content', ?2),
                                updated_at = ?3
                          WHERE run_id = ?1 AND status IN ('PENDING', 'RUNNING')
                            AND json_valid(run_data)
                            AND EXISTS (SELECT 1 FROM agno_jobs WHERE id = ?1 AND job_type = 'run')",
                    )?
                    .execute(params![s.id, error, now])?;
                }
                failed
            }
            JobOutcome::Released => conn
                .prepare_cached(
                    "UPDATE agno_jobs SET status = 'queued', attempt = attempt - 1,
                            available_at = ?3, locked_by = NULL, locked_at = NULL, updated_at = ?3
                      WHERE id = ?1 AND attempt = ?2 AND status = 'running'",
                )?
                .execute(params![s.id, s.attempt, now])?,
        };
    }
    Ok(changed)
}

/// At start-up: every `running` job of `components` not held by `owner`
/// was running in a process that is gone (one process per SQLite file).
/// Those with attempts left are queued again; the others fail, saying so.
/// Returns (queued again, failed).
pub(crate) fn recover(
    conn: &Connection,
    owner: &str,
    components: &[String],
    now: i64,
) -> Result<(usize, usize), DbError> {
    let components = serde_json::to_string(components)?;
    // A background run that will not run again ends visibly: its PENDING
    // row says ERROR, and why.
    conn.prepare_cached(
        "UPDATE agno_runs SET status = 'ERROR',
                run_data = json_set(run_data, '$.status', 'ERROR', '$.content',
                    'the process running it stopped; it is not run again (max_attempts)'),
                updated_at = ?2
          WHERE run_id IN (SELECT id FROM agno_jobs
                            WHERE job_type = 'run' AND status = 'running'
                              AND coalesce(locked_by, '') <> ?1 AND attempt >= max_attempts
                              AND component_id IN (SELECT value FROM json_each(?3)))
            AND status IN ('PENDING', 'RUNNING') AND json_valid(run_data)",
    )?
    .execute(params![owner, now, components])?;
    let failed = conn
        .prepare_cached(
            "UPDATE agno_jobs SET status = 'failed', locked_by = NULL, locked_at = NULL,
                    error = 'the process running it stopped during attempt ' || attempt
                            || ' of ' || max_attempts,
                    updated_at = ?2, completed_at = ?2
              WHERE status = 'running' AND coalesce(locked_by, '') <> ?1
                AND attempt >= max_attempts
                AND component_id IN (SELECT value FROM json_each(?3))",
        )?
        .execute(params![owner, now, components])?;
    let queued = conn
        .prepare_cached(
            "UPDATE agno_jobs SET status = 'queued', locked_by = NULL, locked_at = NULL,
                    available_at = ?2, updated_at = ?2
              WHERE status = 'running' AND coalesce(locked_by, '') <> ?1
                AND component_id IN (SELECT value FROM json_each(?3))",
        )?
        .execute(params![owner, now, components])?;
    Ok((queued, failed))
}

/// Before the sessions `session_ids` are deleted (their runs with them):
/// the durable hooks' jobs still to run or requeue (queued, running,
/// failed) whose payload refers to its run as stored
/// ([`copy_run_in`](crate::jobs::copy_run_in)) get a copy of the run, so
/// they run as they would have. The caller holds the delete's
/// transaction. Returns how many jobs were changed. (A scan of the jobs
/// table: deletes are rare, and an index on `session_id` would cost every
/// job's insert.)
pub(crate) fn copy_runs_into_jobs(
    conn: &Connection,
    session_ids: &[String],
) -> Result<usize, DbError> {
    let sessions = serde_json::to_string(session_ids)?;
    let mut select = conn.prepare_cached(
        "SELECT j.id, j.payload, r.run_id, r.run_data FROM agno_jobs AS j
           JOIN agno_runs AS r ON r.run_id = json_extract(j.payload, '$.run_id')
          WHERE j.job_type = 'hook' AND j.status IN ('queued', 'running', 'failed')
            AND j.session_id IN (SELECT value FROM json_each(?1))
            AND (json_extract(j.payload, '$.input_is_run')
                 OR json_extract(j.payload, '$.output_is_run'))",
    )?;
    let found = select
        .query_map([&sessions], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                (row.get::<_, String>(2)?, row.get::<_, SqlValue>(3)?),
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut update = conn.prepare_cached("UPDATE agno_jobs SET payload = ?2 WHERE id = ?1")?;
    for (id, payload, run) in &found {
        let run = super::queries::decode_run(run.clone())?;
        let payload = crate::jobs::copy_run_in(payload, run)
            .map_err(|e| DbError::corrupt(JOBS_TABLE, id, "payload", e))?;
        update.execute(params![id, payload])?;
    }
    Ok(found.len())
}

/// The job a client's `Idempotency-Key` (for `user_id`) made, if any.
pub(crate) fn by_key(
    conn: &Connection,
    key: &str,
    user_id: Option<&str>,
) -> Result<Option<JobRecord>, DbError> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM agno_jobs
              WHERE idempotency_key = ?1 AND user_id IS ?2"
        ))?
        .query_row(params![key, user_id], |row| record(row, false))
        .optional()?;
    Ok(found.map(|(job, _)| job))
}

/// How many background runs wait in the queue.
pub(crate) fn queued_runs(conn: &Connection) -> Result<u64, DbError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM agno_jobs WHERE status = 'queued' AND job_type = 'run'",
        )?
        .query_row([], |row| row.get(0))?;
    Ok(n as u64)
}

/// Cancels a queued background run: its job becomes `cancelled` and its
/// PENDING run `CANCELLED`. `false` when it was not queued.
pub(crate) fn cancel_queued_run(
    conn: &Connection,
    run_id: &str,
    now: i64,
) -> Result<bool, DbError> {
    let changed = conn
        .prepare_cached(
            "UPDATE agno_jobs SET status = 'cancelled', updated_at = ?2, completed_at = ?2
              WHERE id = ?1 AND job_type = 'run' AND status = 'queued'",
        )?
        .execute(params![run_id, now])?;
    if changed == 0 {
        return Ok(false);
    }
    conn.prepare_cached(
        "UPDATE agno_runs SET status = 'CANCELLED',
                run_data = json_set(run_data, '$.status', 'CANCELLED', '$.content',
                                    'Run ' || run_id || ' was cancelled'),
                updated_at = ?2
          WHERE run_id = ?1 AND json_valid(run_data)",
    )?
    .execute(params![run_id, now])?;
    Ok(true)
}

/// Deletes finished background runs' jobs (completed or cancelled) older
/// than `before` (epoch seconds); failed jobs stay until requeued.
pub(crate) fn prune(conn: &Connection, before: i64) -> Result<usize, DbError> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM agno_jobs WHERE status IN ('completed', 'cancelled')
                AND completed_at < ?1",
        )?
        .execute([before])?)
}

/// Fails the queued or running jobs of agents not in `components` (a
/// server that no longer has the agent a job names): they could never
/// run, and would wait unseen. Returns how many.
pub(crate) fn fail_orphans(
    conn: &Connection,
    components: &[String],
    now: i64,
) -> Result<usize, DbError> {
    let components = serde_json::to_string(components)?;
    conn.prepare_cached(
        "UPDATE agno_runs SET status = 'ERROR',
                run_data = json_set(run_data, '$.status', 'ERROR', '$.content',
                    'no agent named ' || agent_id || ' in the server that runs its jobs'),
                updated_at = ?2
          WHERE run_id IN (SELECT id FROM agno_jobs
                            WHERE job_type = 'run' AND status IN ('queued', 'running')
                              AND component_id NOT IN (SELECT value FROM json_each(?1)))
            AND json_valid(run_data)",
    )?
    .execute(params![components, now])?;
    Ok(conn
        .prepare_cached(
            "UPDATE agno_jobs SET status = 'failed', locked_by = NULL, locked_at = NULL,
                    error = 'no agent named ' || component_id || ' in the server that runs its jobs (renamed or removed)',
                    updated_at = ?2, completed_at = ?2
              WHERE status IN ('queued', 'running')
                AND component_id NOT IN (SELECT value FROM json_each(?1))",
        )?
        .execute(params![components, now])?)
}

/// Puts a failed or cancelled job back in the queue for one more attempt
/// (as Agno: `max_attempts` becomes `attempt + 1`). The attempt count is
/// kept, not reset: it is the fence, and a worker still holding an old
/// attempt must never match a new one. `None` when there is no such job,
/// `Some(false)` when it is in another state.
pub(crate) fn requeue(conn: &Connection, id: &str, now: i64) -> Result<Option<bool>, DbError> {
    let changed = conn
        .prepare_cached(
            "UPDATE agno_jobs SET status = 'queued', max_attempts = attempt + 1, available_at = ?2,
                    locked_by = NULL, locked_at = NULL, completed_at = NULL, updated_at = ?2
              WHERE id = ?1 AND status IN ('failed', 'cancelled')",
        )?
        .execute(params![id, now])?;
    if changed > 0 {
        return Ok(Some(true));
    }
    let exists = conn
        .prepare_cached("SELECT 1 FROM agno_jobs WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?;
    Ok(exists.map(|()| false))
}

const COLUMNS: &str = "id, component_type, job_type, component_id, session_id, user_id, payload, \
     status, attempt, max_attempts, available_at, locked_by, locked_at, error, created_at, \
     updated_at, completed_at, idempotency_key";

fn record(row: &Row<'_>, with_payload: bool) -> rusqlite::Result<(JobRecord, Option<String>)> {
    let status: String = row.get(7)?;
    let payload: Option<String> = if with_payload { row.get(6)? } else { None };
    Ok((
        JobRecord {
            id: row.get(0)?,
            component_type: row.get(1)?,
            job_type: row.get(2)?,
            component_id: row.get(3)?,
            session_id: row.get(4)?,
            user_id: row.get(5)?,
            payload: Value::Object(Default::default()),
            status: JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
            attempt: row.get(8)?,
            max_attempts: row.get(9)?,
            idempotency_key: row.get(17)?,
            available_at: row.get(10)?,
            locked_by: row.get(11)?,
            locked_at: row.get(12)?,
            error: row.get(13)?,
            created_at: row.get(14)?,
            updated_at: row.get(15)?,
            completed_at: row.get(16)?,
        },
        payload,
    ))
}

/// One job with its payload, or `None`.
pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<JobRecord>, DbError> {
    let found = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM agno_jobs WHERE id = ?1"))?
        .query_row([id], |row| record(row, true))
        .optional()?;
    let Some((mut job, payload)) = found else {
        return Ok(None);
    };
    if let Some(text) = payload {
        job.payload = serde_json::from_str(&text)
            .map_err(|e| DbError::corrupt(JOBS_TABLE, id, "payload", e))?;
    }
    Ok(Some(job))
}

/// A page of the jobs `query` asks for (without payloads), and how many
/// match in all.
pub(crate) fn list(conn: &Connection, query: &JobQuery) -> Result<(Vec<JobRecord>, u64), DbError> {
    let (limit, offset) = super::records::page_offset(query.limit, query.page)?;
    let statuses = query.statuses_json();
    let sessions = (!query.session_ids.is_empty())
        .then(|| serde_json::to_string(&query.session_ids))
        .transpose()?;
    const WHERE: &str = "(?1 IS NULL OR status IN (SELECT value FROM json_each(?1)))
           AND (?2 IS NULL OR session_id IN (SELECT value FROM json_each(?2)))
           AND (?3 IS NULL OR user_id = ?3)";
    let filters = params![statuses, sessions, query.user_id];
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM agno_jobs WHERE {WHERE}"))?
        .query_row(filters, |row| row.get(0))?;
    let (key, order) = (query.sort_by.sql(), query.sort_order.sql());
    let mut select = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM agno_jobs WHERE {WHERE}
         ORDER BY {key} IS NULL, {key} {order}, id {order} LIMIT ?4 OFFSET ?5"
    ))?;
    let rows = select.query_map(
        params![statuses, sessions, query.user_id, limit, offset],
        |row| record(row, false).map(|(job, _)| job),
    )?;
    Ok((rows.collect::<Result<_, _>>()?, total as u64))
}

/// Counts by status and the oldest queued job's age.
pub(crate) fn stats(conn: &Connection, now: i64) -> Result<JobStats, DbError> {
    let mut stats = JobStats::default();
    for status in JobStatus::ALL {
        stats.counts.insert(status.as_str(), 0);
    }
    let mut counts =
        conn.prepare_cached("SELECT status, count(*) FROM agno_jobs GROUP BY status")?;
    let rows = counts.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (status, n) = row?;
        if let Some(status) = JobStatus::parse(&status) {
            stats.counts.insert(status.as_str(), n as u64);
        }
    }
    let oldest: Option<i64> = conn
        .prepare_cached("SELECT min(created_at) FROM agno_jobs WHERE status = 'queued'")?
        .query_row([], |row| row.get::<_, SqlValue>(0))
        .map(|v| match v {
            SqlValue::Integer(i) => Some(i),
            _ => None,
        })?;
    stats.oldest_queued_age_seconds = oldest.map(|t| (now - t).max(0));
    Ok(stats)
}
