//! A worker's room: how many jobs run at once (`max_concurrent`) and how
//! many bytes of run data they may hold together (`max_running_bytes`).
//! A job that finds no room waits in the store, never in memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The most jobs claimed in one go.
const CLAIM_BATCH: usize = 64;

/// A running job's share of the worker: one of `max_concurrent`, and its
/// bytes of `max_running_bytes`; given back when dropped.
pub(super) struct Place {
    _slot: OwnedSemaphorePermit,
    _bytes: OwnedSemaphorePermit,
}

/// The places of one worker.
pub(super) struct Admission {
    slots: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    budget: usize,
    /// The last job that wanted bytes had to wait for them (or go back to
    /// the store): the claim loop then takes one job at a time.
    bytes_short: AtomicBool,
}

impl Admission {
    /// Room for `max_concurrent` jobs holding `max_running_bytes`.
    pub(super) fn new(max_concurrent: usize, max_running_bytes: usize) -> Self {
        let budget = max_running_bytes.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            bytes: Arc::new(Semaphore::new(budget)),
            budget,
            bytes_short: AtomicBool::new(false),
        }
    }

    /// A place for a job holding `bytes`, if a slot and those bytes are
    /// free now.
    pub(super) fn place(&self, bytes: usize) -> Option<Place> {
        let slot = self.slot()?;
        self.with_bytes(slot, bytes)
    }

    /// A slot, if one is free.
    pub(super) fn slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }

    /// `slot` with `bytes` of the budget, if they are free; remembers
    /// whether they were (see [`Admission::claim_batch`]).
    pub(super) fn with_bytes(&self, slot: OwnedSemaphorePermit, bytes: usize) -> Option<Place> {
        let taken = self
            .bytes
            .clone()
            .try_acquire_many_owned(self.charge(bytes))
            .ok();
        self.bytes_short.store(taken.is_none(), Ordering::Release);
        taken.map(|bytes| Place {
            _slot: slot,
            _bytes: bytes,
        })
    }

    /// What a job of `bytes` takes of the byte budget: all of it at most
    /// (a job alone always runs), at least 1.
    fn charge(&self, bytes: usize) -> u32 {
        u32::try_from(bytes.clamp(1, self.budget)).unwrap_or(u32::MAX)
    }

    /// How many jobs to claim now: as many as slots are free, up to a
    /// batch; one at a time while the byte budget holds jobs back (a
    /// claimed job that finds no bytes goes back to the store).
    pub(super) fn claim_batch(&self) -> usize {
        let batch = if self.bytes_short.load(Ordering::Acquire) {
            1
        } else {
            CLAIM_BATCH
        };
        self.free_slots().min(batch)
    }

    /// How many slots are free.
    pub(super) fn free_slots(&self) -> usize {
        self.slots.available_permits()
    }
}
