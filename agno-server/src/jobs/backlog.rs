//! The backlog bound: how many of an agent's jobs wait in the store, and
//! for how long, looked at about once a second by the claim loop; past
//! [`JobOptions::max_backlog`](super::JobOptions::max_backlog) or
//! `max_backlog_age` the agent is backlogged, and its new runs get what
//! `when_backlogged` says. Logged once when an episode begins and once
//! when it ends.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::options::JobOptions;
use crate::db::JobStore;

/// How often the claim loop looks.
const EVERY: Duration = Duration::from_secs(1);

/// What the last look found.
pub(super) struct Backlog {
    over: AtomicBool,
    queued: AtomicU64,
    /// Jobs this worker stored `queued` since the last look: a load that
    /// fills the queue between two looks is held back by them too.
    added: AtomicU64,
    /// The bound (`max_backlog`), for the count between looks.
    bound: u64,
    /// Seconds the oldest due job had waited (-1: none was due).
    oldest: AtomicI64,
    /// Told when an episode ends.
    drained: Notify,
}

/// What a caller is told of the backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacklogState {
    /// Whether it is past its bound.
    pub over: bool,
    /// Jobs queued (counted up to the bound).
    pub queued: u64,
    /// Seconds the oldest due job has waited.
    pub oldest_secs: Option<i64>,
}

impl Backlog {
    /// Nothing looked at yet, bounded at `bound` jobs.
    pub(super) fn new(bound: usize) -> Self {
        Self {
            over: AtomicBool::new(false),
            queued: AtomicU64::new(0),
            added: AtomicU64::new(0),
            bound: bound as u64,
            oldest: AtomicI64::new(-1),
            drained: Notify::new(),
        }
    }

    /// What the last look found, with the jobs queued here since.
    pub(super) fn state(&self) -> BacklogState {
        let oldest = self.oldest.load(Ordering::Relaxed);
        let queued = self.queued.load(Ordering::Relaxed) + self.added.load(Ordering::Relaxed);
        let bound = self.bound;
        BacklogState {
            over: self.over.load(Ordering::Acquire) || (bound > 0 && queued >= bound),
            queued,
            oldest_secs: (oldest >= 0).then_some(oldest),
        }
    }

    /// `n` jobs were stored `queued` here.
    pub(super) fn add(&self, n: u64) {
        if n > 0 {
            self.added.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Waits until the episode ends (or `limit`); whether it did.
    pub(super) async fn drained(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let notified = self.drained.notified();
            if !self.over.load(Ordering::Acquire) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return !self.over.load(Ordering::Acquire);
            }
        }
    }
}

/// The claim loop's clock for its looks.
pub(super) struct Looks {
    last: Option<Instant>,
}

impl Looks {
    pub(super) fn new() -> Self {
        Self { last: None }
    }

    /// Looks at `component`'s backlog in `jobs` when a second has passed,
    /// and keeps what it saw in `backlog`.
    pub(super) async fn tick(
        &mut self,
        backlog: &Backlog,
        options: &JobOptions,
        jobs: &dyn JobStore,
        component: &str,
    ) {
        if self.last.is_some_and(|last| last.elapsed() < EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let (queued, oldest) = match jobs.job_backlog(component, options.max_backlog).await {
            Ok(found) => found,
            Err(error) => {
                tracing::debug!(%error, "looking at the backlog failed");
                return;
            }
        };
        backlog.queued.store(queued, Ordering::Relaxed);
        backlog.added.store(0, Ordering::Relaxed);
        backlog
            .oldest
            .store(oldest.unwrap_or(-1), Ordering::Relaxed);
        let too_old = oldest.is_some_and(|age| age as u64 >= options.max_backlog_age.as_secs());
        let over = queued >= options.max_backlog as u64 || too_old;
        let was = backlog.over.swap(over, Ordering::AcqRel);
        match (was, over) {
            (false, true) => tracing::warn!(
                agent = %component,
                queued,
                oldest_s = oldest,
                policy = ?options.when_backlogged,
                "durable jobs are backlogged past their bound (max_backlog {}, max_backlog_age {} s): new runs get the policy until it drains",
                options.max_backlog,
                options.max_backlog_age.as_secs()
            ),
            (true, false) => {
                tracing::info!(agent = %component, queued, "durable jobs' backlog is back under its bound");
                backlog.drained.notify_waiters();
            }
            _ => {}
        }
    }
}
