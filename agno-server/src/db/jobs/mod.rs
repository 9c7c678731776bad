//! The durable job queue's rows (`agno_jobs`, in Agno 3.1.10's layout),
//! neutral: what both stores read and write, and the one description of
//! a job's life ([`transitions`]), whose statements both stores run
//! ([`sql`]).
//!
//! A job is one unit of background work that must survive the process: a
//! durable background hook ([`JobType::Hook`]) or a background run
//! ([`JobType::Run`], Agno's only kind). Its life:
//!
//! ```text
//! queued ──claim──> running ──ok──> (deleted: a hook) / completed (a run)
//!   ▲                  │ error, attempts left: queued again, available later (back-off)
//!   │                  │ error, none left ───> failed ──requeue──> queued
//!   └── recovered: a running job whose instance stopped (its process is
//!       gone, or its lease ran out) is queued again, or failed when its
//!       attempts are used up
//! ```
//!
//! Completed hook jobs are deleted when they complete: a busy server
//! writes thousands a second, and what proves a hook ran is its own side
//! effect (plus the counters in `GET /hooks`). Failed jobs stay until
//! requeued: deleting a session does not delete them.
//!
//! `attempt` doubles as a fencing token (as in Agno): every write about a
//! running job names the attempt it is about, so a worker whose job was
//! taken over (a lease that expired) cannot settle it.
//!
//! A hook's job may read its run back instead of copying it
//! ([`NewJob::run_id`]); the store keeps that run for the job: when the
//! run's session is deleted first, the run's data is copied into the job
//! ([`ClaimedJob::run`]), in the delete's transaction.

use serde::Serialize;
use serde_json::Value;

mod reads;
mod render;
pub(crate) mod sql;
pub(crate) mod transitions;

pub(crate) use reads::{backlog, by_key, get, list, queued_runs, stats};

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

    /// The status a stored `text` names (an unknown one reads as failed:
    /// it is shown, never run).
    pub(crate) fn stored(text: &str) -> JobStatus {
        JobStatus::parse(text).unwrap_or(JobStatus::Failed)
    }
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobType {
    /// A durable background hook, on its run's snapshot.
    Hook,
    /// A background run (Agno's `background=true`).
    Run,
}

impl JobType {
    /// The stored text (`job_type`).
    pub const fn as_str(self) -> &'static str {
        match self {
            JobType::Hook => "hook",
            JobType::Run => "run",
        }
    }

    /// The type stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<JobType> {
        [JobType::Hook, JobType::Run]
            .into_iter()
            .find(|t| t.as_str() == text)
    }
}

/// A job to insert with its run.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The job's id (a UUID; stable across attempts).
    pub id: String,
    /// What it does.
    pub job_type: JobType,
    /// The hook it runs (a [`JobType::Hook`]), by its registry name: a
    /// worker claims only the hooks its binary has.
    pub hook_name: Option<String>,
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
    /// The stored run the payload refers to instead of copying it (written
    /// in the same transaction): read back when the job runs, or, once its
    /// session was deleted, the copy the store kept ([`ClaimedJob::run`]).
    pub run_id: Option<String>,
}

/// Which attempt of which job a write belongs to: a background run's
/// result is written only while its job is still `running` at that
/// attempt (see [`SessionStore::save_run_with_jobs`](super::SessionStore::save_run_with_jobs)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFence {
    /// The job (a background run's job id is its run id).
    pub job_id: String,
    /// The attempt the writer holds.
    pub attempt: u32,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct JobRecord {
    /// The job's id.
    pub id: String,
    /// `agent` (Agno's `component_type`).
    pub component_type: String,
    /// What it does.
    pub job_type: JobType,
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
    /// What it does.
    pub job_type: JobType,
    /// The agent's id.
    pub component_id: String,
    /// The payload (JSON text).
    pub payload: String,
    /// This attempt's number (from 1).
    pub attempt: u32,
    /// Attempts it gets.
    pub max_attempts: u32,
    /// The stored run its payload refers to ([`NewJob::run_id`]).
    pub run_id: Option<String>,
    /// That run's data (`agno_runs.run_data`, JSON), when the store had to
    /// keep a copy for the job (its session was deleted).
    pub run: Option<String>,
}

/// Which jobs [`JobStore::list_jobs`](super::JobStore::list_jobs) lists, and in what
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
    /// Only jobs of one of these hooks, by registry name (empty: any).
    pub hook_names: Vec<String>,
    /// Only jobs of one of these agents (empty: any).
    pub component_ids: Vec<String>,
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
            hook_names: Vec::new(),
            component_ids: Vec::new(),
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
