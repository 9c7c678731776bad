//! Counters of what a dispatcher ran.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a dispatcher's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DispatcherStats {
    /// Inline hooks run.
    pub inline_run: u64,
    /// Inline hooks that returned an error other than a check error.
    pub inline_failed: u64,
    /// Inline hooks that raised a check error.
    pub inline_checks_failed: u64,
    /// Inline hooks that panicked.
    pub inline_panicked: u64,
    /// Inline hooks that ran past their time limit.
    pub inline_timed_out: u64,
    /// Background hooks accepted.
    pub spawned: u64,
    /// Background hooks that finished with `Ok`.
    pub completed: u64,
    /// Background hooks that returned an error.
    pub failed: u64,
    /// Background hooks that panicked.
    pub panicked: u64,
    /// Background hooks that ran past their time limit.
    pub timed_out: u64,
    /// Background hooks refused (queue full or shutting down).
    pub rejected: u64,
    /// Background hooks whose caller waited for room before they were
    /// accepted ([`WhenFull::Wait`](crate::WhenFull::Wait)).
    pub waited: u64,
    /// Background hooks cut by a shutdown deadline.
    pub cut: u64,
    /// Background hooks running now.
    pub running: u64,
    /// Background hooks accepted and not finished (running or waiting).
    pub in_flight: u64,
    /// The estimated bytes of their runs' data, held until they finish
    /// (bounded by `max_pending_bytes`).
    pub pending_bytes: u64,
}

impl DispatcherStats {
    /// Background hooks waiting for a slot.
    pub fn queued(&self) -> u64 {
        self.in_flight.saturating_sub(self.running)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub inline_run: AtomicU64,
    pub inline_failed: AtomicU64,
    pub inline_checks_failed: AtomicU64,
    pub inline_panicked: AtomicU64,
    pub inline_timed_out: AtomicU64,
    pub spawned: AtomicU64,
    pub completed: AtomicU64,
    pub failed: AtomicU64,
    pub panicked: AtomicU64,
    pub timed_out: AtomicU64,
    pub rejected: AtomicU64,
    pub waited: AtomicU64,
    pub cut: AtomicU64,
    pub running: AtomicU64,
    pub in_flight: AtomicU64,
    pub pending_bytes: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> DispatcherStats {
        DispatcherStats {
            inline_run: self.inline_run.load(Relaxed),
            inline_failed: self.inline_failed.load(Relaxed),
            inline_checks_failed: self.inline_checks_failed.load(Relaxed),
            inline_panicked: self.inline_panicked.load(Relaxed),
            inline_timed_out: self.inline_timed_out.load(Relaxed),
            spawned: self.spawned.load(Relaxed),
            completed: self.completed.load(Relaxed),
            failed: self.failed.load(Relaxed),
            panicked: self.panicked.load(Relaxed),
            timed_out: self.timed_out.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            waited: self.waited.load(Relaxed),
            cut: self.cut.load(Relaxed),
            running: self.running.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
            pending_bytes: self.pending_bytes.load(Relaxed),
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Relaxed);
}

pub(crate) fn drop_one(counter: &AtomicU64) {
    counter.fetch_sub(1, Relaxed);
}
