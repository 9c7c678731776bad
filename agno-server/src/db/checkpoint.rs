//! WAL checkpoints off the write path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the
//! threshold, so that commit (and every write queued behind it) waits for
//! the copy into the database file and its fsync: the slow tail of the
//! latencies. Here the writer's automatic checkpoint is off and this thread,
//! with its own connection, runs a PASSIVE checkpoint every interval, which
//! never blocks the writer or the readers.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::DbError;
use super::connection::open_checkpointer;

/// The checkpoint thread; stopped and joined on drop (after a last
/// checkpoint).
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing `path` every `every`.
    pub(crate) fn spawn(
        path: &Path,
        busy_timeout: Duration,
        every: Duration,
    ) -> Result<Self, DbError> {
        let conn = open_checkpointer(path, busy_timeout)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("agno-db-checkpoint".into())
            .spawn(move || {
                // A message or a hang-up (the store dropped) both stop it.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    checkpoint(&conn);
                }
                checkpoint(&conn);
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn checkpoint(conn: &Connection) {
    let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    });
    match result {
        Ok((wal_frames, checkpointed)) => {
            tracing::trace!(wal_frames, checkpointed, "WAL checkpoint");
        }
        Err(error) => tracing::warn!(%error, "WAL checkpoint failed"),
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the session store's checkpoint thread panicked");
        }
    }
}
