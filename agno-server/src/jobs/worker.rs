//! [`JobWorker`]: the durable jobs of one agent, run at once after their
//! run is stored, and from the store after a crash or when places free
//! up. Its parts: admission (`admission.rs`, `enqueue.rs`), the claim
//! loop (`producer.rs`), one attempt and its retry policy (`executor.rs`,
//! `retry.rs`), settling (`settler.rs`), leases (`lifeline.rs`) and
//! maintenance (`pruner.rs`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hooks_core::{DurableHooks, RunOutput};
use serde::Serialize;

use super::backlog::BacklogState;
use super::counters::JobCounters;
use super::enqueue::{self, EarlyJob, PreparedJobs};
use super::host::JobHost;
use super::options::JobOptions;
use super::state::Inner;
use super::{lifeline, producer};
use crate::db::{Db, DbError, SessionRecord};

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

impl std::fmt::Debug for JobWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobWorker")
            .field("options", &self.inner.options)
            .field("counters", &self.counters())
            .finish()
    }
}

impl JobWorker {
    /// A worker with `options` on `db` (none: nothing is durable); it
    /// starts claiming from the store at [`JobWorker::start`].
    pub(crate) fn new(options: JobOptions, db: Option<Arc<dyn Db>>) -> Self {
        Self {
            inner: Arc::new(Inner::new(options, db)),
        }
    }

    /// Its settings.
    pub fn options(&self) -> &JobOptions {
        &self.inner.options
    }

    /// What it did so far.
    pub fn counters(&self) -> JobCounters {
        self.inner.counters.read()
    }

    /// Starts the claim loop of `host` once (see `producer.rs`), and the
    /// renewal of leases where the store has them. Needs a tokio runtime;
    /// a host without a store has nothing to claim.
    pub(crate) fn start(&self, host: &Arc<dyn JobHost>) {
        let inner = &self.inner;
        // Every run asks: a read, and a write only the first time.
        if inner.producer.started.load(Ordering::Acquire) {
            return;
        }
        let Some(stores) = &inner.stores else {
            return;
        };
        if inner.producer.started.swap(true, Ordering::AcqRel) {
            return;
        }
        lifeline::start(inner, stores);
        // Its log lines and the attempts' spans go where the starter's
        // do (a scoped subscriber too, not only the global one).
        let claim = producer::claim_loop(inner.clone(), Arc::downgrade(host));
        inner
            .tracker
            .spawn(tracing::instrument::WithSubscriber::with_current_subscriber(claim));
    }

    /// Starts a run's durable pre-hooks before its model call (see
    /// `enqueue.rs`); those without room are given back.
    pub(crate) fn start_early(
        &self,
        host: &Arc<dyn JobHost>,
        durable: DurableHooks,
    ) -> (Vec<EarlyJob>, DurableHooks) {
        self.start(host);
        enqueue::start_early(&self.inner, host, durable)
    }

    /// The rows of a run's durable jobs, to store with it.
    pub(crate) fn prepare(
        &self,
        component: &str,
        durable: DurableHooks,
        early: Vec<EarlyJob>,
        run: &RunOutput,
    ) -> Result<PreparedJobs, DbError> {
        enqueue::prepare(&self.inner, component, durable, early, run)
    }

    /// Starts the jobs of a run now stored.
    pub(crate) fn launch(&self, host: &Arc<dyn JobHost>, prepared: PreparedJobs) {
        // Retries and a backlog need the claim loop: the first run starts it.
        self.start(host);
        enqueue::launch(&self.inner, host, prepared);
    }

    /// Stores a background run's PENDING row and its job (its payload in
    /// the host's format) in one transaction, and starts it at once when
    /// there is room.
    pub(crate) async fn enqueue_run(
        &self,
        host: &Arc<dyn JobHost>,
        session: SessionRecord,
        pending: &RunOutput,
        payload: String,
        idempotency_key: Option<String>,
    ) -> Result<(), DbError> {
        enqueue::enqueue_run(
            &self.inner,
            host,
            session,
            pending,
            payload,
            idempotency_key,
        )
        .await?;
        self.start(host);
        Ok(())
    }

    /// What the last look at the backlog found (about once a second).
    pub fn backlog(&self) -> BacklogState {
        self.inner.backlog.state()
    }

    /// Waits, up to `limit`, until the backlog is back under its bound;
    /// whether it is.
    pub async fn backlog_drained(&self, limit: Duration) -> bool {
        self.inner.backlog.drained(limit).await
    }

    /// Wakes the claim loop (jobs were queued from outside: a requeue).
    pub fn wake(&self) {
        self.inner.producer.wake();
    }

    /// Shutting down begins: nothing more is taken from the store (queued
    /// background runs and the backlog of durable hooks wait there for the
    /// next start, so no run begins only to be cut by the deadline); what
    /// runs, and the jobs of runs still in progress, go on until
    /// [`JobWorker::shutdown`]. `AgentOS` calls it on SIGTERM; a program
    /// that stops by itself may, before
    /// [`Agent::shutdown`](crate::Agent::shutdown).
    pub fn drain_begins(&self) {
        self.inner.lifecycle.draining.store(true, Ordering::Release);
    }

    /// Whether [`JobWorker::drain_begins`] was called.
    pub fn is_draining(&self) -> bool {
        self.inner.lifecycle.draining.load(Ordering::Acquire)
    }

    /// Stops claiming, waits up to `deadline` for the attempts running,
    /// then stops the rest: they are left `queued` in the store (their
    /// attempt not counted) and run at the next start.
    pub async fn shutdown(&self, deadline: Duration) -> JobsShutdown {
        let inner = &self.inner;
        inner.lifecycle.closed.store(true, Ordering::Release);
        inner.producer.wake.notify_one();
        inner.tracker.close();
        let waited_for = inner.counters.running.load(Ordering::Relaxed);
        let released_before = inner.counters.released.load(Ordering::Relaxed);
        if tokio::time::timeout(deadline, inner.tracker.wait())
            .await
            .is_err()
        {
            inner.lifecycle.cut.cancel();
            inner.tracker.wait().await;
        }
        JobsShutdown {
            waited_for,
            released: inner.counters.released.load(Ordering::Relaxed) - released_before,
        }
    }
}
