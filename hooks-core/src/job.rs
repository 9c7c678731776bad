//! Durable jobs: the job a background hook runs as, and where the
//! dispatcher hands the hooks that must be durable.

use serde::{Deserialize, Serialize};

use crate::{HookContext, HookMeta, HookRef};

/// The durable job a background hook runs as. Take `&Job` (or `Job`) as
/// an argument to read it; only a durable hook has one.
///
/// Durable hooks run **at least once**: after a crash, a hook that was
/// running may run again. `id` is the same on every attempt, so it is the
/// idempotency key for the side effect a hook makes (the e-mail it sends,
/// the row it writes); `attempt` counts from 1.
///
/// ```
/// use hooks_core::{hook, Job, RunOutput};
///
/// #[hook(run_in_background = true, durable = true)]
/// fn send_notification(run_output: &RunOutput, job: &Job) {
///     // e.g. `Idempotency-Key: {job.id}` on the request to the mail API
///     tracing::info!(job = %job.id, attempt = job.attempt, run = %run_output.run_id, "notify");
/// }
/// assert!(send_notification::META.takes_job);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Job {
    /// The job's id: the same on every attempt.
    pub id: String,
    /// This attempt's number, from 1.
    pub attempt: u32,
}

/// Where [`Dispatcher::run_phase_into`](crate::Dispatcher::run_phase_into)
/// hands the background hooks that run as durable jobs, instead of
/// spawning them: the caller (an agent) stores them with its run, in the
/// same transaction, and starts them once the run is stored.
///
/// hooks-core knows no store: this trait is the whole of what the
/// dispatcher needs from one.
pub trait JobSink: Send {
    /// Whether `meta`, about to run in the background, runs as a durable
    /// job.
    fn is_durable(&self, meta: &HookMeta) -> bool;

    /// Takes a durable hook with its snapshot (the run at the hook's
    /// position in its phase).
    fn push(&mut self, hook: HookRef, snapshot: HookContext);
}

/// A sink that takes nothing: every background hook is spawned in memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoJobs;

impl JobSink for NoJobs {
    fn is_durable(&self, _meta: &HookMeta) -> bool {
        false
    }

    fn push(&mut self, _hook: HookRef, _snapshot: HookContext) {}
}

/// A sink that collects the durable hooks of a run, given the agent's
/// default for hooks that say nothing (`#[hook]` without `durable`).
#[derive(Default)]
pub struct DurableHooks {
    default: bool,
    hooks: Vec<(HookRef, HookContext)>,
}

impl std::fmt::Debug for DurableHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableHooks")
            .field("default", &self.default)
            .field(
                "hooks",
                &self
                    .hooks
                    .iter()
                    .map(|(h, _)| h.meta().name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl DurableHooks {
    /// A sink where hooks without `durable = ...` are durable when
    /// `default` is.
    pub fn new(default: bool) -> Self {
        Self {
            default,
            hooks: Vec::new(),
        }
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// How many hooks were collected.
    pub fn len(&self) -> usize {
        self.hooks.len()
    }

    /// The collected hooks and their snapshots, in the order they came.
    pub fn into_inner(self) -> Vec<(HookRef, HookContext)> {
        self.hooks
    }
}

impl JobSink for DurableHooks {
    fn is_durable(&self, meta: &HookMeta) -> bool {
        meta.is_durable(self.default)
    }

    fn push(&mut self, hook: HookRef, snapshot: HookContext) {
        self.hooks.push((hook, snapshot));
    }
}
