//! Durable background hooks: the job queue's worker.
//!
//! A background hook that is durable is not spawned in memory: the
//! dispatcher hands it to the run ([`DurableHooks`]), the run stores it in
//! `agno_jobs` **in the same transaction as the run itself**
//! ([`Db::save_run_with_jobs`]), and once that commits the worker starts it
//! at once, from the snapshot still in memory (no polling delay, no read
//! back). A durable pre-hook starts earlier, at its place before the model
//! call, and is written with its run only if it has not finished by then:
//! a quick one never costs a row. If every one of the worker's `max_concurrent` places is taken,
//! the job is stored `queued` instead and read back when a place frees: a
//! backlog waits in the store, not in memory, and a durable hook is never
//! refused for lack of room.
//!
//! When the process dies, the store still has every job of every run it
//! acknowledged. At the next start the worker of each agent queues again
//! the jobs a dead process left `running` (failing those out of attempts),
//! claims what is queued, finds each hook by its registry name among the
//! agent's hooks (else in the link-time [`registry`](hooks_core::registry)),
//! restores the snapshot and runs the hook, its arguments extracted as
//! usual.
//!
//! **At least once.** A hook that was running when the process died runs
//! again: take a [`Job`](hooks_core::Job) argument for an idempotency key
//! (its id is the same on every attempt). No order among background hooks
//! is promised. A failed attempt is retried after a back-off that doubles
//! (`retry_delay`, then twice that, up to `max_retry_delay`) until
//! `max_attempts`; then the job is `failed`: kept, listed, requeueable. A
//! job whose hook or agent no longer exists fails at once, saying so.
//! Completed jobs are deleted as they complete.
//!
//! [`DurableHooks`]: hooks_core::DurableHooks
//! [`Db::save_run_with_jobs`]: crate::db::Db::save_run_with_jobs

mod payload;
mod worker;

use std::time::Duration;

pub use worker::{JobCounters, JobWorker, JobsShutdown};

pub(crate) use worker::EarlyJob;

pub(crate) use payload::{HookPayload, RunPayload, copy_run_in};

/// How durable jobs are run and retried. `JobOptions::default()` suits a
/// server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOptions {
    /// Attempts a job gets before it is `failed` (default 3).
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles at each retry
    /// (default 1 s).
    pub retry_delay: Duration,
    /// The longest wait between two attempts (default 5 min).
    pub max_retry_delay: Duration,
    /// How many durable jobs of an agent run at once (default 4 096); the
    /// rest wait in the store. Each running job holds its snapshot in
    /// memory; a hook that mostly waits (a 3 s e-mail call) needs many
    /// places to keep up with a busy server.
    pub max_concurrent: usize,
    /// The run data the running jobs of an agent may hold in memory
    /// together (their snapshots, estimated by
    /// [`HookContext::approx_bytes`](hooks_core::HookContext::approx_bytes);
    /// a background run's request), default 256 MiB: past it, a new job
    /// waits in the store instead of starting at once (never refused), and
    /// jobs are read back as bytes free. A job alone always runs, however
    /// large.
    pub max_running_bytes: usize,
    /// Attempts a background run gets (default 1, as Agno: a run whose
    /// process died is failed visibly, its row `ERROR`, never silently run
    /// twice; a model call is not idempotent).
    pub run_max_attempts: u32,
    /// The most background runs waiting in the queue; past it, a
    /// submission is refused (Agno's `max_queue_depth`, 429; default
    /// 1 000).
    pub max_queue_depth: usize,
    /// How long finished background runs' jobs are kept (their
    /// idempotency keys keep answering; default 24 h, as Agno).
    pub retention: Duration,
    /// How often the worker looks for due jobs when nothing woke it
    /// (retries whose back-off ended; default 1 s). New jobs and freed
    /// places wake it at once.
    pub poll_interval: Duration,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            retry_delay: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(300),
            max_concurrent: 4096,
            max_running_bytes: 256 * 1024 * 1024,
            run_max_attempts: 1,
            max_queue_depth: 1000,
            retention: Duration::from_secs(24 * 3600),
            poll_interval: Duration::from_secs(1),
        }
    }
}

impl JobOptions {
    /// The wait before attempt `attempt + 1`, after `attempt` failed.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.retry_delay
            .saturating_mul(factor)
            .min(self.max_retry_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let options = JobOptions::default();
        let waits: Vec<u64> = (1..=12).map(|a| options.backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(options.backoff(u32::MAX), Duration::from_secs(300));
    }
}
