//! What a worker did: [`JobCounters`], kept as jobs move.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// What a worker did since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobCounters {
    /// Durable jobs written with their runs.
    pub enqueued: u64,
    /// Attempts started (at once after the run, or claimed from the store).
    pub started: u64,
    /// Attempts that completed (the job is done).
    pub completed: u64,
    /// Attempts that failed with attempts left (queued again).
    pub retried: u64,
    /// Jobs failed for good.
    pub failed: u64,
    /// Attempts cut by a shutdown and left queued for the next start.
    pub released: u64,
    /// Jobs queued again at start-up because a process died running them.
    pub recovered: u64,
    /// Attempts whose outcome could not be written (the job stays
    /// `running` and is recovered at the next start).
    pub unsettled: u64,
    /// Attempts running now.
    pub running: u64,
}

/// The counters, as they move.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) enqueued: AtomicU64,
    pub(super) started: AtomicU64,
    pub(super) completed: AtomicU64,
    pub(super) retried: AtomicU64,
    pub(super) failed: AtomicU64,
    pub(super) released: AtomicU64,
    pub(super) recovered: AtomicU64,
    pub(super) unsettled: AtomicU64,
    pub(super) running: AtomicU64,
}

/// Adds `by` to `counter`.
pub(super) fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

impl Counters {
    /// What they say now.
    pub(super) fn read(&self) -> JobCounters {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        JobCounters {
            enqueued: get(&self.enqueued),
            started: get(&self.started),
            completed: get(&self.completed),
            retried: get(&self.retried),
            failed: get(&self.failed),
            released: get(&self.released),
            recovered: get(&self.recovered),
            unsettled: get(&self.unsettled),
            running: get(&self.running),
        }
    }
}
