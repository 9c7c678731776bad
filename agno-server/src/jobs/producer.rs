//! The claim loop (the producer): takes queued jobs from the store while
//! the worker has room, restores each and starts it, and waits to be
//! woken (new jobs, a freed place, another instance's notice) or for its
//! next poll. On its way it runs the lifeline's recovery and the pruner.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use hooks_core::{HookContext, HookRef, Job};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::backlog;
use super::counters::bump;
use super::executor::{self, Attempt, Origin, Work};
use super::host::JobHost;
use super::lifeline;
use super::payload::HookPayload;
use super::pruner::Pruner;
use super::state::{Inner, OWNER, Stores};
use crate::db::{ClaimedJob, JobOutcome, JobSettlement, JobType, StoreEvent};

/// The claim loop of `host`'s jobs. It first queues again the jobs a dead
/// process left running, then runs what is queued, and from then on what
/// is queued when places free up. Ends when the worker closes, or when
/// the host is gone (the next run of a clone sharing the worker starts it
/// again).
pub(super) async fn claim_loop(inner: Arc<Inner>, host: Weak<dyn JobHost>) {
    let stop = || inner.producer.started.store(false, Ordering::Release);
    let (Some(first), Some(stores)) = (host.upgrade(), inner.stores.as_ref()) else {
        return stop();
    };
    let component = first.component_id().to_owned();
    let hooks = first.hook_names();
    drop(first);
    let lease = stores.jobs.lease();
    let mut events = stores.events.subscribe();
    lifeline::recover(&inner, stores, &component).await;
    // Jobs failed for want of a hook this binary has: back in the queue.
    match stores
        .jobs
        .requeue_found_hooks(vec![component.clone()], hooks.clone())
        .await
    {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!(agent = %component, queued_again = n, "durable jobs of hooks that are back: queued again")
        }
        Err(error) => {
            tracing::warn!(agent = %component, %error, "queueing the jobs of hooks that are back failed")
        }
    }
    let mut pruner = Pruner::new(component.clone(), hooks.clone());
    let mut looks = backlog::Looks::new();
    let mut recovered = Instant::now();
    loop {
        if inner.lifecycle.is_closed() {
            return;
        }
        // On a shared store, any instance takes over the jobs whose
        // lease ran out (their instance stopped), every third of a lease.
        if let Some(lease) = lease
            && recovered.elapsed() >= lease / 3
        {
            recovered = Instant::now();
            lifeline::recover(&inner, stores, &component).await;
        }
        pruner.tick(&inner).await;
        looks
            .tick(&inner.backlog, &inner.options, &*stores.jobs, &component)
            .await;
        // Shutting down: nothing more is taken from the store (what
        // waits there runs at the next start); what runs, and what the
        // runs still in progress start at once, drains.
        let room = if inner.lifecycle.takes_no_more() {
            0
        } else {
            inner.admission.claim_batch()
        };
        let mut more = false;
        if room > 0 {
            inner.producer.backlog.store(false, Ordering::Release);
            let Some(host) = host.upgrade() else {
                return stop();
            };
            match stores
                .jobs
                .claim_jobs(&OWNER, vec![component.clone()], hooks.clone(), room)
                .await
            {
                Ok(claimed) => {
                    more = claimed.len() == room;
                    // Held (their leases renewed) from the claim on.
                    for job in &claimed {
                        inner.held.set(&job.id, job.attempt, true);
                    }
                    let mut claimed = claimed.into_iter();
                    while let Some(job) = claimed.next() {
                        if !start_claimed(&inner, stores, &host, job).await {
                            // No room after all (bytes, a shutdown):
                            // the rest go back to the store too, and the
                            // loop waits for a place to free.
                            for job in claimed.by_ref() {
                                put_back(&inner, job).await;
                            }
                            more = false;
                        }
                    }
                }
                Err(error) => {
                    tracing::error!(agent = %component, %error, "claiming durable jobs failed");
                }
            }
        }
        if more && inner.admission.free_slots() > 0 {
            continue;
        }
        let heard = async {
            match events.as_mut() {
                Some(events) => events.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = inner.producer.wake.notified() => {}
            () = tokio::time::sleep(inner.options.poll_interval) => {}
            heard = heard => match heard {
                Ok(StoreEvent::JobsQueued) => {}
                // The run's cancel listens for its own.
                Ok(StoreEvent::CancelRun(_) | StoreEvent::Missed) => continue,
                // Events were missed: claim now, as if told.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => events = None,
            },
        }
    }
}

/// Starts a job claimed from the store, or fails it when its hook or
/// payload cannot be found again; `false` when it went back to the store
/// for lack of room.
async fn start_claimed(
    inner: &Arc<Inner>,
    stores: &Stores,
    host: &Arc<dyn JobHost>,
    job: ClaimedJob,
) -> bool {
    // Started now or put back at once: a claimed job never waits in
    // memory (unrenewed, uncharged) for room.
    if inner.lifecycle.takes_no_more() {
        put_back(inner, job).await;
        return false;
    }
    let Some(slot) = inner.admission.slot() else {
        put_back(inner, job).await;
        return false;
    };
    let work = match job.job_type {
        JobType::Run => Ok(Work::Run {
            payload: job.payload.clone(),
        }),
        JobType::Hook => match HookPayload::read(&job.payload) {
            Ok(payload) => {
                let origin = Origin::Stored(payload.trace_parent().map(str::to_owned));
                restore(stores, host.as_ref(), &job, payload)
                    .await
                    .map(|(hook, cx)| Work::Hook {
                        hook,
                        cx: cx.with_job(Job {
                            id: job.id.clone(),
                            attempt: job.attempt,
                        }),
                        done: None,
                        origin,
                    })
            }
            Err(error) => Err(Unrestored::Never(error)),
        },
    };
    let work = match work {
        Ok(work) => work,
        // The store could not be read just now (a restart, a cut
        // connection): the job goes back, unrun, its attempt not counted.
        Err(Unrestored::NotNow(error)) => {
            tracing::warn!(agent = host.component_id(), job = %job.id, %error, "a durable job's run could not be read now: left queued");
            put_back(inner, job).await;
            return false;
        }
        Err(Unrestored::Never(error)) => {
            inner.held.set(&job.id, job.attempt, false);
            tracing::error!(agent = host.component_id(), job = %job.id, "durable job failed: {}", error.escape_debug());
            bump(&inner.counters.failed, 1);
            inner
                .settle(JobSettlement {
                    id: job.id,
                    attempt: job.attempt,
                    outcome: JobOutcome::Failed { error },
                })
                .await;
            return true;
        }
    };
    let bytes = match &work {
        Work::Hook { cx, .. } => cx.approx_bytes(),
        Work::Run { payload } => payload.len(),
    };
    let Some(place) = inner.admission.with_bytes(slot, bytes) else {
        drop(work);
        put_back(inner, job).await;
        return false;
    };
    let attempt = Attempt {
        id: job.id,
        number: job.attempt,
        max: job.max_attempts,
    };
    // Held since the claim: the attempt takes it over.
    executor::spawn(inner, host.clone(), work, attempt, place, None);
    true
}

/// Gives a claimed job back to the store unrun (queued again, its
/// attempt not counted); the loop looks again when a place frees.
async fn put_back(inner: &Inner, job: ClaimedJob) {
    inner.held.set(&job.id, job.attempt, false);
    inner.producer.backlog.store(true, Ordering::Release);
    inner
        .settle(JobSettlement {
            id: job.id,
            attempt: job.attempt,
            outcome: JobOutcome::Released,
        })
        .await;
}

/// The hook and the snapshot of a payload read back from the store (its
/// run read back too, or the copy the store kept of it).
/// Why a claimed job could not be restored.
enum Unrestored {
    /// It never can be (its hook is gone, its payload is damaged): it
    /// fails, saying why.
    Never(String),
    /// Not now (the store could not be read): it goes back to the queue.
    NotNow(String),
}

async fn restore(
    stores: &Stores,
    host: &dyn JobHost,
    job: &ClaimedJob,
    payload: HookPayload,
) -> Result<(HookRef, HookContext), Unrestored> {
    let hook = host.find_hook(&payload.hook).ok_or_else(|| {
        Unrestored::Never(format!(
            "no hook named {:?} in agent {:?} nor in the registry (renamed or removed)",
            payload.hook,
            host.component_id()
        ))
    })?;
    let run = match (payload.needs_run(), &job.run) {
        (None, _) => None,
        (Some(_), Some(copy)) => Some(serde_json::from_str(copy).map_err(|e| {
            Unrestored::Never(format!("the copy of the job's run cannot be read: {e}"))
        })?),
        (Some(run_id), None) => match stores.runs.get_run(run_id).await {
            Ok(run) => run,
            Err(error @ crate::db::DbError::Corrupt { .. }) => {
                return Err(Unrestored::Never(format!(
                    "the job's run cannot be read: {error}"
                )));
            }
            Err(error) => return Err(Unrestored::NotNow(error.to_string())),
        },
    };
    let (agent, extensions) = host.restore_parts();
    let cx = payload
        .restore(agent, extensions, run)
        .map_err(Unrestored::Never)?;
    Ok((hook, cx))
}
