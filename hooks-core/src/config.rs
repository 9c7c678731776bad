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
    /// waiting for a slot). Past it, memory stays bounded by what
    /// `when_full` says: refuse the new hook, or make its caller wait.
    /// Default 65 536.
    pub max_pending: usize,
    /// The bytes the data of pending background hooks may hold (their
    /// runs' input, output, state and fields, as [`HookContext::approx_bytes`](crate::HookContext::approx_bytes)
    /// estimates them), so that a few runs with large messages or state
    /// cannot hold gigabytes while under `max_pending`. Charged per hook
    /// (a run with two background hooks is counted twice though it is held
    /// once: the bound errs on the safe side). Past it, `when_full` says
    /// what happens, as for `max_pending`; a hook is always accepted when
    /// no other is pending, however large. Default 256 MiB.
    pub max_pending_bytes: usize,
    /// What happens to a background hook when `max_pending` are in flight
    /// (or `max_pending_bytes` are held). Default [`WhenFull::Refuse`].
    pub when_full: WhenFull,
    /// Time limit for each async hook, inline or background. Default none.
    pub hook_timeout: Option<Duration>,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            run_hooks_in_background: false,
            max_concurrent: 65_536,
            max_pending: 65_536,
            max_pending_bytes: 256 * 1024 * 1024,
            when_full: WhenFull::Refuse,
            hook_timeout: None,
        }
    }
}

/// What a dispatcher does with a background hook when `max_pending` are
/// already in flight.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WhenFull {
    /// Refuse it: logged (hook name and run id) and counted as `rejected`;
    /// the run goes on at once. The response never waits for a background
    /// hook, and under a sustained overload some hooks do not run.
    #[default]
    Refuse,
    /// Make the phase that starts it wait until a background hook finishes
    /// and there is room (counted as `waited`): backpressure onto the run,
    /// so no hook is lost while the dispatcher is open. A shutdown refuses
    /// the waiting ones. [`Dispatcher::spawn`](crate::Dispatcher::spawn),
    /// which cannot wait, refuses.
    Wait,
}
