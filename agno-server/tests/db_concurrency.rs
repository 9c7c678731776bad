//! Many writers at once, and durability: what one handle (or process)
//! wrote, a fresh one reads.

use agno_server::db::prelude::*;
use std::collections::BTreeSet;
use std::process::Command;

use agno_server::db::{
    DbError, SessionQuery, SessionRecord, SessionType, SqliteDb, SqliteDbOptions,
};
use agno_server::{RunOutput, RunStatus};
use rusqlite::Connection;
use tempfile::TempDir;

fn session(id: &str) -> SessionRecord {
    SessionRecord {
        session_id: id.into(),
        session_type: SessionType::Agent,
        agent_id: Some("agent".into()),
        created_at: 1,
        updated_at: 1,
        ..Default::default()
    }
}

fn run(id: String) -> RunOutput {
    RunOutput {
        content: Some(format!("content of {id}")),
        run_id: id,
        status: RunStatus::Completed,
        created_at: 1,
        ..Default::default()
    }
}

fn integrity(conn: &Connection) -> String {
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn two_hundred_concurrent_saves_all_land() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("agent.db");
    let db = SqliteDb::new(&path).unwrap();

    let mut tasks = Vec::new();
    for i in 0..200 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let session_id = format!("s{}", i % 10);
            db.save_run(session(&session_id), &run(format!("run-{i:03}")))
                .await?;
            // Interleave reads with the writes.
            db.get_runs(&session_id).await.map(|runs| runs.len())
        }));
    }
    for task in tasks {
        let seen = task.await.unwrap().expect("no save or read may fail");
        assert!(seen >= 1);
    }

    let conn = Connection::open(&path).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM agno_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 200);
    let sessions: i64 = conn
        .query_row("SELECT count(*) FROM agno_sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sessions, 10);
    assert_eq!(integrity(&conn), "ok");

    // Every session numbered its 20 runs 0..20 with no gap or duplicate.
    for s in 0..10 {
        let indexes: Vec<i64> = conn
            .prepare("SELECT run_index FROM agno_runs WHERE session_id = ?1 ORDER BY run_index")
            .unwrap()
            .query_map([format!("s{s}")], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(indexes, (0..20).collect::<Vec<i64>>());
    }
    let all: BTreeSet<String> = {
        let mut ids = BTreeSet::new();
        for s in 0..10 {
            for r in db.get_runs(&format!("s{s}")).await.unwrap() {
                ids.insert(r.run_id);
            }
        }
        ids
    };
    assert_eq!(all.len(), 200);
}

/// One process owns a SQLite file: a second store on it, in this process
/// or in another, is refused, naming the file and pointing to Postgres
/// (two owners would each take the other's running jobs for a dead
/// process's). Once the first is gone, the file opens again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_store_on_one_file_is_refused() {
    let _forks = FORKS.lock().await;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("agent.db");
    let first = SqliteDb::new(&path).unwrap();
    first
        .save_run(session("s"), &run("r".into()))
        .await
        .unwrap();
    let error = SqliteDb::with_options(
        &path,
        SqliteDbOptions {
            read_connections: 2,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(error, DbError::InUse { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()) && message.contains("Postgres"),
        "{message}"
    );
    // Another process is refused the same way.
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "open_in_child_process",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD_PATH, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "child failed:\n{stdout}");
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );
    drop(first);
    let again = SqliteDb::new(&path).unwrap();
    assert_eq!(again.get_runs("s").await.unwrap().len(), 1);
}

/// The child half of `a_second_store_on_one_file_is_refused`: the file
/// its parent holds is refused here.
#[tokio::test]
#[ignore = "run as a child process by a_second_store_on_one_file_is_refused"]
async fn open_in_child_process() {
    let path = std::env::var_os(CHILD_PATH).expect("run by its parent test only");
    let error = SqliteDb::new(std::path::Path::new(&path)).unwrap_err();
    assert!(matches!(error, DbError::InUse { .. }), "{error:?}");
}

const CHILD_PATH: &str = "AGNO_DB_TEST_CHILD_PATH";

/// Held by the tests of this binary that start a child process and by
/// those that close a store and open its file again. A child inherits
/// every open descriptor of the test process until it `exec`s (Rust opens
/// them close-on-exec, which acts only then), a store's lock file among
/// them: a store closed in that moment would still be locked by the
/// child, and opening it again refused (seen once in CI).
static FORKS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn write_three_sessions(path: &std::path::Path) {
    let db = SqliteDb::new(path).unwrap();
    for s in 0..3 {
        for r in 0..4 {
            db.save_run(session(&format!("s{s}")), &run(format!("s{s}-r{r}")))
                .await
                .unwrap();
        }
    }
    // `db` drops here: the writer commits, closes and is joined.
}

async fn check_three_sessions(path: &std::path::Path) {
    let db = SqliteDb::new(path).unwrap();
    let page = db.list_sessions(SessionQuery::default()).await.unwrap();
    assert_eq!(page.total_count, 3);
    for s in 0..3 {
        let ids: Vec<String> = db
            .get_runs(&format!("s{s}"))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.run_id)
            .collect();
        let expected: Vec<String> = (0..4).map(|r| format!("s{s}-r{r}")).collect();
        assert_eq!(ids, expected);
    }
}

#[tokio::test]
async fn a_fresh_handle_sees_every_run() {
    let _forks = FORKS.lock().await;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("agent.db");
    write_three_sessions(&path).await;
    check_three_sessions(&path).await;
}

#[tokio::test]
async fn a_fresh_process_sees_every_run() {
    let _forks = FORKS.lock().await;
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("agent.db");
    write_three_sessions(&path).await;

    // Run this test binary again, as a child process, on the child test only.
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "reopen_in_child_process",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD_PATH, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );
}

/// The child half of `a_fresh_process_sees_every_run` (ignored unless that
/// test runs it, with the database's path in the environment).
#[tokio::test]
#[ignore = "run as a child process by a_fresh_process_sees_every_run"]
async fn reopen_in_child_process() {
    let path = std::env::var_os(CHILD_PATH)
        .expect("run by its parent test, a_fresh_process_sees_every_run, only");
    check_three_sessions(std::path::Path::new(&path)).await;
}
