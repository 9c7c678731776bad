//! Maintenance: finished background runs' jobs and failed jobs past their
//! retention (and, when asked, old runs) are deleted, once a minute; queued hook jobs whose hook no instance has
//! fail, saying so, once they waited `missing_hook_timeout`.

use std::time::Duration;

use tokio::time::Instant;

use super::state::Inner;

/// How often the pruner runs.
const EVERY: Duration = Duration::from_secs(60);

/// The pruner's clocks, for one agent's jobs.
pub(super) struct Pruner {
    pruned: Instant,
    checked: Instant,
    component: String,
    hooks: Vec<String>,
}

impl Pruner {
    /// The maintenance of `component`'s jobs, for a worker that has
    /// `hooks`.
    pub(super) fn new(component: String, hooks: Vec<String>) -> Self {
        Self {
            pruned: Instant::now(),
            checked: Instant::now(),
            component,
            hooks,
        }
    }

    /// Prunes when a minute has passed since the last time, and looks for
    /// hooks no instance has every half of `missing_hook_timeout` (at
    /// most a minute, at least a poll).
    pub(super) async fn tick(&mut self, inner: &Inner) {
        let Some(stores) = &inner.stores else {
            return;
        };
        if self.pruned.elapsed() >= EVERY {
            self.pruned = Instant::now();
            let options = &inner.options;
            match stores
                .jobs
                .prune_jobs(options.retention, options.failed_retention)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    deleted = n,
                    "finished and failed jobs past their retention deleted"
                ),
                Err(error) => tracing::warn!(%error, "pruning finished jobs failed"),
            }
            if let Some(retention) = options.run_retention {
                match stores.jobs.prune_runs(retention).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "runs past their retention deleted"),
                    Err(error) => tracing::warn!(%error, "pruning runs failed"),
                }
            }
        }
        let timeout = inner.options.missing_hook_timeout;
        let every = (timeout / 2).clamp(inner.options.poll_interval.min(EVERY), EVERY);
        if self.checked.elapsed() >= every {
            self.checked = Instant::now();
            let components = vec![self.component.clone()];
            match stores
                .jobs
                .fail_missing_hooks(components, self.hooks.clone(), timeout)
                .await
            {
                Ok(0) => {}
                Ok(failed) => tracing::error!(
                    agent = %self.component,
                    failed,
                    "durable jobs of hooks no instance has (renamed or removed): failed; an instance with the hook queues them again when it starts"
                ),
                Err(error) => tracing::warn!(%error, "looking for jobs of missing hooks failed"),
            }
        }
    }
}
