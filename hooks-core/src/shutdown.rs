//! What a dispatcher's shutdown did.

use crate::{DispatcherStats, InFlightHook};

/// The outcome of [`Dispatcher::shutdown`](crate::Dispatcher::shutdown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Background hooks in flight when shutdown began.
    pub waited_for: u64,
    /// Background hooks that finished during the drain.
    pub finished: u64,
    /// Background hooks still running at the deadline, which were cut.
    pub cut: Vec<InFlightHook>,
    /// The counters at the end.
    pub stats: DispatcherStats,
}

impl ShutdownReport {
    /// Whether every background hook finished in time.
    pub fn is_clean(&self) -> bool {
        self.cut.is_empty()
    }
}
