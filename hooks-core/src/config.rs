//! How a dispatcher runs background hooks.

use std::time::Duration;

/// Settings of a [`Dispatcher`](crate::Dispatcher).
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Move every hook that neither changes nor can block the run to the
    /// background (Agno's `run_hooks_in_background`). Default `false`.
    pub run_hooks_in_background: bool,
    /// Background hooks running at once. Default 65 536, the same as
    /// `max_pending`: most background hooks wait on I/O (a notification, a
    /// webhook), and a waiting hook costs as much memory queued as running,
    /// so a lower bound only grows the backlog and the time to drain it.
    /// Lower it when hooks call a service that must not see more than so
    /// many requests at once.
    pub max_concurrent: usize,
    /// Background hooks accepted and not yet finished (running plus
    /// waiting for a slot). Past it a new background hook is refused,
    /// logged and counted as `rejected`, so memory stays bounded.
    /// Default 65 536.
    pub max_pending: usize,
    /// Time limit for each async hook, inline or background. Default none.
    pub hook_timeout: Option<Duration>,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            run_hooks_in_background: false,
            max_concurrent: 65_536,
            max_pending: 65_536,
            hook_timeout: None,
        }
    }
}
