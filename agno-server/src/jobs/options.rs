//! [`JobOptions`]: how durable jobs are run, retried and kept.

use std::time::Duration;

/// How durable jobs are run and retried. `JobOptions::default()` suits a
/// server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOptions {
    /// Attempts a job gets before it is `failed` (default 20, as Oban's;
    /// with the default delays they span about 8 hours, so a downstream
    /// outage of hours fails no hook). A hook's own
    /// `#[hook(max_attempts = n)]` wins.
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles at each retry, up to
    /// `max_retry_delay`, each wait drawn between half and all of it
    /// (jitter: jobs failed together do not all come back together;
    /// default 1 s).
    pub retry_delay: Duration,
    /// The longest wait between two attempts (default 1 h).
    pub max_retry_delay: Duration,
    /// How long one attempt of a durable hook may run before it counts as
    /// failed (and is retried), freeing its place and lease (default
    /// 5 min). A hook's own `#[hook(timeout = "30s")]` wins.
    pub attempt_timeout: Duration,
    /// How many durable jobs of an agent run at once (default 32 768); the
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
    /// How long failed jobs are kept, listed and requeueable, before they
    /// are deleted with their idempotency keys (default 7 days: a weekend
    /// and then some to look at them).
    pub failed_retention: Duration,
    /// How long runs are kept: `Some`, older runs are deleted once a
    /// minute (their sessions stay; a run a job still reads back is kept);
    /// `None` (the default), forever.
    pub run_retention: Option<Duration>,
    /// How long a queued hook job whose hook this binary lacks waits for
    /// an instance that has it (a rolling deploy: the instance with the
    /// hook claims it) before it fails, saying so (default 10 min). An
    /// instance with the hook queues such jobs again when it starts.
    pub missing_hook_timeout: Duration,
    /// The most jobs of an agent that may wait in the store (default
    /// 100 000: about 50 MB on disk); past it, or past `max_backlog_age`,
    /// the agent is backlogged and `when_backlogged` decides what a new run
    /// gets. Checked about once a second, counted no further than this.
    pub max_backlog: usize,
    /// The longest the oldest due job may have waited before the agent is
    /// backlogged (default 10 min).
    pub max_backlog_age: Duration,
    /// What a new run gets while the agent is backlogged (default
    /// [`WhenBacklogged::Refuse`]).
    pub when_backlogged: WhenBacklogged,
    /// How often the worker looks for due jobs when nothing woke it
    /// (retries whose back-off ended; default 1 s). New jobs and freed
    /// places wake it at once.
    pub poll_interval: Duration,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            max_attempts: 20,
            retry_delay: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(3600),
            attempt_timeout: Duration::from_secs(300),
            max_concurrent: 32_768,
            max_running_bytes: 256 * 1024 * 1024,
            run_max_attempts: 1,
            max_queue_depth: 1000,
            retention: Duration::from_secs(24 * 3600),
            failed_retention: Duration::from_secs(7 * 24 * 3600),
            run_retention: None,
            missing_hook_timeout: Duration::from_secs(600),
            max_backlog: 100_000,
            max_backlog_age: Duration::from_secs(600),
            when_backlogged: WhenBacklogged::Refuse,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// What a new run of a backlogged agent gets (its durable jobs wait in the
/// store past [`JobOptions::max_backlog`] or
/// [`JobOptions::max_backlog_age`]): the backlog is bounded, the disk
/// stops growing, and the client knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenBacklogged {
    /// Refused (`AgentError::Backlogged`; over HTTP 503 with `Retry-After`)
    /// until the backlog drains: a load balancer sends it elsewhere or the
    /// client retries.
    #[default]
    Refuse,
    /// Waits for the backlog to drain, up to the duration given, then is
    /// refused.
    Wait(Duration),
    /// Runs, and the backlog grows: only the log and the metrics say so.
    Warn,
}

impl JobOptions {
    /// The longest wait before attempt `attempt + 1`, after `attempt`
    /// failed (the wait drawn is between half and all of it).
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
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]);
        assert_eq!(options.backoff(13), Duration::from_secs(3600));
        assert_eq!(options.backoff(u32::MAX), Duration::from_secs(3600));
        // Twenty attempts wait about 8 hours in all (the longest draws).
        let total: u64 = (1..20).map(|a| options.backoff(a).as_secs()).sum();
        assert_eq!(total, 4095 + 7 * 3600);
    }
}
