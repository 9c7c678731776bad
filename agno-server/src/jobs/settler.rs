//! Settling: how attempts ended, written to the store in batches (the
//! outcomes of attempts ending together go in one write, as runs go in
//! the store's group commit), each attempt waiting until its own is
//! written.

use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::db::{DbError, JobSettlement, JobStore};

/// The most outcomes written in one store write.
const SETTLE_BATCH: usize = 512;

/// An attempt's outcome on its way to the store, and who waits for it.
type Settling = (JobSettlement, oneshot::Sender<bool>);

/// The worker's settling task (made with the first outcome).
#[derive(Default)]
pub(super) struct Settler {
    tx: OnceLock<mpsc::UnboundedSender<Settling>>,
}

impl Settler {
    /// Records `settlement` in `store` and waits until it is written;
    /// `false` when it could not be (the job stays `running`, recovered
    /// later).
    pub(super) async fn settle(
        &self,
        store: &Arc<dyn JobStore>,
        settlement: JobSettlement,
    ) -> bool {
        let tx = self.tx.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(settle_loop(store.clone(), rx));
            tx
        });
        let (ack, written) = oneshot::channel();
        tx.send((settlement, ack)).is_ok() && written.await.unwrap_or(false)
    }
}

/// How long outcomes wait for a store that is unavailable (a restart, a
/// failover) before they are given up (their jobs then stay `running`,
/// and are recovered once their lease runs out).
const UNAVAILABLE_FOR_AT_MOST: Duration = Duration::from_secs(600);

/// Writes outcomes as they come, every one waiting in one write; ends when
/// the worker is dropped. While the store is unavailable, the same write
/// is tried again (backing off up to 5 s), so an outage neither loses an
/// outcome nor, by leaving its job `running`, runs its hook twice.
async fn settle_loop(store: Arc<dyn JobStore>, mut rx: mpsc::UnboundedReceiver<Settling>) {
    let mut batch = Vec::with_capacity(SETTLE_BATCH);
    while rx.recv_many(&mut batch, SETTLE_BATCH).await > 0 {
        let (settlements, acks): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let written = write(&store, settlements).await;
        for ack in acks {
            let _ = ack.send(written);
        }
    }
}

async fn write(store: &Arc<dyn JobStore>, settlements: Vec<JobSettlement>) -> bool {
    let started = tokio::time::Instant::now();
    let mut wait = Duration::from_millis(100);
    loop {
        match store.settle_jobs(settlements.clone()).await {
            Ok(_) => return true,
            Err(DbError::Unavailable(reason) | DbError::Conflict(reason))
                if started.elapsed() < UNAVAILABLE_FOR_AT_MOST =>
            {
                tracing::warn!(%reason, jobs = settlements.len(), retry_in_ms = wait.as_millis() as u64, "the store is unavailable or met a concurrent write: writing durable jobs' outcomes again shortly");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            Err(error) => {
                tracing::error!(%error, jobs = settlements.len(), "writing durable jobs' outcomes failed");
                return false;
            }
        }
    }
}
