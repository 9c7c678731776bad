//! [`JobHost`]: what a worker runs jobs for (an agent implements it), so
//! the worker never depends on the agent above it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hooks_core::{AgentInfo, Dispatcher, Extensions, HookRef};

use crate::db::JobFence;

/// The future of a background run carried out as a job.
pub(crate) type RunFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// What a worker runs jobs for: an agent. The worker's claim loop holds
/// it weakly (an agent the program dropped stops its loop); an attempt
/// holds it while it runs.
pub(crate) trait JobHost: Send + Sync + 'static {
    /// The id whose jobs it claims (`component_id`: the agent's id).
    fn component_id(&self) -> &str;

    /// The hook a job names: one of its own, else one of the program's
    /// registry.
    fn find_hook(&self, name: &str) -> Option<HookRef>;

    /// The registry names of every hook it can run: a worker claims only
    /// those hooks' jobs (in a rolling deploy, an instance without the
    /// hook leaves its jobs to one that has it).
    fn hook_names(&self) -> Vec<String>;

    /// What hooks see of it, and the values their own argument types read:
    /// a restored snapshot is given both.
    fn restore_parts(&self) -> (Arc<AgentInfo>, Arc<Extensions>);

    /// The dispatcher its hooks run on.
    fn dispatcher(&self) -> &Dispatcher;

    /// Whether a background hook that does not say runs as a durable job.
    fn durable_by_default(&self) -> bool;

    /// Carries out the background run `payload` (the host's own format)
    /// as the job attempt `fence`: the run stores itself (its result
    /// fenced by the attempt).
    fn run_background(self: Arc<Self>, payload: String, fence: JobFence) -> RunFuture;
}
