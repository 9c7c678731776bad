//! Refreshes of Agno's daily metrics, per store, as AgentOS keeps them in
//! its process: one at a time per store (`already_running` otherwise),
//! the latest one's status for `GET /metrics/refresh/status`, and the
//! lazy refresh a `GET /metrics` makes at most once a minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::{Db, DbError, MetricsRow, refresh_metrics};

use super::metrics_wire::{MetricsRefreshStatus, iso_ms};

/// How often a read refreshes first (Agno: 60 s).
pub const LAZY_EVERY: Duration = Duration::from_secs(60);

/// Every store's refresh state. Cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Refreshes {
    inner: Arc<Mutex<HashMap<String, Entry>>>,
}

#[derive(Default)]
struct Entry {
    /// When this process last computed (a lazy or asked refresh).
    computed: Option<Instant>,
    /// The latest asked refresh; `None`: idle.
    latest: Option<Latest>,
}

#[derive(Clone)]
struct Latest {
    running: bool,
    started_ms: i64,
    finished_ms: Option<i64>,
    error: Option<String>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Refreshes {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Takes the store's refresh for an asked refresh: `false` when one is
    /// running.
    pub(crate) fn begin(&self, db_id: &str) -> bool {
        self.with(|all| {
            let entry = all.entry(db_id.to_owned()).or_default();
            if entry.latest.as_ref().is_some_and(|l| l.running) {
                return false;
            }
            entry.latest = Some(Latest {
                running: true,
                started_ms: now_ms(),
                finished_ms: None,
                error: None,
            });
            true
        })
    }

    /// Records how the asked refresh [`begin`](Self::begin) took ended.
    pub(crate) fn end(&self, db_id: &str, error: Option<String>) {
        self.with(|all| {
            let entry = all.entry(db_id.to_owned()).or_default();
            entry.computed = Some(Instant::now());
            if let Some(latest) = &mut entry.latest {
                latest.running = false;
                latest.finished_ms = Some(now_ms());
                latest.error = error;
            }
        })
    }

    /// Runs an asked refresh to its end, recorded.
    pub(crate) async fn run(
        &self,
        db_id: &str,
        db: &Arc<dyn Db>,
    ) -> Result<Vec<MetricsRow>, DbError> {
        let result = refresh_metrics(db.as_ref(), crate::clock::now_secs()).await;
        self.end(db_id, result.as_ref().err().map(ToString::to_string));
        result
    }

    /// A read's refresh: computes when this process has not for a minute
    /// (stamped first, so a failing one is not retried on every read, as
    /// in Agno); a failure is logged and the read goes on.
    pub(crate) async fn lazily(&self, db_id: &str, db: &Arc<dyn Db>) {
        let due = self.with(|all| {
            let entry = all.entry(db_id.to_owned()).or_default();
            let due = entry.computed.is_none_or(|at| at.elapsed() >= LAZY_EVERY);
            if due {
                entry.computed = Some(Instant::now());
            }
            due
        });
        if due && let Err(error) = refresh_metrics(db.as_ref(), crate::clock::now_secs()).await {
            tracing::warn!(db_id, %error, "could not refresh the daily metrics before reading them");
        }
    }

    /// The latest asked refresh's status.
    pub(crate) fn status(&self, db_id: &str) -> MetricsRefreshStatus {
        let latest = self.with(|all| all.get(db_id).and_then(|e| e.latest.clone()));
        match latest {
            None => MetricsRefreshStatus {
                status: "idle",
                started_at: None,
                finished_at: None,
                error: None,
            },
            Some(l) => MetricsRefreshStatus {
                status: match (l.running, &l.error) {
                    (true, _) => "running",
                    (false, None) => "completed",
                    (false, Some(_)) => "failed",
                },
                started_at: Some(iso_ms(l.started_ms)),
                finished_at: l.finished_ms.map(iso_ms),
                error: l.error,
            },
        }
    }
}
