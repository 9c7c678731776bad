//! The runs an agent is carrying out in this process, so a caller can
//! cancel one by id (`POST /agents/{id}/runs/{run_id}/cancel`).
//!
//! A cancel can arrive before its run is registered here: a background
//! run answered 202 whose task has not reached its first step yet, or a
//! run another instance claims a moment after the cancel was published.
//! As in Agno (its cancellation manager stores the intent for runs not
//! yet registered), a cancel of a run that is not under way is kept as an
//! intent for [`INTENT_TTL`], bounded to [`MAX_INTENTS`] ids (the oldest
//! go first): a run registered with that id is cancelled at once.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::db::{Notifier, StoreEvent};

/// How long a cancel of a run not (yet) under way here is remembered.
pub(crate) const INTENT_TTL: Duration = Duration::from_secs(60 * 60);

/// The most remembered cancels (about 100 bytes each).
pub(crate) const MAX_INTENTS: usize = 4_096;

/// Run id → the token its steps check, and the run's user. Shared by an
/// agent's clones.
#[derive(Debug, Default)]
pub(crate) struct RunRegistry {
    state: Mutex<State>,
    /// Whether the cancels of other instances are listened to.
    listening: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    runs: HashMap<String, (CancellationToken, Option<String>)>,
    /// Cancels of runs not under way when they came, and when.
    intents: HashMap<String, Instant>,
    /// The ids of `intents`, oldest first (an id already taken may still
    /// be here: it is skipped when met).
    order: VecDeque<String>,
}

impl State {
    /// Takes the intent to cancel `run_id`, if one was kept and is fresh.
    fn take_intent(&mut self, run_id: &str) -> bool {
        if self.intents.is_empty() {
            return false;
        }
        self.intents
            .remove(run_id)
            .is_some_and(|when| when.elapsed() < INTENT_TTL)
    }

    /// Keeps the intent to cancel `run_id`, the oldest going past
    /// [`MAX_INTENTS`].
    fn keep_intent(&mut self, run_id: &str) {
        if self.intents.contains_key(run_id) {
            return;
        }
        while self.intents.len() >= MAX_INTENTS {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.intents.remove(&oldest);
                }
                None => break,
            }
        }
        // Ids taken since they were kept stay in `order` until met: sweep
        // them once they outnumber the kept ones.
        if self.order.len() >= 2 * MAX_INTENTS {
            let intents = &self.intents;
            self.order.retain(|id| intents.contains_key(id));
        }
        self.intents.insert(run_id.to_owned(), Instant::now());
        self.order.push_back(run_id.to_owned());
    }
}

/// A run's place in the registry; dropping it (the run ended) removes it.
pub(crate) struct Registered {
    registry: Arc<RunRegistry>,
    run_id: String,
    pub(crate) token: CancellationToken,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let removed = self.registry.lock().runs.remove(&self.run_id);
        drop(removed);
    }
}

impl RunRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers the run `run_id` of `user_id` until the returned guard is
    /// dropped; a cancel that came for it before is applied at once.
    pub(crate) fn register(self: &Arc<Self>, run_id: &str, user_id: Option<String>) -> Registered {
        let token = CancellationToken::new();
        let mut state = self.lock();
        if state.take_intent(run_id) {
            token.cancel();
        }
        state
            .runs
            .insert(run_id.to_owned(), (token.clone(), user_id));
        drop(state);
        Registered {
            registry: self.clone(),
            run_id: run_id.to_owned(),
            token,
        }
    }

    /// Asks the run `run_id` to stop at its next step; `false` when no such
    /// run is under way here (the cancel is then kept for a run registered
    /// later with that id).
    pub(crate) fn cancel(&self, run_id: &str) -> bool {
        let mut state = self.lock();
        if let Some((token, _)) = state.runs.get(run_id) {
            token.cancel();
            return true;
        }
        state.keep_intent(run_id);
        false
    }

    /// Cancels the run `run_id` under way here if it is `user_id`'s:
    /// `Some(true)` cancelled, `Some(false)` another user's, `None` not
    /// under way here (nothing is kept).
    pub(crate) fn cancel_owned(&self, run_id: &str, user_id: &str) -> Option<bool> {
        let state = self.lock();
        let (token, owner) = state.runs.get(run_id)?;
        if owner.as_deref() != Some(user_id) {
            return Some(false);
        }
        token.cancel();
        Some(true)
    }

    /// Forgets a kept cancel of `run_id` (it was carried out in the
    /// store: a queued background run).
    pub(crate) fn forget(&self, run_id: &str) {
        self.lock().take_intent(run_id);
    }

    /// From now on (once), the cancels other instances publish on
    /// `events`' store are applied here too, as if asked here. None is
    /// dropped: when events were missed (this reader lagged, or the
    /// store's listener reconnected), the cancels published since are read
    /// back from the store. Needs a tokio runtime; a store no other
    /// instance shares has no events.
    pub(crate) fn listen(self: &Arc<Self>, events: Arc<dyn Notifier>) {
        if self.listening.load(Ordering::Acquire) {
            return;
        }
        let Some(heard) = events.subscribe() else {
            return;
        };
        if self.listening.swap(true, Ordering::AcqRel) {
            return;
        }
        let registry: Weak<RunRegistry> = Arc::downgrade(self);
        tokio::spawn(listen_loop(registry, events, heard));
    }
}

/// Read back from a little before the last read: a cancel committed just
/// after it was stamped is not skipped.
const RESYNC_SLACK_MS: i64 = 5_000;

async fn listen_loop(
    registry: Weak<RunRegistry>,
    events: Arc<dyn Notifier>,
    mut heard: tokio::sync::broadcast::Receiver<StoreEvent>,
) {
    // Where a read-back starts (the store's clock), taken after
    // subscribing: nothing published in between falls through.
    let mut since = events.cancels_since(None).await.ok().map(|(_, now)| now);
    loop {
        let event = heard.recv().await;
        let Some(registry) = registry.upgrade() else {
            return;
        };
        let missed = match event {
            Ok(StoreEvent::CancelRun(run_id)) => {
                if registry.cancel(&run_id) {
                    tracing::info!(run_id = %run_id.escape_debug(), "run cancelled by another instance");
                }
                false
            }
            Ok(StoreEvent::JobsQueued) => false,
            Ok(StoreEvent::Missed) => true,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "events of other instances were missed: reading their cancels from the store"
                );
                true
            }
            Err(RecvError::Closed) => return,
        };
        if missed {
            match events.cancels_since(since).await {
                Ok((run_ids, now)) => {
                    for run_id in run_ids {
                        if registry.cancel(&run_id) {
                            tracing::info!(run_id = %run_id.escape_debug(), "run cancelled by another instance (read back)");
                        }
                    }
                    since = Some(now - RESYNC_SLACK_MS);
                }
                Err(error) => {
                    tracing::error!(%error, "reading missed cancels failed: read again at the next event")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_before_the_run_is_registered_cancels_it_at_once() {
        let registry = Arc::new(RunRegistry::default());
        assert!(!registry.cancel("r1"), "nothing under way yet");
        let early = registry.register("r1", None);
        assert!(early.token.is_cancelled());
        drop(early);
        // The intent was used up: the id registered again runs.
        assert!(!registry.register("r1", None).token.is_cancelled());
        // A run under way is cancelled where it is.
        let running = registry.register("r2", None);
        assert!(registry.cancel("r2"));
        assert!(running.token.is_cancelled());
    }

    #[test]
    fn a_user_cancels_only_their_own_run() {
        let registry = Arc::new(RunRegistry::default());
        let alices = registry.register("r1", Some("alice".into()));
        assert_eq!(registry.cancel_owned("r1", "bob"), Some(false));
        assert!(!alices.token.is_cancelled());
        assert_eq!(registry.cancel_owned("r1", "alice"), Some(true));
        assert!(alices.token.is_cancelled());
        assert_eq!(
            registry.cancel_owned("r9", "alice"),
            None,
            "not under way here"
        );
        assert!(
            !registry.register("r9", None).token.is_cancelled(),
            "nothing was kept"
        );
    }

    #[test]
    fn kept_cancels_are_bounded_and_can_be_forgotten() {
        let registry = Arc::new(RunRegistry::default());
        for i in 0..MAX_INTENTS + 10 {
            registry.cancel(&format!("r{i}"));
        }
        assert_eq!(registry.lock().intents.len(), MAX_INTENTS);
        // The oldest went first.
        assert!(!registry.register("r0", None).token.is_cancelled());
        assert!(
            registry
                .register(&format!("r{}", MAX_INTENTS + 9), None)
                .token
                .is_cancelled()
        );
        registry.forget("r20");
        assert!(!registry.register("r20", None).token.is_cancelled());
    }
}
