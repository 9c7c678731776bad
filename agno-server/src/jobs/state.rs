//! What the parts of a worker share: its settings, its stores, its room,
//! its tasks and where it is in its life.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::admission::Admission;
use super::backlog::Backlog;
use super::counters::{Counters, bump};
use super::options::JobOptions;
use super::settler::Settler;
use crate::db::{Db, JobSettlement, JobStore, Notifier, SessionStore};

/// Who claims jobs here: one id per process, so that at start-up every
/// `running` job held by another id is known to be a dead process's (one
/// process per SQLite file), and two workers of this process never take
/// each other's jobs for abandoned ones.
pub(super) static OWNER: LazyLock<String> = LazyLock::new(|| {
    format!(
        "pid-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    )
});

/// The parts of the store a worker uses.
pub(super) struct Stores {
    /// The queue.
    pub(super) jobs: Arc<dyn JobStore>,
    /// Where a job's run is read back.
    pub(super) runs: Arc<dyn SessionStore>,
    /// The other instances' wake-ups.
    pub(super) events: Arc<dyn Notifier>,
}

impl Stores {
    fn of(db: Arc<dyn Db>) -> Self {
        Self {
            jobs: db.clone(),
            runs: db.clone(),
            events: db,
        }
    }
}

/// The claim loop's state: whether it runs, and what wakes it.
#[derive(Default)]
pub(super) struct Producer {
    /// Jobs were queued, or a place freed while some are.
    pub(super) wake: Notify,
    /// Jobs may be waiting in the store.
    pub(super) backlog: AtomicBool,
    /// The loop is running.
    pub(super) started: AtomicBool,
}

impl Producer {
    /// Jobs wait in the store: the loop looks now.
    pub(super) fn wake(&self) {
        self.backlog.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// Where a worker is in its life.
#[derive(Default)]
pub(super) struct Lifecycle {
    /// Shut down: nothing more starts.
    pub(super) closed: AtomicBool,
    /// Shutting down: nothing more is taken from the store.
    pub(super) draining: AtomicBool,
    /// Cancelled at the shutdown deadline: what still runs is stopped.
    pub(super) cut: CancellationToken,
}

impl Lifecycle {
    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closed or draining: nothing is claimed.
    pub(super) fn takes_no_more(&self) -> bool {
        self.is_closed() || self.draining.load(Ordering::Acquire)
    }
}

/// The attempts this worker runs now, keyed by (job id, attempt): whose
/// leases it renews (on a store with leases), and which it never takes
/// over itself.
#[derive(Default)]
pub(super) struct Held {
    attempts: Mutex<HashSet<(String, u32)>>,
    /// Whether the store has leases (set when the worker starts; without,
    /// nothing is kept).
    pub(super) leased: AtomicBool,
}

impl Held {
    /// Adds (or removes) the attempt `attempt` of job `id`.
    pub(super) fn set(&self, id: &str, attempt: u32, held: bool) {
        if !self.leased.load(Ordering::Acquire) {
            return;
        }
        let mut set = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if held {
            set.insert((id.to_owned(), attempt));
        } else {
            set.remove(&(id.to_owned(), attempt));
        }
    }

    /// Every attempt held now.
    pub(super) fn all(&self) -> Vec<(String, u32)> {
        let set = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        set.iter().cloned().collect()
    }
}

/// A worker's shared state (one per agent, shared by its clones).
pub(super) struct Inner {
    pub(super) options: JobOptions,
    /// `None`: an agent without a store has no durable jobs.
    pub(super) stores: Option<Stores>,
    pub(super) admission: Admission,
    /// Every attempt and the claim loop, for the shutdown to wait on.
    pub(super) tracker: TaskTracker,
    pub(super) producer: Producer,
    pub(super) lifecycle: Lifecycle,
    pub(super) counters: Counters,
    pub(super) settler: Settler,
    pub(super) held: Held,
    pub(super) backlog: Backlog,
}

impl Inner {
    pub(super) fn new(options: JobOptions, db: Option<Arc<dyn Db>>) -> Self {
        let max_backlog = options.max_backlog;
        Self {
            admission: Admission::new(options.max_concurrent, options.max_running_bytes),
            options,
            stores: db.map(Stores::of),
            tracker: TaskTracker::new(),
            producer: Producer::default(),
            lifecycle: Lifecycle::default(),
            counters: Counters::default(),
            settler: Settler::default(),
            held: Held::default(),
            backlog: Backlog::new(max_backlog),
        }
    }

    /// Records an attempt's outcome and waits until it is written; an
    /// outcome that cannot be written is counted and logged (the job
    /// stays `running`, recovered later).
    pub(super) async fn settle(&self, settlement: JobSettlement) {
        let Some(stores) = &self.stores else {
            return;
        };
        let id = settlement.id.clone();
        if !self.settler.settle(&stores.jobs, settlement).await {
            bump(&self.counters.unsettled, 1);
            tracing::error!(job = %id, "recording a durable job's outcome failed: it stays running and is recovered later");
        }
    }
}
