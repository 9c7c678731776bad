//! What a store measures as it writes: kept by the store itself (its
//! writer thread, its pool), registered when scraped.

use std::time::Duration;

use prometheus_client::metrics::histogram::Histogram;

/// Buckets of a commit or a checkpoint, in seconds (50 µs to 10 s).
const COMMIT: [f64; 14] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
    10.0,
];

/// Buckets of a group commit's size, in writes.
const BATCH: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// A store's histograms.
#[derive(Debug, Clone)]
pub struct StoreMetrics {
    commit: Histogram,
    batch: Histogram,
    checkpoint: Histogram,
    pool_wait: Histogram,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self {
            commit: Histogram::new(COMMIT),
            batch: Histogram::new(BATCH),
            checkpoint: Histogram::new(COMMIT),
            pool_wait: Histogram::new(COMMIT),
        }
    }
}

impl StoreMetrics {
    /// A transaction of `writes` writes committed (or failed) in `elapsed`.
    pub fn commit(&self, writes: usize, elapsed: Duration) {
        self.commit.observe(elapsed.as_secs_f64());
        self.batch.observe(writes as f64);
    }

    /// A checkpoint held the writer back for `elapsed`.
    pub fn checkpoint(&self, elapsed: Duration) {
        self.checkpoint.observe(elapsed.as_secs_f64());
    }

    /// A connection was taken from the pool after `elapsed`.
    pub fn pool_wait(&self, elapsed: Duration) {
        self.pool_wait.observe(elapsed.as_secs_f64());
    }

    /// Transactions' durations.
    pub fn commits(&self) -> &Histogram {
        &self.commit
    }

    /// Group commits' sizes.
    pub fn batches(&self) -> &Histogram {
        &self.batch
    }

    /// Checkpoint pauses.
    pub fn checkpoints(&self) -> &Histogram {
        &self.checkpoint
    }

    /// Pool waits.
    pub fn pool_waits(&self) -> &Histogram {
        &self.pool_wait
    }
}

/// A store's levels, read when scraped (a file's size, a pool's counts):
/// nothing is counted in the database.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreLevels {
    /// The WAL file's size in bytes (SQLite).
    pub wal_bytes: Option<u64>,
    /// The pool's connections: open, idle, and callers waiting for one
    /// (Postgres).
    pub pool: Option<PoolLevels>,
}

/// A connection pool's counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolLevels {
    /// Connections open.
    pub size: u64,
    /// Connections idle.
    pub available: u64,
    /// Callers waiting for a connection.
    pub waiting: u64,
    /// The most connections it opens.
    pub max_size: u64,
}
