//! Settling: how attempts ended, written to the store in batches (the
//! outcomes of attempts ending together go in one write, as runs go in
//! the store's group commit), each attempt waiting until its own is
//! written.

use std::sync::Arc;
use std::sync::OnceLock;

use tokio::sync::{mpsc, oneshot};

use crate::db::{JobSettlement, JobStore};

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

/// Writes outcomes as they come, every one waiting in one write; ends when
/// the worker is dropped.
async fn settle_loop(store: Arc<dyn JobStore>, mut rx: mpsc::UnboundedReceiver<Settling>) {
    let mut batch = Vec::with_capacity(SETTLE_BATCH);
    while rx.recv_many(&mut batch, SETTLE_BATCH).await > 0 {
        let (settlements, acks): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let written = match store.settle_jobs(settlements).await {
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
