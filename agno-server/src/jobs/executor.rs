//! One attempt of a job: runs it on a tracked task of its own, and turns
//! how it ended into the job's outcome (done, retried after the policy's
//! wait, failed for good, or left queued by a shutdown), then settles it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hooks_core::{HookContext, HookRef};
use tokio::sync::oneshot;

use super::admission::Place;
use super::counters::bump;
use super::host::JobHost;
use super::retry::next_attempt;
use super::state::Inner;
use crate::db::{JobFence, JobOutcome, JobSettlement};

/// What a job does.
pub(super) enum Work {
    /// A durable background hook on its snapshot (`done`: set when it
    /// returns `Ok`, for an early job), started by `origin`.
    Hook {
        hook: HookRef,
        cx: HookContext,
        done: Option<Arc<AtomicBool>>,
        origin: Origin,
    },
    /// A background run, its payload in the host's format.
    Run { payload: String },
}

/// Where a hook's attempt comes from, for its span's link to the run.
pub(super) enum Origin {
    /// Started by the run itself, within the run's span.
    Run,
    /// Read back from the store: the run's trace context, if kept.
    Stored(Option<String>),
}

/// Which attempt of which job.
pub(super) struct Attempt {
    pub(super) id: String,
    pub(super) number: u32,
    pub(super) max: u32,
}

/// Runs one attempt on its own tracked task and records how it ended.
/// With `stored` (a job whose row may not exist yet: an early pre-hook),
/// once the work ends the attempt waits to hear whether its row was
/// committed with its run (`true`: settled as any job; `false`, or the
/// run not stored: nothing to record).
pub(super) fn spawn(
    inner: &Arc<Inner>,
    host: Arc<dyn JobHost>,
    work: Work,
    attempt: Attempt,
    place: Place,
    stored: Option<oneshot::Receiver<bool>>,
) {
    if stored.is_none() {
        inner.held.set(&attempt.id, attempt.number, true);
    }
    let inner = inner.clone();
    bump(&inner.counters.started, 1);
    bump(&inner.counters.running, 1);
    // Its log lines carry the run it belongs to (whichever process
    // started it: the job keeps the run's id across a restart). A root
    // span: an attempt may run in another process, or hours later.
    let span = match &work {
        Work::Hook {
            hook, cx, origin, ..
        } => {
            let span = tracing::info_span!(
                parent: None,
                "hook",
                hook = hook.meta().name,
                phase = cx.phase().as_str(),
                mode = "durable",
                run_id = %cx.shared().run_id,
                job = %attempt.id,
                attempt = attempt.number,
            );
            // ...linked to the run's span: the current one, or the one
            // its job kept (an attempt in another process, or later).
            match origin {
                Origin::Run => {
                    span.follows_from(tracing::Span::current());
                }
                Origin::Stored(Some(traceparent)) => {
                    crate::telemetry::context::link(&span, traceparent);
                }
                Origin::Stored(None) => {}
            }
            span
        }
        Work::Run { .. } => {
            tracing::info_span!("background_run", job = %attempt.id, attempt = attempt.number)
        }
    };
    inner.tracker.clone().spawn(tracing::Instrument::instrument(async move {
        let is_run = matches!(work, Work::Run { .. });
        let (name, run_id, result) = match work {
            Work::Hook {
                hook, mut cx, done, ..
            } => {
                // A hung hook frees its place: past its timeout the attempt
                // counts as failed, and is retried.
                let limit = hook.meta().timeout.unwrap_or(inner.options.attempt_timeout);
                let attempt = host.dispatcher().run_job(&*hook, &mut cx, Some(limit));
                let result = tokio::select! {
                    biased;
                    result = attempt => Some(result.map_err(|e| match e {
                        hooks_core::HookError::TimedOut(after) => {
                            format!("the attempt timed out after {} ms", after.as_millis())
                        }
                        other => other.to_string(),
                    })),
                    () = inner.lifecycle.cut.cancelled() => None,
                };
                if let (Some(done), Some(Ok(()))) = (&done, &result) {
                    done.store(true, Ordering::Release);
                }
                (hook.meta().name, cx.shared().run_id.0.clone(), result)
            }
            Work::Run { payload } => {
                // A background run: a normal run, with every hook; the
                // run stores itself (COMPLETED, ERROR or CANCELLED).
                let fence = JobFence {
                    job_id: attempt.id.clone(),
                    attempt: attempt.number,
                };
                let run = host.clone().run_background(payload, fence);
                let result = tokio::select! {
                    biased;
                    result = run => Some(result),
                    () = inner.lifecycle.cut.cancelled() => None,
                };
                ("background run", attempt.id.clone(), result)
            }
        };
        // The place (a slot, the bytes) is free once the work ended,
        // whatever is left to record.
        drop(place);
        if inner.producer.backlog.load(Ordering::Acquire) {
            inner.producer.wake.notify_one();
        }
        let Attempt { id, number, max } = attempt;
        let row = match stored {
            None => true,
            // Its run may still be under way: a shutdown cut does not
            // wait for it (a row written later is recovered, and run
            // again, at the next start).
            Some(stored) => tokio::select! {
                stored = stored => stored.unwrap_or(false),
                () = inner.lifecycle.cut.cancelled() => false,
            },
        };
        if !row {
            // Done before its run was stored (no row was written), or
            // its run was never stored: nothing to record.
            if matches!(result, Some(Ok(()))) {
                bump(&inner.counters.completed, 1);
            }
            inner.held.set(&id, number, false);
            inner.counters.running.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let outcome = match result {
            // A background run cut mid-way may have called its model:
            // the attempt counts, as a crash's does (a run is not run
            // again past `run_max_attempts`), and its row says why.
            None if is_run => failed(
                &inner,
                name,
                &run_id,
                &id,
                number,
                max,
                "the server stopped (shutdown deadline) while the run was under way",
            ),
            None => {
                bump(&inner.counters.released, 1);
                tracing::warn!(job = name, run_id = %run_id, job_id = %id, "durable job stopped by the shutdown deadline: left queued for the next start");
                JobOutcome::Released
            }
            Some(Ok(())) => {
                bump(&inner.counters.completed, 1);
                JobOutcome::Completed
            }
            Some(Err(error)) => failed(&inner, name, &run_id, &id, number, max, &error),
        };
        inner
            .settle(JobSettlement {
                id: id.clone(),
                attempt: number,
                outcome,
            })
            .await;
        inner.held.set(&id, number, false);
        inner.counters.running.fetch_sub(1, Ordering::Relaxed);
    }, span));
}

/// The outcome of a failed attempt: a retry after the policy's wait, or
/// the end.
pub(super) fn failed(
    inner: &Inner,
    name: &str,
    run_id: &str,
    id: &str,
    attempt: u32,
    max_attempts: u32,
    error: &str,
) -> JobOutcome {
    let text = error.to_owned();
    match next_attempt(&inner.options, attempt, max_attempts) {
        Some(delay) => {
            bump(&inner.counters.retried, 1);
            tracing::warn!(
                hook = name,
                run_id,
                job = id,
                attempt,
                max_attempts,
                retry_in_s = delay.as_secs_f64(),
                "durable hook failed, will retry: {}",
                text.escape_debug()
            );
            inner.producer.backlog.store(true, Ordering::Release);
            JobOutcome::Retry {
                error: text,
                delay_secs: delay.as_secs().max(1) as i64,
            }
        }
        None => {
            bump(&inner.counters.failed, 1);
            tracing::error!(
                hook = name,
                run_id,
                job = id,
                attempt,
                max_attempts,
                "durable hook failed for good (requeue it with POST /queue/jobs/{{id}}/requeue): {}",
                text.escape_debug()
            );
            JobOutcome::Failed { error: text }
        }
    }
}
