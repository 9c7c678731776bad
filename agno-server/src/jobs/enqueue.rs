//! Admission: the durable jobs of a run, from its snapshot to their rows
//! (written in the run's own transaction) and their first attempts
//! (started at once where there is room, else left `queued` in the
//! store); and a background run's job.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hooks_core::{DurableHooks, HookContext, HookRef, Job, JobSink, RunOutput};
use tokio::sync::oneshot;

use super::admission::Place;
use super::counters::bump;
use super::executor::{self, Attempt, Origin, Work};
use super::host::JobHost;
use super::payload;
use super::state::{Inner, OWNER};
use crate::db::{DbError, JobType, NewJob, SessionRecord};

/// A durable job whose run is being stored, holding its place to start
/// at once when the store commits.
struct ReadyJob {
    hook: HookRef,
    snapshot: HookContext,
    id: String,
    place: Place,
}

/// A durable pre-hook started at its place in its phase, before its run
/// is stored (see [`start_early`]).
pub(crate) struct EarlyJob {
    hook: HookRef,
    /// The run as the hook saw it: its payload, if a row is written.
    snapshot: HookContext,
    id: String,
    /// Set by the attempt when the hook returned `Ok`.
    done: Arc<AtomicBool>,
    /// Tells the attempt whether its row was committed with the run.
    stored: oneshot::Sender<bool>,
}

/// The jobs of one run: the rows to store with it, and those to start
/// once it is stored.
pub(crate) struct PreparedJobs {
    rows: Vec<NewJob>,
    ready: Vec<ReadyJob>,
    /// Early jobs, and whether a row is written for each.
    early: Vec<(EarlyJob, bool)>,
    /// How many rows are stored `queued` (no place now).
    queued: usize,
    count: usize,
}

impl PreparedJobs {
    /// The rows to store with the run (taken: the store gets them).
    pub(crate) fn take_rows(&mut self) -> Vec<NewJob> {
        std::mem::take(&mut self.rows)
    }
}

/// A place for a job holding `bytes`, if the worker is open and has one:
/// a job that gets one starts as soon as its run commits; one that does
/// not waits in the store.
fn place(inner: &Inner, bytes: usize) -> Option<Place> {
    if inner.lifecycle.is_closed() {
        return None;
    }
    inner.admission.place(bytes)
}

fn max_attempts(inner: &Inner) -> u32 {
    inner.options.max_attempts.max(1)
}

/// Starts a run's durable pre-hooks at once, as in-memory background
/// hooks start, before the model is called: one that finishes before its
/// run is stored needs no row at all (the usual case for a quick hook,
/// which then costs the store nothing); one still running (or failed)
/// when the run is stored gets its row in the run's transaction, as any
/// durable hook, and its attempt goes on as that job's first. Hooks that
/// find no place are given back, to be stored `queued` with the run.
pub(crate) fn start_early(
    inner: &Arc<Inner>,
    host: &Arc<dyn JobHost>,
    durable: DurableHooks,
) -> (Vec<EarlyJob>, DurableHooks) {
    let mut late = DurableHooks::new(host.durable_by_default());
    let mut early = Vec::new();
    for (hook, snapshot) in durable.into_inner() {
        let Some(place) = place(inner, snapshot.approx_bytes()) else {
            late.push(hook, snapshot);
            continue;
        };
        let id = uuid::Uuid::now_v7().to_string();
        let done = Arc::new(AtomicBool::new(false));
        let (stored, row) = oneshot::channel();
        // Cheap: the run's data is shared, not copied.
        let cx = snapshot.clone().with_job(Job {
            id: id.clone(),
            attempt: 1,
        });
        let attempt = Attempt {
            id: id.clone(),
            number: 1,
            max: hook.meta().max_attempts.unwrap_or(max_attempts(inner)),
        };
        let work = Work::Hook {
            hook: hook.clone(),
            cx,
            done: Some(done.clone()),
            origin: Origin::Run,
        };
        executor::spawn(inner, host.clone(), work, attempt, place, Some(row));
        early.push(EarlyJob {
            hook,
            snapshot,
            id,
            done,
            stored,
        });
    }
    (early, late)
}

/// Makes the rows of `durable` (a run's durable hooks) and takes a place
/// for each that can start at once; the others are stored `queued`. With
/// them, the rows of the `early` jobs not done yet.
pub(crate) fn prepare(
    inner: &Inner,
    component: &str,
    durable: DurableHooks,
    early: Vec<EarlyJob>,
    run: &RunOutput,
) -> Result<PreparedJobs, DbError> {
    let mut prepared = PreparedJobs {
        rows: Vec::with_capacity(durable.len() + early.len()),
        ready: Vec::new(),
        early: Vec::with_capacity(early.len()),
        queued: 0,
        count: durable.len(),
    };
    for job in early {
        let row = !job.done.load(Ordering::Acquire);
        if row {
            let written = payload::write(job.hook.meta().name, &job.snapshot, run)?;
            let parts = (&job.hook, &job.snapshot, job.id.as_str());
            prepared
                .rows
                .push(hook_row(inner, component, parts, written, true));
            prepared.count += 1;
        }
        prepared.early.push((job, row));
    }
    for (hook, snapshot) in durable.into_inner() {
        let id = uuid::Uuid::now_v7().to_string();
        let written = payload::write(hook.meta().name, &snapshot, run)?;
        let place = place(inner, snapshot.approx_bytes());
        let parts = (&hook, &snapshot, id.as_str());
        prepared
            .rows
            .push(hook_row(inner, component, parts, written, place.is_some()));
        match place {
            Some(place) => prepared.ready.push(ReadyJob {
                hook,
                snapshot,
                id,
                place,
            }),
            None => prepared.queued += 1,
        }
    }
    Ok(prepared)
}

/// The row of a durable hook's job, `running` (held by this process,
/// attempt 1) when `claimed`, else `queued`.
fn hook_row(
    inner: &Inner,
    component: &str,
    (hook, snapshot, id): (&HookRef, &HookContext, &str),
    written: payload::Written,
    claimed: bool,
) -> NewJob {
    let shared = snapshot.shared();
    NewJob {
        id: id.to_owned(),
        job_type: JobType::Hook,
        hook_name: Some(hook.meta().name.to_owned()),
        component_id: component.to_owned(),
        session_id: shared.session.session_id.clone(),
        user_id: shared.user_id.as_deref().map(str::to_owned),
        payload: written.json,
        max_attempts: hook.meta().max_attempts.unwrap_or(max_attempts(inner)),
        claimed_by: claimed.then(|| OWNER.clone()),
        idempotency_key: None,
        run_id: written.reads_run.then(|| shared.run_id.0.clone()),
    }
}

/// Starts the jobs of a run that is now stored (their rows committed),
/// and tells its early jobs whether they have a row.
pub(crate) fn launch(inner: &Arc<Inner>, host: &Arc<dyn JobHost>, prepared: PreparedJobs) {
    bump(&inner.counters.enqueued, prepared.count as u64);
    for (job, row) in prepared.early {
        if row {
            // Its lease is renewed from now on (Postgres)...
            inner.held.set(&job.id, 1, true);
        }
        if job.stored.send(row).is_err() && row {
            // ...unless its attempt is gone (cut by a shutdown): the row
            // is left to the next start.
            inner.held.set(&job.id, 1, false);
        }
    }
    for job in prepared.ready {
        let cx = job.snapshot.with_job(Job {
            id: job.id.clone(),
            attempt: 1,
        });
        let attempt = Attempt {
            id: job.id,
            number: 1,
            max: job.hook.meta().max_attempts.unwrap_or(max_attempts(inner)),
        };
        let work = Work::Hook {
            hook: job.hook,
            cx,
            done: None,
            origin: Origin::Run,
        };
        executor::spawn(inner, host.clone(), work, attempt, job.place, None);
    }
    if prepared.queued > 0 {
        inner.backlog.add(prepared.queued as u64);
        inner.producer.wake();
    }
}

/// A background run's job (its payload in the host's format), stored
/// with its PENDING row in one transaction and started at once when
/// there is room (else claimed when there is).
pub(crate) async fn enqueue_run(
    inner: &Arc<Inner>,
    host: &Arc<dyn JobHost>,
    session: SessionRecord,
    pending: &RunOutput,
    payload: String,
    idempotency_key: Option<String>,
) -> Result<(), DbError> {
    let Some(stores) = &inner.stores else {
        return Err(DbError::InvalidInput(
            "a background run needs a store".into(),
        ));
    };
    let place = place(inner, payload.len());
    let max = inner.options.run_max_attempts.max(1);
    let job = NewJob {
        id: pending.run_id.clone(),
        job_type: JobType::Run,
        hook_name: None,
        component_id: host.component_id().to_owned(),
        session_id: session.session_id.clone(),
        user_id: pending.user_id.clone(),
        payload: payload.clone(),
        max_attempts: max,
        claimed_by: place.as_ref().map(|_| OWNER.clone()),
        idempotency_key,
        run_id: None,
    };
    stores
        .runs
        .save_run_with_jobs(session, pending, vec![job], None)
        .await?;
    bump(&inner.counters.enqueued, 1);
    match place {
        Some(place) => {
            let attempt = Attempt {
                id: pending.run_id.clone(),
                number: 1,
                max,
            };
            executor::spawn(
                inner,
                host.clone(),
                Work::Run { payload },
                attempt,
                place,
                None,
            );
        }
        None => {
            inner.backlog.add(1);
            inner.producer.wake();
        }
    }
    Ok(())
}
