//! Leases: the running attempts' leases renewed (on a store that has
//! them, every third of a lease), and the jobs whose instance stopped
//! taken over (at start; on a shared store, every third of a lease too).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::counters::bump;
use super::state::{Inner, OWNER, Stores};

/// Renews the leases of the attempts a worker runs, every `every`, until
/// the worker is gone (or closed with nothing left running). A renewal
/// that fails is logged: the attempts stay held until their lease runs
/// out, then another instance may run them again (fenced: this one's
/// outcome is then refused).
pub(super) async fn renew_loop(worker: Weak<Inner>, every: Duration) {
    let every = every.max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(every).await;
        let Some(inner) = worker.upgrade() else {
            return;
        };
        let held = inner.held.all();
        if held.is_empty() && inner.lifecycle.is_closed() {
            return;
        }
        let Some(store) = inner.stores.as_ref().map(|s| s.jobs.clone()) else {
            return;
        };
        drop(inner);
        if held.is_empty() {
            continue;
        }
        let asked = held.len();
        match store.renew_leases(&OWNER, held).await {
            Ok(kept) if kept < asked => {
                tracing::warn!(
                    lost = asked - kept,
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

/// Starts renewing leases, when the store has them.
pub(super) fn start(inner: &Arc<Inner>, stores: &Stores) {
    if let Some(lease) = stores.jobs.lease() {
        inner.held.leased.store(true, Ordering::Release);
        tokio::spawn(renew_loop(Arc::downgrade(inner), lease / 3));
    }
}

/// Queues again (or fails, out of attempts) the jobs of `component` a
/// stopped instance left `running`, never one of this worker's own live
/// attempts: at start, and on a shared store every third of a lease.
pub(super) async fn recover(inner: &Inner, stores: &Stores, component: &str) {
    let held = inner.held.all();
    match stores
        .jobs
        .recover_jobs(&OWNER, vec![component.to_owned()], held)
        .await
    {
        Ok((0, 0)) => {}
        Ok((queued, failed)) => {
            bump(&inner.counters.recovered, queued as u64);
            bump(&inner.counters.failed, failed as u64);
            tracing::warn!(
                agent = %component,
                queued_again = queued,
                failed,
                "durable jobs left running by a process that stopped: queued again (failed when out of attempts)"
            );
        }
        Err(error) => {
            tracing::error!(agent = %component, %error, "recovering durable jobs failed")
        }
    }
}
