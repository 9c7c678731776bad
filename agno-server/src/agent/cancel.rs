//! The runs an agent is carrying out in this process, so a caller can
//! cancel one by id (`POST /agents/{id}/runs/{run_id}/cancel`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

/// Run id → the token its steps check. Shared by an agent's clones.
#[derive(Debug, Default)]
pub(crate) struct RunRegistry {
    runs: Mutex<HashMap<String, CancellationToken>>,
}

/// A run's place in the registry; dropping it (the run ended) removes it.
pub(crate) struct Registered {
    registry: Arc<RunRegistry>,
    run_id: String,
    pub(crate) token: CancellationToken,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let removed = self
            .registry
            .runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.run_id);
        drop(removed);
    }
}

impl RunRegistry {
    /// Registers the run `run_id` until the returned guard is dropped.
    pub(crate) fn register(self: &Arc<Self>, run_id: &str) -> Registered {
        let token = CancellationToken::new();
        self.runs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(run_id.to_owned(), token.clone());
        Registered {
            registry: self.clone(),
            run_id: run_id.to_owned(),
            token,
        }
    }

    /// Asks the run `run_id` to stop at its next step; `false` when no such
    /// run is under way here.
    pub(crate) fn cancel(&self, run_id: &str) -> bool {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        match runs.get(run_id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}
