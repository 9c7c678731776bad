//! WAL checkpoints off the write path, and a WAL that starts over.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the
//! threshold, so that commit (and every write queued behind it) waits for
//! the copy into the database file and its fsync: the slow tail of the
//! latencies. Here the writer's automatic checkpoint is off and this thread,
//! with its own connection, runs a PASSIVE checkpoint every interval, which
//! never blocks the writer or the readers.
//!
//! That alone lets the WAL grow without end under steady load: SQLite
//! rewinds the WAL to its start only when a write transaction begins after
//! a checkpoint copied *every* frame, and a background checkpoint never
//! catches up with a writer that keeps appending (measured: a 900 MB WAL
//! after 48 000 runs, ~19 KB per run, every frame written to fresh blocks
//! of the file, which cost the writer a quarter of its time in the kernel).
//! So when a pass finds more than `reset_frames` frames in the WAL, the
//! thread first runs more passes while each still finds many new frames,
//! then takes the writer's gate (the writer holds it for each batch, so
//! this waits for the batch in progress and holds back the next one) and
//! runs one more PASSIVE pass: it copies only the frames written since the
//! pass before, then releases the gate, and the next write transaction
//! starts the WAL over. The writer waits for that short pass (its two
//! fsyncs, 5 to 20 ms on the project's machine) once per `reset_frames`
//! frames, instead of doing whole checkpoints itself.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use super::connection::open_checkpointer;
use super::writer::WriteGate;
use crate::db::DbError;
use crate::telemetry::StoreMetrics;

/// The checkpoint thread; stopped and joined on drop (after a last
/// checkpoint).
pub(crate) struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing `path` every `every`, and letting the WAL start
    /// over past `reset_frames` frames (taking `gate` for the last pass).
    pub(crate) fn spawn(
        path: &Path,
        busy_timeout: Duration,
        every: Duration,
        reset_frames: i64,
        gate: WriteGate,
        metrics: StoreMetrics,
    ) -> Result<Self, DbError> {
        let conn = open_checkpointer(path, busy_timeout)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("agno-db-checkpoint".into())
            .spawn(move || {
                // A message or a hang-up (the store dropped) both stop it.
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    if let Some(pass) = checkpoint(&conn)
                        && pass.frames > reset_frames
                    {
                        converge(&conn, pass);
                        let _gate = gate.lock().unwrap_or_else(|e| e.into_inner());
                        let paused = std::time::Instant::now();
                        if let Some(last) = checkpoint(&conn) {
                            tracing::trace!(
                                frames = last.frames,
                                complete = last.complete(),
                                "WAL ready to start over"
                            );
                        }
                        metrics.checkpoint(paused.elapsed());
                    }
                }
                checkpoint(&conn);
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Frames written during a pass that the gated pass may be left to copy:
/// fewer, and the writer waits for little more than the two fsyncs.
const SMALL_TAIL: i64 = 256;

/// Runs more ungated passes while each finds many frames written during
/// the one before (at most four), so the gated pass has only a short tail
/// to copy.
fn converge(conn: &Connection, mut pass: Pass) {
    for _ in 0..4 {
        let Some(next) = checkpoint(conn) else { return };
        let tail = next.frames - pass.frames;
        pass = next;
        if next.busy || tail < SMALL_TAIL {
            return;
        }
    }
}

/// What one checkpoint pass found.
#[derive(Debug, Clone, Copy)]
struct Pass {
    /// Whether another connection's checkpoint was running (nothing done).
    busy: bool,
    /// Frames in the WAL.
    frames: i64,
    /// Frames copied into the database file, this pass or before.
    copied: i64,
}

impl Pass {
    /// Every frame is in the database file: the next write transaction
    /// starts the WAL over (unless a reader still uses it).
    fn complete(self) -> bool {
        !self.busy && self.frames == self.copied
    }
}

/// One PASSIVE checkpoint; `None` if it failed (logged).
fn checkpoint(conn: &Connection) -> Option<Pass> {
    let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok(Pass {
            busy: row.get::<_, i64>(0)? != 0,
            frames: row.get(1)?,
            copied: row.get(2)?,
        })
    });
    match result {
        Ok(pass) => {
            tracing::trace!(
                busy = pass.busy,
                frames = pass.frames,
                copied = pass.copied,
                "WAL checkpoint"
            );
            Some(pass)
        }
        Err(error) => {
            tracing::warn!(%error, "WAL checkpoint failed");
            None
        }
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
