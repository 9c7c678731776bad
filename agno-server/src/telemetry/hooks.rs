//! Hooks as series: [`Metrics`] is the dispatcher's [`HookObserver`].

use hooks_core::{HookObserver, HookOutcome, HookRun};

use super::Metrics;
use super::labels::{HookLabels, HookTimeLabels};

impl HookObserver for Metrics {
    fn finished(&self, run: HookRun<'_>) {
        let (hook, phase, mode) = (run.meta.name, run.phase.as_str(), run.mode.as_str());
        let inner = &self.inner;
        inner
            .hooks
            .get_or_create(&HookLabels {
                hook,
                phase,
                mode,
                outcome: run.outcome.as_str(),
            })
            .inc();
        if !matches!(run.outcome, HookOutcome::Refused | HookOutcome::Cut) {
            inner
                .hook_seconds
                .get_or_create(&HookTimeLabels { hook, phase, mode })
                .observe(run.elapsed.as_secs_f64());
        }
    }
}
