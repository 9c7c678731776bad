//! The WAL starts over under steady writes instead of growing without end:
//! the checkpoint thread copies in the background and, past
//! `wal_reset_frames`, holds the writer for one short pass, after which the
//! next write transaction rewinds the WAL. Each rewind bumps the checkpoint
//! sequence number in the WAL file's header, which is what this test
//! watches (no timing: it writes until it has seen the rewinds, within a
//! bound of writes). Without the gated pass (`wal_reset_frames` at
//! `i64::MAX`) this test fails: the WAL passes 300 MB in those 40 000
//! writes and never starts over.

use agno_server::db::prelude::*;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use agno_server::db::{SessionRecord, SessionType, SqliteDb, SqliteDbOptions};
use agno_server::{RunOutput, RunStatus};
use rusqlite::Connection;
use tempfile::TempDir;

/// The WAL header's checkpoint sequence number (bytes 12..16, big-endian):
/// SQLite increments it each time the WAL starts over.
fn wal_checkpoint_sequence(db: &Path) -> u32 {
    let mut header = [0u8; 16];
    let read = std::fs::File::open(db.with_extension("db-wal"))
        .and_then(|mut wal| wal.read_exact(&mut header));
    match read {
        Ok(()) => u32::from_be_bytes(header[12..16].try_into().unwrap()),
        Err(_) => 0,
    }
}

fn wal_len(db: &Path) -> u64 {
    std::fs::metadata(db.with_extension("db-wal")).map_or(0, |m| m.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_wal_starts_over_under_steady_writes() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("agent.db");
    let options = SqliteDbOptions {
        checkpoint_interval: Duration::from_millis(1),
        wal_reset_frames: 64,
        wal_size_limit: 1024 * 1024,
        ..Default::default()
    };
    let db = SqliteDb::with_options(&path, options).unwrap();

    let start = wal_checkpoint_sequence(&path);
    let next = Arc::new(AtomicUsize::new(0));
    let largest = Arc::new(AtomicU64::new(0));
    // 64 tasks write without pause (the writer always has work queued, as
    // under load) until the WAL has started over three times; the bound
    // only stops a broken build from looping forever.
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (db, path, next, largest) = (db.clone(), path.clone(), next.clone(), largest.clone());
        let content = "x".repeat(2_000);
        tasks.push(tokio::spawn(async move {
            while wal_checkpoint_sequence(&path).wrapping_sub(start) < 3 {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= 40_000 {
                    break;
                }
                let session = SessionRecord {
                    session_id: format!("session-{i}"),
                    session_type: SessionType::Agent,
                    agent_id: Some("agent".into()),
                    created_at: 1,
                    updated_at: 1,
                    ..Default::default()
                };
                let run = RunOutput {
                    run_id: format!("run-{i}"),
                    content: Some(content.clone()),
                    status: RunStatus::Completed,
                    created_at: 1,
                    ..Default::default()
                };
                db.save_run(session, &run).await.expect("no write may fail");
                largest.fetch_max(wal_len(&path), Ordering::Relaxed);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let written = next.load(Ordering::Relaxed).min(40_000);
    let largest = largest.load(Ordering::Relaxed);
    assert!(
        wal_checkpoint_sequence(&path).wrapping_sub(start) >= 3,
        "the WAL did not start over three times in {written} writes (it is {} bytes)",
        wal_len(&path)
    );

    // Every write is there and the file is sound.
    drop(db);
    let conn = Connection::open(&path).unwrap();
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM agno_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, written as i64);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // Bounded: the 1 MiB limit, plus what was written while a pass ran.
    assert!(
        largest < 16 * 1024 * 1024,
        "the WAL reached {largest} bytes after {written} writes of ~2 KB"
    );
}
