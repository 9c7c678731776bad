//! What a dispatcher tells an observer of each hook it runs: where it ran,
//! how it ended, how long it took. Metrics (a Prometheus exporter, say)
//! implement [`HookObserver`] and are installed with
//! [`Dispatcher::observe`](crate::Dispatcher::observe); without one, no
//! clock is read.

use std::time::Duration;

use crate::meta::{HookMeta, Phase};

/// Where a hook ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookMode {
    /// In the run, before it goes on.
    Inline,
    /// On a task of the dispatcher, in memory.
    Background,
    /// As a durable job, read back from the store.
    Durable,
}

impl HookMode {
    /// `"inline"`, `"background"` or `"durable"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HookMode::Inline => "inline",
            HookMode::Background => "background",
            HookMode::Durable => "durable",
        }
    }
}

/// How one run of a hook ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookOutcome {
    /// It returned `Ok`.
    Ok,
    /// It returned an error (the run went on).
    Failed,
    /// It raised a check error that stopped the run (a guardrail).
    Blocked,
    /// It panicked.
    Panicked,
    /// It ran past its time limit.
    TimedOut,
    /// A shutdown deadline cut it.
    Cut,
    /// The dispatcher refused it (no room, or shutting down): it never ran.
    Refused,
}

impl HookOutcome {
    /// Lower-case, as a metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            HookOutcome::Ok => "ok",
            HookOutcome::Failed => "failed",
            HookOutcome::Blocked => "blocked",
            HookOutcome::Panicked => "panicked",
            HookOutcome::TimedOut => "timed_out",
            HookOutcome::Cut => "cut",
            HookOutcome::Refused => "refused",
        }
    }

    /// The outcome of a hook's result (a check error from an inline hook
    /// is [`Blocked`](HookOutcome::Blocked); from a background one, which
    /// cannot stop the run, [`Failed`](HookOutcome::Failed)).
    pub fn of(result: &Result<(), crate::HookError>, mode: HookMode) -> HookOutcome {
        use crate::HookError;
        match result {
            Ok(()) => HookOutcome::Ok,
            Err(HookError::Check(_)) if mode == HookMode::Inline => HookOutcome::Blocked,
            Err(HookError::Panicked(_)) => HookOutcome::Panicked,
            Err(HookError::TimedOut(_)) => HookOutcome::TimedOut,
            Err(_) => HookOutcome::Failed,
        }
    }
}

/// One hook's run, as an observer is told of it.
#[derive(Debug, Clone, Copy)]
pub struct HookRun<'a> {
    /// The hook.
    pub meta: &'a HookMeta,
    /// The phase it ran in.
    pub phase: Phase,
    /// Where it ran.
    pub mode: HookMode,
    /// How it ended.
    pub outcome: HookOutcome,
    /// How long it ran (zero when it never ran: refused, or cut before it
    /// started).
    pub elapsed: Duration,
}

/// Told of every hook a dispatcher runs, as it ends. Called on the hook's
/// own task, so it must be quick and must not block (an atomic add, a
/// histogram's bucket).
pub trait HookObserver: Send + Sync + 'static {
    /// A hook ended (or was refused).
    fn finished(&self, run: HookRun<'_>);
}
