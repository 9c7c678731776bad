//! [`JobWorker`]: runs an agent's durable jobs, at once after their run
//! is stored, and from the store after a crash or when places free up.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, Weak};
use std::time::Duration;

use hooks_core::{DurableHooks, HookContext, HookRef, Job, JobSink};
use serde::Serialize;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{HookPayload, JobOptions, RunPayload, payload};
use crate::agent::{Agent, AgentError, WeakAgent};
use crate::db::{ClaimedJob, Db, JobFence, JobOutcome, JobSettlement, NewJob, StoreEvent};

/// Who claims jobs here: one id per process, so that at start-up every
/// `running` job held by another id is known to be a dead process's (one
/// process per SQLite file), and two workers of this process never take
/// each other's jobs for abandoned ones.
static OWNER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "pid-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    )
});

/// The most jobs claimed in one go.
const CLAIM_BATCH: usize = 64;

/// The most outcomes written in one store write.
const SETTLE_BATCH: usize = 512;

/// An attempt's outcome on its way to the store, and who waits for it.
type Settling = (JobSettlement, oneshot::Sender<bool>);

/// What a worker did since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobCounters {
    /// Durable jobs written with their runs.
    pub enqueued: u64,
    /// Attempts started (at once after the run, or claimed from the store).
    pub started: u64,
    /// Attempts that completed (the job is done).
    pub completed: u64,
    /// Attempts that failed with attempts left (queued again).
    pub retried: u64,
    /// Jobs failed for good.
    pub failed: u64,
    /// Attempts cut by a shutdown and left queued for the next start.
    pub released: u64,
    /// Jobs queued again at start-up because a process died running them.
    pub recovered: u64,
    /// Attempts whose outcome could not be written (the job stays
    /// `running` and is recovered at the next start).
    pub unsettled: u64,
    /// Attempts running now.
    pub running: u64,
}

#[derive(Default)]
struct Counters {
    enqueued: AtomicU64,
    started: AtomicU64,
    completed: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    released: AtomicU64,
    recovered: AtomicU64,
    unsettled: AtomicU64,
    running: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// What [`JobWorker::shutdown`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct JobsShutdown {
    /// Attempts running when the shutdown began.
    pub waited_for: u64,
    /// Attempts still running at the deadline: stopped and left queued in
    /// the store (not lost: they run at the next start).
    pub released: u64,
}

/// Runs the durable jobs of one agent. Cheap to clone.
#[derive(Clone)]
pub struct JobWorker {
    inner: Arc<Inner>,
}

struct Inner {
    options: JobOptions,
    slots: Arc<Semaphore>,
    /// [`JobOptions::max_running_bytes`], in bytes.
    bytes: Arc<Semaphore>,
    /// The last job that wanted bytes had to wait for them (or go to the
    /// store): the claim loop then takes one job at a time.
    bytes_short: AtomicBool,
    tracker: TaskTracker,
    /// Wakes the claim loop: jobs were queued, or a place freed while some
    /// are.
    wake: Notify,
    /// Jobs may be waiting in the store.
    backlog: AtomicBool,
    loop_started: AtomicBool,
    closed: AtomicBool,
    /// Shutting down: nothing more is claimed from the store.
    draining: AtomicBool,
    /// Cancelled at the shutdown deadline.
    cut: CancellationToken,
    counters: Counters,
    /// Where attempts send their outcomes, written in batches by one task
    /// (made with the first outcome).
    settler: OnceLock<mpsc::UnboundedSender<Settling>>,
    /// The jobs this worker runs now, whose leases it renews (on a store
    /// with leases: Postgres).
    held: Mutex<HashSet<String>>,
    /// Whether the store has leases to renew (set when the worker starts;
    /// on SQLite, `held` is not kept at all).
    leased: AtomicBool,
}

impl std::fmt::Debug for JobWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobWorker")
            .field("options", &self.inner.options)
            .field("counters", &self.counters())
            .finish()
    }
}

/// What a job does.
enum Work {
    /// A durable background hook on its snapshot (`done`: set when it
    /// returns `Ok`, for an early job).
    Hook {
        hook: HookRef,
        cx: HookContext,
        done: Option<Arc<AtomicBool>>,
    },
    /// A background run.
    Run { request: crate::agent::RunRequest },
}

/// Which attempt of which job.
struct Attempt {
    id: String,
    number: u32,
    max: u32,
}

/// A durable job whose run is being stored, holding its place to start
/// at once when the store commits.
pub(crate) struct ReadyJob {
    hook: HookRef,
    snapshot: HookContext,
    id: String,
    place: Place,
}

/// A running job's share of the worker: one of `max_concurrent`, and its
/// bytes of `max_running_bytes`; given back when dropped.
struct Place {
    _slot: OwnedSemaphorePermit,
    _bytes: OwnedSemaphorePermit,
}

/// A durable pre-hook started at its place in its phase, before its run
/// is stored (see [`JobWorker::start_early`]).
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
    queued: bool,
    count: usize,
}

impl PreparedJobs {
    /// The rows to store with the run (taken: the store gets them).
    pub(crate) fn take_rows(&mut self) -> Vec<NewJob> {
        std::mem::take(&mut self.rows)
    }
}

impl JobWorker {
    /// A worker with `options`; it starts claiming from the store at
    /// [`JobWorker::start`].
    pub(crate) fn new(options: JobOptions) -> Self {
        let slots = Arc::new(Semaphore::new(options.max_concurrent.max(1)));
        let bytes = Arc::new(Semaphore::new(
            options.max_running_bytes.clamp(1, Semaphore::MAX_PERMITS),
        ));
        Self {
            inner: Arc::new(Inner {
                options,
                slots,
                bytes,
                bytes_short: AtomicBool::new(false),
                tracker: TaskTracker::new(),
                wake: Notify::new(),
                backlog: AtomicBool::new(true),
                loop_started: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                draining: AtomicBool::new(false),
                cut: CancellationToken::new(),
                counters: Counters::default(),
                settler: OnceLock::new(),
                held: Mutex::new(HashSet::new()),
                leased: AtomicBool::new(false),
            }),
        }
    }

    /// Its settings.
    pub fn options(&self) -> &JobOptions {
        &self.inner.options
    }

    /// What it did so far.
    pub fn counters(&self) -> JobCounters {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        JobCounters {
            enqueued: get(&c.enqueued),
            started: get(&c.started),
            completed: get(&c.completed),
            retried: get(&c.retried),
            failed: get(&c.failed),
            released: get(&c.released),
            recovered: get(&c.recovered),
            unsettled: get(&c.unsettled),
            running: get(&c.running),
        }
    }

    /// Starts a run's durable pre-hooks at once, as in-memory background
    /// hooks start, before the model is called: one that finishes before
    /// its run is stored needs no row at all (the usual case for a quick
    /// hook, which then costs the store nothing); one still running (or
    /// failed) when the run is stored gets its row in the run's
    /// transaction, as any durable hook, and its attempt goes on as that
    /// job's first. Hooks that find no place (`max_concurrent`, the byte
    /// budget) are given back, to be stored `queued` with the run.
    pub(crate) fn start_early(
        &self,
        agent: &Agent,
        durable: DurableHooks,
    ) -> (Vec<EarlyJob>, DurableHooks) {
        let mut late = DurableHooks::new(agent.durable_hooks());
        let mut early = Vec::new();
        for (hook, snapshot) in durable.into_inner() {
            let Some(place) = self.place(snapshot.approx_bytes()) else {
                late.push(hook, snapshot);
                continue;
            };
            if !self.inner.loop_started.load(Ordering::Acquire) {
                self.start(agent);
            }
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
                max: self.inner.options.max_attempts.max(1),
            };
            let work = Work::Hook {
                hook: hook.clone(),
                cx,
                done: Some(done.clone()),
            };
            self.spawn_gated(agent.clone(), work, attempt, place, Some(row));
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

    /// Makes the rows of `durable` (a run's durable hooks) and takes a
    /// place for each that can start at once; the others are stored
    /// `queued`. With them, the rows of the `early` jobs not done yet.
    pub(crate) fn prepare(
        &self,
        agent: &Agent,
        durable: DurableHooks,
        early: Vec<EarlyJob>,
        run: &hooks_core::RunOutput,
    ) -> Result<PreparedJobs, AgentError> {
        let mut prepared = PreparedJobs {
            rows: Vec::with_capacity(durable.len() + early.len()),
            ready: Vec::new(),
            early: Vec::with_capacity(early.len()),
            queued: false,
            count: durable.len(),
        };
        for job in early {
            let row = !job.done.load(Ordering::Acquire);
            if row {
                let payload = payload::write(job.hook.meta().name, &job.snapshot, run)
                    .map_err(|e| AgentError::Internal(format!("a durable job's payload: {e}")))?;
                prepared
                    .rows
                    .push(self.row(agent, &job.snapshot, job.id.clone(), payload, true));
                prepared.count += 1;
            }
            prepared.early.push((job, row));
        }
        for (hook, snapshot) in durable.into_inner() {
            let id = uuid::Uuid::now_v7().to_string();
            let payload = payload::write(hook.meta().name, &snapshot, run)
                .map_err(|e| AgentError::Internal(format!("a durable job's payload: {e}")))?;
            let permit = self.place(snapshot.approx_bytes());
            prepared
                .rows
                .push(self.row(agent, &snapshot, id.clone(), payload, permit.is_some()));
            match permit {
                Some(place) => prepared.ready.push(ReadyJob {
                    hook,
                    snapshot,
                    id,
                    place,
                }),
                None => prepared.queued = true,
            }
        }
        Ok(prepared)
    }

    /// The row of a durable hook's job with `snapshot`, `running` (held
    /// by this process, attempt 1) when `claimed`, else `queued`.
    fn row(
        &self,
        agent: &Agent,
        snapshot: &HookContext,
        id: String,
        payload: String,
        claimed: bool,
    ) -> NewJob {
        let shared = snapshot.shared();
        NewJob {
            id,
            job_type: "hook",
            component_id: agent.id().to_owned(),
            session_id: shared.session.session_id.clone(),
            user_id: shared.user_id.as_deref().map(str::to_owned),
            payload,
            max_attempts: self.inner.options.max_attempts.max(1),
            claimed_by: claimed.then(|| OWNER.clone()),
            idempotency_key: None,
        }
    }

    /// A place for a job holding `bytes`, if one of `max_concurrent` and
    /// those bytes are free and the worker is open: a job that gets one
    /// starts as soon as its run commits; one that does not waits in the
    /// store.
    fn place(&self, bytes: usize) -> Option<Place> {
        if self.inner.closed.load(Ordering::Acquire) {
            return None;
        }
        let slot = self.inner.slots.clone().try_acquire_owned().ok()?;
        let bytes = self
            .inner
            .bytes
            .clone()
            .try_acquire_many_owned(self.charge(bytes))
            .ok()?;
        Some(Place {
            _slot: slot,
            _bytes: bytes,
        })
    }

    /// What a job of `bytes` takes of the byte budget: all of it at most
    /// (a job alone always runs), at least 1.
    fn charge(&self, bytes: usize) -> u32 {
        let budget = self
            .inner
            .options
            .max_running_bytes
            .clamp(1, Semaphore::MAX_PERMITS);
        u32::try_from(bytes.clamp(1, budget)).unwrap_or(u32::MAX)
    }

    /// Starts the jobs of a run that is now stored (their rows committed),
    /// and tells its early jobs whether they have a row.
    pub(crate) fn launch(&self, agent: &Agent, prepared: PreparedJobs) {
        bump(&self.inner.counters.enqueued, prepared.count as u64);
        for (job, row) in prepared.early {
            if row {
                // Its lease is renewed from now on (Postgres)...
                self.hold(&job.id, true);
            }
            if job.stored.send(row).is_err() && row {
                // ...unless its attempt is gone (cut by a shutdown): the
                // row is left to the next start.
                self.hold(&job.id, false);
            }
        }
        // Retries and a backlog need the claim loop: the first run starts it.
        if !self.inner.loop_started.load(Ordering::Acquire) {
            self.start(agent);
        }
        for job in prepared.ready {
            let cx = job.snapshot.with_job(Job {
                id: job.id.clone(),
                attempt: 1,
            });
            let attempt = Attempt {
                id: job.id,
                number: 1,
                max: self.inner.options.max_attempts.max(1),
            };
            let work = Work::Hook {
                hook: job.hook,
                cx,
                done: None,
            };
            self.spawn(agent.clone(), work, attempt, job.place);
        }
        if prepared.queued {
            self.inner.backlog.store(true, Ordering::Release);
            self.inner.wake.notify_one();
        }
    }

    /// Stores a background run's PENDING row and its job in one
    /// transaction, and starts it at once when there is room.
    pub(crate) async fn submit(
        &self,
        agent: &Agent,
        session: crate::db::SessionRecord,
        pending: &hooks_core::RunOutput,
        request: crate::agent::RunRequest,
        idempotency_key: Option<String>,
    ) -> Result<(), AgentError> {
        let Some(db) = agent.db() else {
            return Err(AgentError::BackgroundWithoutStore {
                agent: agent.id().to_owned(),
            });
        };
        let payload = RunPayload::write(&request)
            .map_err(|e| AgentError::Internal(format!("a background run's payload: {e}")))?;
        let permit = self.place(payload.len());
        let max = self.inner.options.run_max_attempts.max(1);
        let job = NewJob {
            id: pending.run_id.clone(),
            job_type: "run",
            component_id: agent.id().to_owned(),
            session_id: session.session_id.clone(),
            user_id: pending.user_id.clone(),
            payload,
            max_attempts: max,
            claimed_by: permit.as_ref().map(|_| OWNER.clone()),
            idempotency_key,
        };
        db.save_run_with_jobs(session, pending, vec![job], None)
            .await?;
        bump(&self.inner.counters.enqueued, 1);
        if !self.inner.loop_started.load(Ordering::Acquire) {
            self.start(agent);
        }
        match permit {
            Some(permit) => {
                let attempt = Attempt {
                    id: pending.run_id.clone(),
                    number: 1,
                    max,
                };
                self.spawn(agent.clone(), Work::Run { request }, attempt, permit);
            }
            None => self.wake(),
        }
        Ok(())
    }

    /// Wakes the claim loop (jobs were queued from outside: a requeue).
    pub fn wake(&self) {
        self.inner.backlog.store(true, Ordering::Release);
        self.inner.wake.notify_one();
    }

    /// Starts the claim loop of `agent` once: it first queues again the
    /// jobs a dead process left running, then runs what is queued, and
    /// from then on what is queued when places free up. Needs a tokio
    /// runtime; an agent without a store has nothing to claim.
    pub fn start(&self, agent: &Agent) {
        if agent.db().is_none() || self.inner.loop_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let worker = self.clone();
        if let Some(db) = agent.db()
            && let Some(lease) = db.lease()
        {
            self.inner.leased.store(true, Ordering::Release);
            tokio::spawn(renew_loop(
                Arc::downgrade(&self.inner),
                db.clone(),
                lease / 3,
            ));
        }
        let agent = agent.downgrade();
        self.inner.tracker.spawn(worker.claim_loop(agent));
    }

    /// Shutting down begins: nothing more is taken from the store (queued
    /// background runs and the backlog of durable hooks wait there for the
    /// next start, so no run begins only to be cut by the deadline); what
    /// runs, and the jobs of runs still in progress, go on until
    /// [`JobWorker::shutdown`]. `AgentOS` calls it on SIGTERM; a program
    /// that stops by itself may, before [`Agent::shutdown`].
    pub fn drain_begins(&self) {
        self.inner.draining.store(true, Ordering::Release);
    }

    /// Whether [`JobWorker::drain_begins`] was called.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Acquire)
    }

    /// Stops claiming, waits up to `deadline` for the attempts running,
    /// then stops the rest: they are left `queued` in the store (their
    /// attempt not counted) and run at the next start.
    pub async fn shutdown(&self, deadline: Duration) -> JobsShutdown {
        let inner = &self.inner;
        inner.closed.store(true, Ordering::Release);
        inner.wake.notify_one();
        inner.tracker.close();
        let waited_for = inner.counters.running.load(Ordering::Relaxed);
        let released_before = inner.counters.released.load(Ordering::Relaxed);
        if tokio::time::timeout(deadline, inner.tracker.wait())
            .await
            .is_err()
        {
            inner.cut.cancel();
            inner.tracker.wait().await;
        }
        JobsShutdown {
            waited_for,
            released: inner.counters.released.load(Ordering::Relaxed) - released_before,
        }
    }

    async fn claim_loop(self, agent: WeakAgent) {
        let inner = &self.inner;
        // The agent that started the loop is gone: the next run (of a
        // clone sharing this worker) starts it again.
        let stop = || inner.loop_started.store(false, Ordering::Release);
        let Some(first) = agent.upgrade() else {
            return stop();
        };
        let id = first.id().to_owned();
        let db = first.db().cloned();
        let lease = db.as_ref().and_then(|db| db.lease());
        let mut events = db.as_ref().and_then(|db| db.subscribe());
        if let Some(db) = &db {
            self.recover(db, &id).await;
        }
        drop(first);
        let mut pruned = tokio::time::Instant::now();
        let mut recovered = tokio::time::Instant::now();
        loop {
            if inner.closed.load(Ordering::Acquire) {
                return;
            }
            // On a shared store, any instance takes over the jobs whose
            // lease ran out (their instance stopped), every third of a lease.
            if let (Some(db), Some(lease)) = (&db, lease)
                && recovered.elapsed() >= lease / 3
            {
                recovered = tokio::time::Instant::now();
                self.recover(db, &id).await;
            }
            // Once a minute: finished background runs past their retention go.
            if pruned.elapsed() >= Duration::from_secs(60) {
                pruned = tokio::time::Instant::now();
                if let Some(db) = agent.upgrade().as_ref().and_then(|a| a.db().cloned()) {
                    let before =
                        crate::clock::now_secs() - inner.options.retention.as_secs() as i64;
                    if let Err(error) = db.prune_jobs(before).await {
                        tracing::warn!(%error, "pruning finished jobs failed");
                    }
                }
            }
            // A claimed job waits in memory for its bytes: while the byte
            // budget is what holds jobs back, one is claimed at a time, so
            // what waits in memory is one job.
            let batch = if inner.bytes_short.load(Ordering::Acquire) {
                1
            } else {
                CLAIM_BATCH
            };
            // Shutting down: nothing more is taken from the store (what
            // waits there runs at the next start); what runs, and what the
            // runs still in progress start at once, drains.
            let room = if inner.draining.load(Ordering::Acquire) {
                0
            } else {
                inner.slots.available_permits().min(batch)
            };
            let mut more = false;
            if room > 0 {
                inner.backlog.store(false, Ordering::Release);
                let Some(agent) = agent.upgrade() else {
                    return stop();
                };
                let Some(db) = agent.db() else {
                    return;
                };
                match db.claim_jobs(&OWNER, vec![id.clone()], room).await {
                    Ok(claimed) => {
                        more = claimed.len() == room;
                        // Held (their leases renewed) from the claim on.
                        for job in &claimed {
                            self.hold(&job.id, true);
                        }
                        let mut claimed = claimed.into_iter();
                        while let Some(job) = claimed.next() {
                            if !self.start_claimed(&agent, job).await {
                                // No room after all (bytes, a shutdown):
                                // the rest go back to the store too, and
                                // the loop waits for a place to free.
                                for job in claimed.by_ref() {
                                    self.put_back(&agent, job).await;
                                }
                                more = false;
                            }
                        }
                    }
                    Err(error) => {
                        tracing::error!(agent = %id, %error, "claiming durable jobs failed");
                    }
                }
            }
            if more && inner.slots.available_permits() > 0 {
                continue;
            }
            let heard = async {
                match events.as_mut() {
                    Some(events) => events.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = inner.wake.notified() => {}
                () = tokio::time::sleep(inner.options.poll_interval) => {}
                heard = heard => match heard {
                    Ok(StoreEvent::JobsQueued) => {}
                    Ok(StoreEvent::CancelRun(run_id)) => {
                        if let Some(agent) = agent.upgrade()
                            && agent.cancel_running(&run_id)
                        {
                            tracing::info!(run_id = %run_id.escape_debug(), "run cancelled by another instance");
                        }
                        continue;
                    }
                    // Events were missed: claim now, as if told.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => events = None,
                },
            }
        }
    }

    /// Queues again (or fails, out of attempts) the jobs a stopped process
    /// left `running`: at start, and on a shared store every third of a
    /// lease.
    async fn recover(&self, db: &Arc<dyn Db>, id: &str) {
        let inner = &self.inner;
        match db.recover_jobs(&OWNER, vec![id.to_owned()]).await {
            Ok((0, 0)) => {}
            Ok((queued, failed)) => {
                bump(&inner.counters.recovered, queued as u64);
                bump(&inner.counters.failed, failed as u64);
                tracing::warn!(
                    agent = %id,
                    queued_again = queued,
                    failed,
                    "durable jobs left running by a process that stopped: queued again (failed when out of attempts)"
                );
            }
            Err(error) => {
                tracing::error!(agent = %id, %error, "recovering durable jobs failed")
            }
        }
    }

    /// Starts a job claimed from the store, or fails it when its hook or
    /// payload cannot be found again.
    async fn start_claimed(&self, agent: &Agent, job: ClaimedJob) -> bool {
        // Started now or put back at once: a claimed job never waits in
        // memory (unrenewed, uncharged) for room.
        if self.inner.draining.load(Ordering::Acquire) || self.inner.closed.load(Ordering::Acquire)
        {
            self.put_back(agent, job).await;
            return false;
        }
        let Ok(slot) = self.inner.slots.clone().try_acquire_owned() else {
            self.put_back(agent, job).await;
            return false;
        };
        let work = match job.job_type.as_str() {
            "run" => RunPayload::read(&job.payload).map(|request| Work::Run { request }),
            _ => match HookPayload::read(&job.payload) {
                Ok(payload) => self
                    .restore(agent, payload)
                    .await
                    .map(|(hook, cx)| Work::Hook {
                        hook,
                        cx: cx.with_job(Job {
                            id: job.id.clone(),
                            attempt: job.attempt,
                        }),
                        done: None,
                    }),
                Err(error) => Err(error),
            },
        };
        let work = match work {
            Ok(work) => work,
            Err(error) => {
                self.hold(&job.id, false);
                tracing::error!(agent = agent.id(), job = %job.id, "durable job failed: {}", error.escape_debug());
                bump(&self.inner.counters.failed, 1);
                let settlement = JobSettlement {
                    id: job.id,
                    attempt: job.attempt,
                    outcome: JobOutcome::Failed { error },
                };
                self.settle(agent, settlement).await;
                return true;
            }
        };
        let bytes = match &work {
            Work::Hook { cx, .. } => cx.approx_bytes(),
            Work::Run { .. } => job.payload.len(),
        };
        let taken = self
            .inner
            .bytes
            .clone()
            .try_acquire_many_owned(self.charge(bytes))
            .ok();
        // While the byte budget holds jobs back, the loop claims one at a
        // time.
        self.inner
            .bytes_short
            .store(taken.is_none(), Ordering::Release);
        let Some(bytes) = taken else {
            drop(work);
            self.put_back(agent, job).await;
            return false;
        };
        let attempt = Attempt {
            id: job.id,
            number: job.attempt,
            max: job.max_attempts,
        };
        let place = Place {
            _slot: slot,
            _bytes: bytes,
        };
        self.spawn(agent.clone(), work, attempt, place);
        true
    }

    /// Gives a claimed job back to the store unrun (queued again, its
    /// attempt not counted); a job that frees a place wakes the loop.
    async fn put_back(&self, agent: &Agent, job: ClaimedJob) {
        self.hold(&job.id, false);
        self.inner.backlog.store(true, Ordering::Release);
        let settlement = JobSettlement {
            id: job.id,
            attempt: job.attempt,
            outcome: JobOutcome::Released,
        };
        self.settle(agent, settlement).await;
    }

    /// The hook and the snapshot of a payload read back from the store.
    async fn restore(
        &self,
        agent: &Agent,
        payload: HookPayload,
    ) -> Result<(HookRef, HookContext), String> {
        let hook = agent.find_hook(&payload.hook).ok_or_else(|| {
            format!(
                "no hook named {:?} in agent {:?} nor in the registry (renamed or removed)",
                payload.hook,
                agent.id()
            )
        })?;
        let run = match (payload.needs_run(), agent.db()) {
            (Some(run_id), Some(db)) => db
                .get_run(run_id)
                .await
                .map_err(|e| format!("the job's run could not be read: {e}"))?,
            _ => None,
        };
        let cx = payload.restore(agent.info().clone(), agent.extensions().clone(), run)?;
        Ok((hook, cx))
    }

    /// Runs one attempt on its own tracked task and records how it ended.
    fn spawn(&self, agent: Agent, work: Work, attempt: Attempt, place: Place) {
        self.hold(&attempt.id, true);
        self.spawn_gated(agent, work, attempt, place, None);
    }

    /// [`JobWorker::spawn`], for a job whose row may not exist yet: with
    /// `stored`, once the hook ends the attempt waits to hear whether its
    /// row was committed with its run (`true`: settled as any job;
    /// `false`, or the run not stored: nothing to record).
    fn spawn_gated(
        &self,
        agent: Agent,
        work: Work,
        attempt: Attempt,
        place: Place,
        stored: Option<oneshot::Receiver<bool>>,
    ) {
        let worker = self.clone();
        bump(&self.inner.counters.started, 1);
        bump(&self.inner.counters.running, 1);
        self.inner.tracker.spawn(async move {
            let inner = &worker.inner;
            let is_run = matches!(work, Work::Run { .. });
            let (name, run_id, result) = match work {
                Work::Hook { hook, mut cx, done } => {
                    let result = tokio::select! {
                        biased;
                        result = agent.dispatcher().run_job(&*hook, &mut cx) => Some(result.map_err(|e| e.to_string())),
                        () = inner.cut.cancelled() => None,
                    };
                    if let (Some(done), Some(Ok(()))) = (&done, &result) {
                        done.store(true, Ordering::Release);
                    }
                    (hook.meta().name, cx.shared().run_id.0.clone(), result)
                }
                Work::Run { request } => {
                    // A background run: a normal run, with every hook; the
                    // run stores itself (COMPLETED, ERROR or CANCELLED).
                    let result = tokio::select! {
                        biased;
                        result = agent.execute_job(request, JobFence { job_id: attempt.id.clone(), attempt: attempt.number }) => Some(result.map(drop).map_err(|e| e.to_string())),
                        () = inner.cut.cancelled() => None,
                    };
                    ("background run", attempt.id.clone(), result)
                }
            };
            // The place (a slot, the bytes) is free once the work ended,
            // whatever is left to record.
            drop(place);
            if inner.backlog.load(Ordering::Acquire) {
                inner.wake.notify_one();
            }
            let Attempt { id, number, max } = attempt;
            let id_for_lease = id.clone();
            let row = match stored {
                None => true,
                // Its run may still be under way: a shutdown cut does not
                // wait for it (a row written later is recovered, and run
                // again, at the next start).
                Some(stored) => tokio::select! {
                    stored = stored => stored.unwrap_or(false),
                    () = inner.cut.cancelled() => false,
                },
            };
            if !row {
                // Done before its run was stored (no row was written), or
                // its run was never stored: nothing to record.
                if matches!(result, Some(Ok(()))) {
                    bump(&inner.counters.completed, 1);
                }
                worker.hold(&id_for_lease, false);
                inner.counters.running.fetch_sub(1, Ordering::Relaxed);
                return;
            }
            let outcome = match result {
                // A background run cut mid-way may have called its model:
                // the attempt counts, as a crash's does (a run is not run
                // again past `run_max_attempts`), and its row says why.
                None if is_run => worker.failed(
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
                Some(Err(error)) => worker.failed(name, &run_id, &id, number, max, &error),
            };
            worker
                .settle(
                    &agent,
                    JobSettlement {
                        id,
                        attempt: number,
                        outcome,
                    },
                )
                .await;
            worker.hold(&id_for_lease, false);
            inner.counters.running.fetch_sub(1, Ordering::Relaxed);
        });
    }

    /// Adds a job to (or removes it from) the jobs whose leases this
    /// worker renews.
    fn hold(&self, id: &str, held: bool) {
        if !self.inner.leased.load(Ordering::Acquire) {
            return;
        }
        let mut set = self.inner.held.lock().unwrap_or_else(|e| e.into_inner());
        if held {
            set.insert(id.to_owned());
        } else {
            set.remove(id);
        }
    }

    /// The outcome of a failed attempt: a retry after the back-off, or the
    /// end.
    fn failed(
        &self,
        name: &str,
        run_id: &str,
        id: &str,
        attempt: u32,
        max_attempts: u32,
        error: &str,
    ) -> JobOutcome {
        let text = error.to_owned();
        if attempt < max_attempts {
            let delay = self.inner.options.backoff(attempt);
            bump(&self.inner.counters.retried, 1);
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
            self.inner.backlog.store(true, Ordering::Release);
            JobOutcome::Retry {
                error: text,
                delay_secs: delay.as_secs().max(1) as i64,
            }
        } else {
            bump(&self.inner.counters.failed, 1);
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

    /// Records an attempt's outcome, and waits until it is written. The
    /// outcomes of attempts ending together are written in one store write
    /// (as runs are, by the store's group commit), not one each.
    async fn settle(&self, agent: &Agent, settlement: JobSettlement) {
        let Some(db) = agent.db() else {
            return;
        };
        let settler = self.inner.settler.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(settle_loop(db.clone(), rx));
            tx
        });
        let id = settlement.id.clone();
        let (ack, written) = oneshot::channel();
        let written = settler.send((settlement, ack)).is_ok() && written.await.unwrap_or(false);
        if !written {
            bump(&self.inner.counters.unsettled, 1);
            tracing::error!(job = %id, "recording a durable job's outcome failed: it stays running and is recovered at the next start");
        }
    }
}

/// Renews the leases of the jobs a worker runs, every `every`, until the
/// worker is gone (or closed with nothing left running). A renewal that
/// fails is logged: the jobs stay held until their lease runs out, then
/// another instance may run them again (fenced: this one's outcome is
/// then refused).
async fn renew_loop(worker: Weak<Inner>, db: Arc<dyn Db>, every: Duration) {
    let every = every.max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        let Some(inner) = worker.upgrade() else {
            return;
        };
        let ids: Vec<String> = inner
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect();
        if ids.is_empty() && inner.closed.load(Ordering::Acquire) {
            return;
        }
        drop(inner);
        if ids.is_empty() {
            continue;
        }
        let asked = ids.len();
        match db.renew_leases(&OWNER, ids).await {
            Ok(held) if held < asked => {
                tracing::warn!(
                    lost = asked - held,
                    "leases of running durable jobs were taken over (this process was too slow to renew them): their outcomes will be refused"
                );
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, "renewing the leases of running durable jobs failed")
            }
        }
    }
}

/// Writes outcomes as they come, every one waiting in one write; ends when
/// the worker is dropped.
async fn settle_loop(db: Arc<dyn Db>, mut rx: mpsc::UnboundedReceiver<Settling>) {
    let mut batch = Vec::with_capacity(SETTLE_BATCH);
    while rx.recv_many(&mut batch, SETTLE_BATCH).await > 0 {
        let (settlements, acks): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let written = match db.settle_jobs(settlements).await {
            Ok(_) => true,
            Err(error) => {
                tracing::error!(%error, jobs = acks.len(), "writing durable jobs' outcomes failed");
                false
            }
        };
        for ack in acks {
            let _ = ack.send(written);
        }
    }
}
