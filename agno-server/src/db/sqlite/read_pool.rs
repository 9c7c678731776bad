//! A small pool of read-only connections, used from `spawn_blocking`.
//!
//! In WAL mode readers never block the writer nor each other; the pool only
//! bounds how many blocking threads and open files reads use at once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::connection::open_reader;
use crate::db::DbError;

/// Read connections, opened lazily, at most `size` in use at once.
pub(crate) struct ReadPool {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    /// A pool of up to `size` (at least 1) connections to `path`.
    pub(crate) fn new(path: PathBuf, busy_timeout: Duration, size: usize) -> Self {
        Self {
            path,
            busy_timeout,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size.max(1))),
        }
    }

    /// Opens one connection now (so a bad path fails at open, not at the
    /// first read) and keeps it idle.
    pub(crate) fn warm_up(&self) -> Result<(), DbError> {
        let conn = open_reader(&self.path, self.busy_timeout)?;
        self.idle().push(conn);
        Ok(())
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        // A panic while holding the lock cannot leave the Vec half-updated.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn checkout(&self) -> Result<Connection, DbError> {
        if let Some(conn) = self.idle().pop() {
            return Ok(conn);
        }
        open_reader(&self.path, self.busy_timeout)
    }

    fn checkin(&self, conn: Connection) {
        // A connection left inside a transaction would pin an old snapshot.
        if conn.is_autocommit() {
            self.idle().push(conn);
        }
    }

    /// Runs `read` on a pooled connection on the blocking thread pool.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, read: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| DbError::Closed)?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = pool.checkout()?;
            let result = read(&mut conn);
            pool.checkin(conn);
            result
        })
        .await
        .map_err(|e| DbError::Internal(format!("read task failed: {e}")))?
    }
}
