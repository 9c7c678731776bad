//! The writer thread: the one connection that writes, with group commit.
//!
//! Callers send jobs through a bounded channel and wait on a oneshot. The
//! thread takes every job waiting in the queue (up to a batch limit), runs
//! them in ONE `BEGIN IMMEDIATE` transaction, each inside its own savepoint
//! (so one failing job does not undo the others), commits once, and only
//! then answers each caller. If the group transaction itself fails, every
//! job is retried alone in its own transaction, so no caller is told "ok"
//! for a write that was not committed, and no good write is lost because of
//! a bad neighbour.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::db::DbError;
use crate::telemetry::StoreMetrics;

/// One write: run on the writer's connection inside a transaction, then
/// answered.
pub(crate) trait WriteJob: Send {
    /// Does the work. May run twice (group attempt, then alone) and must
    /// give the same result each time; only the last run is answered.
    fn run(&mut self, conn: &Connection) -> Result<(), DbError>;
    /// Answers the caller with `outcome` (and the output of the last
    /// successful run).
    fn finish(self: Box<Self>, outcome: Result<(), DbError>);
}

/// A [`WriteJob`] from a closure whose output goes back through a oneshot.
struct Job<T, F> {
    work: F,
    output: Option<T>,
    reply: oneshot::Sender<Result<T, DbError>>,
}

impl<T, F> WriteJob for Job<T, F>
where
    T: Send,
    F: FnMut(&Connection) -> Result<T, DbError> + Send,
{
    fn run(&mut self, conn: &Connection) -> Result<(), DbError> {
        self.output = Some((self.work)(conn)?);
        Ok(())
    }

    fn finish(self: Box<Self>, outcome: Result<(), DbError>) {
        let this = *self;
        let answer = match (outcome, this.output) {
            (Ok(()), Some(output)) => Ok(output),
            (Ok(()), None) => Err(DbError::Internal("write finished without output".into())),
            (Err(e), _) => Err(e),
        };
        // The caller may have stopped waiting; the write stands anyway.
        let _ = this.reply.send(answer);
    }
}

/// Held by the writer for each batch it commits, and by the checkpoint
/// thread for the short pass that lets the WAL start over (see
/// `checkpoint.rs`): while the checkpointer holds it, no batch begins.
pub(crate) type WriteGate = Arc<Mutex<()>>;

/// The handle on the writer thread. Dropping it closes the channel; the
/// thread finishes the queued writes, closes its connection and is joined.
pub(crate) struct Writer {
    sender: Option<mpsc::Sender<Box<dyn WriteJob>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread, which owns `conn` and holds `gate` while
    /// it commits a batch.
    pub(crate) fn spawn(
        conn: Connection,
        queue_capacity: usize,
        max_batch: usize,
        gate: WriteGate,
        metrics: StoreMetrics,
    ) -> Result<Self, DbError> {
        let (sender, receiver) = mpsc::channel(queue_capacity.max(1));
        let max_batch = max_batch.max(1);
        let thread = std::thread::Builder::new()
            .name("agno-db-writer".into())
            .spawn(move || writer_loop(conn, receiver, max_batch, gate, metrics))?;
        Ok(Self {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Runs `work` on the writer thread, in a transaction, and waits until
    /// it is committed (or failed).
    pub(crate) async fn submit<T, F>(&self, work: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let sender = self.sender.as_ref().ok_or(DbError::Closed)?;
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn WriteJob> = Box::new(Job {
            work,
            output: None,
            reply,
        });
        sender.send(job).await.map_err(|_| DbError::Closed)?;
        answer.await.map_err(|_| DbError::Closed)?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.sender.take());
        let Some(thread) = self.thread.take() else {
            return;
        };
        // Joining waits for the queued writes. On a worker of a
        // multi-threaded runtime, say so to tokio first, so the worker's
        // other tasks move to another thread instead of waiting too.
        let join = move || thread.join();
        let joined = match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(join)
            }
            _ => join(),
        };
        if joined.is_err() {
            tracing::error!("the session store's writer thread panicked");
        }
    }
}

/// The thread's body: batches until the channel closes, then closes the
/// connection.
fn writer_loop(
    mut conn: Connection,
    mut receiver: mpsc::Receiver<Box<dyn WriteJob>>,
    max_batch: usize,
    gate: WriteGate,
    metrics: StoreMetrics,
) {
    tracing::debug!("session store writer started");
    while let Some(first) = receiver.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // A poisoned gate only means a checkpoint panicked; writing is
        // still safe.
        let _gate = gate.lock().unwrap_or_else(|e| e.into_inner());
        let (started, writes) = (Instant::now(), batch.len());
        commit_batch(&mut conn, batch);
        metrics.commit(writes, started.elapsed());
    }
    if let Err(e) = conn.execute_batch("PRAGMA optimize") {
        tracing::debug!(error = %e, "PRAGMA optimize failed at close");
    }
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the session store's writer connection failed");
    }
    tracing::debug!("session store writer stopped");
}

/// Commits `batch` as one transaction (or, if that fails, one by one) and
/// answers every job.
pub(crate) fn commit_batch(conn: &mut Connection, mut batch: Vec<Box<dyn WriteJob>>) {
    if batch.len() == 1 {
        let mut job = batch.remove(0);
        let outcome = run_alone(conn, job.as_mut());
        job.finish(outcome);
        return;
    }
    tracing::trace!(jobs = batch.len(), "group commit");
    match run_group(conn, &mut batch) {
        Ok(outcomes) => {
            for (job, outcome) in batch.into_iter().zip(outcomes) {
                job.finish(outcome);
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, jobs = batch.len(), "group commit failed; retrying each write alone");
            for mut job in batch {
                let outcome = run_alone(conn, job.as_mut());
                job.finish(outcome);
            }
        }
    }
}

/// Runs every job in one transaction, each in a savepoint; `Err` when the
/// transaction itself could not be opened, kept consistent or committed
/// (then nothing was written).
fn run_group(
    conn: &mut Connection,
    batch: &mut [Box<dyn WriteJob>],
) -> Result<Vec<Result<(), DbError>>, DbError> {
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch.iter_mut() {
        let savepoint = tx.savepoint()?;
        match job.run(&savepoint) {
            Ok(()) => {
                savepoint.commit()?;
                outcomes.push(Ok(()));
            }
            Err(e) => {
                // Rolls back to the savepoint and releases it.
                savepoint.finish()?;
                outcomes.push(Err(e));
            }
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

/// Runs one job in its own transaction.
fn run_alone(conn: &mut Connection, job: &mut dyn WriteJob) -> Result<(), DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    job.run(&tx)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job<T, F>(work: F) -> (Box<dyn WriteJob>, oneshot::Receiver<Result<T, DbError>>)
    where
        T: Send + 'static,
        F: FnMut(&Connection) -> Result<T, DbError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        (
            Box::new(Job {
                work,
                output: None,
                reply,
            }),
            answer,
        )
    }

    fn conn() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER PRIMARY KEY)")
            .unwrap();
        conn
    }

    fn insert(v: i64) -> impl FnMut(&Connection) -> Result<i64, DbError> + Send + 'static {
        move |c: &Connection| {
            c.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            Ok(v)
        }
    }

    #[test]
    fn a_failing_job_does_not_undo_its_neighbours() {
        let mut c = conn();
        let (a, ra) = job(insert(1));
        let (b, rb) = job(insert(1)); // duplicate key: fails
        let (d, rd) = job(insert(2));
        commit_batch(&mut c, vec![a, b, d]);
        assert_eq!(ra.blocking_recv().unwrap().unwrap(), 1);
        assert!(matches!(
            rb.blocking_recv().unwrap(),
            Err(DbError::Sqlite(_))
        ));
        assert_eq!(rd.blocking_recv().unwrap().unwrap(), 2);
        let n: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
        assert!(c.is_autocommit());
    }

    #[test]
    fn a_job_that_fails_alone_leaves_nothing_written_and_no_transaction_open() {
        let mut c = conn();
        let (a, ra) = job(|c: &Connection| {
            c.execute("INSERT INTO t (v) VALUES (1)", [])?;
            c.execute("INSERT INTO t (v) VALUES (1)", [])?; // fails
            Ok(())
        });
        commit_batch(&mut c, vec![a]);
        assert!(ra.blocking_recv().unwrap().is_err());
        assert!(c.is_autocommit(), "the failed write was rolled back");
        let n: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        // The connection writes on.
        let (b, rb) = job(insert(2));
        commit_batch(&mut c, vec![b]);
        assert_eq!(rb.blocking_recv().unwrap().unwrap(), 2);
    }

    #[test]
    fn a_job_that_breaks_the_transaction_falls_back_to_one_by_one() {
        let mut c = conn();
        let (a, ra) = job(insert(1));
        // ROLLBACK inside the group ends the whole transaction: releasing the
        // savepoint then fails, nothing of the group is written, and every
        // job is retried alone (where this one fails again, by itself).
        let (b, rb) = job(|c: &Connection| {
            c.execute_batch("ROLLBACK")?;
            Ok(())
        });
        let (d, rd) = job(insert(2));
        commit_batch(&mut c, vec![a, b, d]);
        assert_eq!(ra.blocking_recv().unwrap().unwrap(), 1);
        assert!(rb.blocking_recv().unwrap().is_err());
        assert_eq!(rd.blocking_recv().unwrap().unwrap(), 2);
        let n: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
        assert!(c.is_autocommit());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn submit_and_drop_stop_the_thread() {
        let writer = Writer::spawn(conn(), 8, 4, Default::default(), Default::default()).unwrap();
        assert_eq!(writer.submit(insert(7)).await.unwrap(), 7);
        drop(writer); // joins the thread
    }
}
