//! The file layout of the session store: Agno's tables and columns, the
//! connection settings, schema versions and migrations of older files.

use agno_server::db::prelude::*;
use agno_server::db::{
    AGNO_SCHEMA_VERSION, DbError, RUNS_TABLE, SCHEMA_VERSION, SESSIONS_TABLE, SessionRecord,
    SessionType, SqliteDb, VERSIONS_TABLE,
};
use agno_server::{RunOutput, RunStatus};
use rusqlite::Connection;
use tempfile::TempDir;

fn columns(conn: &Connection, table: &str) -> Vec<(String, String, bool, bool)> {
    let mut stmt = conn
        .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")
        .unwrap();
    stmt.query_map([table], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)? != 0,
            r.get::<_, i64>(3)? != 0,
        ))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Agno 3.1.10's columns (`agno/db/sqlite/schemas.py`, as SQLAlchemy
/// creates them on SQLite): name, declared type, `NOT NULL`, primary key.
type AgnoColumn = (&'static str, &'static str, bool, bool);

const AGNO_SESSION_COLUMNS: &[AgnoColumn] = &[
    ("session_id", "VARCHAR", true, true),
    ("session_type", "VARCHAR", true, false),
    ("agent_id", "VARCHAR", false, false),
    ("team_id", "VARCHAR", false, false),
    ("workflow_id", "VARCHAR", false, false),
    ("user_id", "VARCHAR", false, false),
    ("session_data", "JSON", false, false),
    ("agent_data", "JSON", false, false),
    ("team_data", "JSON", false, false),
    ("workflow_data", "JSON", false, false),
    ("metadata", "JSON", false, false),
    ("summary", "JSON", false, false),
    ("created_at", "BIGINT", true, false),
    ("updated_at", "BIGINT", false, false),
];

const AGNO_RUN_COLUMNS: &[AgnoColumn] = &[
    ("run_id", "VARCHAR", true, true),
    ("session_id", "VARCHAR", true, false),
    ("run_type", "VARCHAR", true, false),
    ("agent_id", "VARCHAR", false, false),
    ("team_id", "VARCHAR", false, false),
    ("workflow_id", "VARCHAR", false, false),
    ("user_id", "VARCHAR", false, false),
    ("parent_run_id", "VARCHAR", false, false),
    ("status", "VARCHAR", false, false),
    ("run_index", "BIGINT", false, false),
    ("run_data", "JSON", true, false),
    ("created_at", "BIGINT", true, false),
    ("updated_at", "BIGINT", false, false),
];

const AGNO_METRICS_COLUMNS: &[AgnoColumn] = &[
    ("id", "VARCHAR", true, true),
    ("agent_runs_count", "BIGINT", true, false),
    ("team_runs_count", "BIGINT", true, false),
    ("workflow_runs_count", "BIGINT", true, false),
    ("agent_sessions_count", "BIGINT", true, false),
    ("team_sessions_count", "BIGINT", true, false),
    ("workflow_sessions_count", "BIGINT", true, false),
    ("users_count", "BIGINT", true, false),
    ("token_metrics", "JSON", true, false),
    ("model_metrics", "JSON", true, false),
    ("date", "DATE", true, false),
    ("aggregation_period", "VARCHAR", true, false),
    ("user_id", "VARCHAR", true, false),
    ("created_at", "BIGINT", true, false),
    ("updated_at", "BIGINT", false, false),
    ("completed", "BOOLEAN", true, false),
];

const AGNO_VERSION_COLUMNS: &[AgnoColumn] = &[
    ("table_name", "VARCHAR", true, true),
    ("version", "VARCHAR", true, false),
    ("created_at", "VARCHAR", true, false),
    ("updated_at", "VARCHAR", false, false),
];

fn agno_columns(expected: &[AgnoColumn]) -> Vec<(String, String, bool, bool)> {
    expected
        .iter()
        .map(|&(n, t, not_null, pk)| (n.to_string(), t.to_string(), not_null, pk))
        .collect()
}

/// `agno_columns` in any order (a migrated file has added columns last).
fn sorted(mut cols: Vec<(String, String, bool, bool)>) -> Vec<(String, String, bool, bool)> {
    cols.sort();
    cols
}

/// The rows of `agno_schema_versions`: table and version, by table.
fn versions(conn: &Connection) -> Vec<(String, String)> {
    conn.prepare("SELECT table_name, version FROM agno_schema_versions ORDER BY table_name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn index_columns(conn: &Connection, index: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
        .unwrap();
    stmt.query_map([index], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The `CREATE INDEX` statement of `index`.
fn index_sql(conn: &Connection, index: &str) -> String {
    conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
        [index],
        |r| r.get(0),
    )
    .unwrap()
}

/// How SQLite plans `sql` (the `detail` column of `EXPLAIN QUERY PLAN`).
fn query_plan(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    stmt.query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
        .join("; ")
}

fn user_version(conn: &Connection) -> i64 {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn creates_the_folder_and_agnos_tables_and_columns() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("tmp/nested/agent.db");
    let db = SqliteDb::new(&path).unwrap();
    assert!(path.exists());
    assert_eq!(db.path(), path);

    let conn = Connection::open(&path).unwrap();
    let sessions = columns(&conn, SESSIONS_TABLE);
    let names: Vec<&str> = sessions.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "session_id",
            "session_type",
            "agent_id",
            "team_id",
            "workflow_id",
            "user_id",
            "session_data",
            "agent_data",
            "team_data",
            "workflow_data",
            "metadata",
            "summary",
            "created_at",
            "updated_at"
        ]
    );
    assert_eq!(sessions, agno_columns(AGNO_SESSION_COLUMNS));
    assert_eq!(columns(&conn, RUNS_TABLE), agno_columns(AGNO_RUN_COLUMNS));
    assert_eq!(
        columns(&conn, VERSIONS_TABLE),
        agno_columns(AGNO_VERSION_COLUMNS)
    );
    assert_eq!(
        columns(&conn, "agno_metrics"),
        agno_columns(AGNO_METRICS_COLUMNS)
    );
    assert_eq!(
        versions(&conn),
        [
            ("agno_metrics".to_string(), AGNO_SCHEMA_VERSION.to_string()),
            (RUNS_TABLE.to_string(), AGNO_SCHEMA_VERSION.to_string()),
            (SESSIONS_TABLE.to_string(), AGNO_SCHEMA_VERSION.to_string())
        ]
    );

    let (parent, from, to, on_delete): (String, String, String, String) = conn
        .query_row(
            "SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list('agno_runs')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (
            parent.as_str(),
            from.as_str(),
            to.as_str(),
            on_delete.as_str()
        ),
        ("agno_sessions", "session_id", "session_id", "CASCADE")
    );

    assert_eq!(
        index_columns(&conn, "idx_agno_runs_session_id_run_index"),
        ["session_id", "run_index"]
    );
    for (index, column) in [
        ("idx_agno_sessions_created_at", "created_at"),
        ("idx_agno_sessions_updated_at", "updated_at"),
        ("idx_agno_sessions_user_id", "user_id"),
        ("idx_agno_sessions_agent_id", "agent_id"),
    ] {
        assert_eq!(index_columns(&conn, index), [column], "{index}");
    }
    // Version 3: no index on the three-valued session_type, and user_id
    // indexed only where set.
    assert!(index_columns(&conn, "idx_agno_sessions_session_type").is_empty());
    assert!(index_sql(&conn, "idx_agno_sessions_user_id").contains("WHERE user_id IS NOT NULL"));

    assert_eq!(user_version(&conn), SCHEMA_VERSION);
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn the_session_list_filters_and_sorts_use_their_indexes() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("agent.db");
    let db = SqliteDb::new(&path).unwrap();
    for i in 0..50 {
        let mut s = SessionRecord::new(format!("s{i}"), SessionType::Agent);
        s.agent_id = Some(format!("agent-{}", i % 5));
        s.user_id = (i % 2 == 0).then(|| format!("user-{}", i % 7));
        db.upsert_session(s).await.unwrap();
    }
    let conn = Connection::open(&path).unwrap();
    let by_user = query_plan(
        &conn,
        "SELECT count(*) FROM agno_sessions WHERE user_id = 'user-1'",
    );
    assert!(by_user.contains("idx_agno_sessions_user_id"), "{by_user}");
    let by_agent = query_plan(
        &conn,
        "SELECT session_id FROM agno_sessions WHERE agent_id = 'agent-1' ORDER BY updated_at DESC LIMIT 20",
    );
    assert!(by_agent.contains("idx_agno_sessions_"), "{by_agent}");
    let by_type = query_plan(
        &conn,
        "SELECT session_id FROM agno_sessions WHERE session_type = 'agent' ORDER BY updated_at DESC LIMIT 20",
    );
    assert!(
        by_type.contains("idx_agno_sessions_updated_at"),
        "{by_type}"
    );
    assert!(
        !by_type.contains("TEMP B-TREE"),
        "sorted without a sort step: {by_type}"
    );
}

#[tokio::test]
async fn opening_twice_keeps_the_data_and_the_version() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("agent.db");
    {
        let db = SqliteDb::new(&path).unwrap();
        db.upsert_session(SessionRecord::new("s1", SessionType::Agent))
            .await
            .unwrap();
    }
    let db = SqliteDb::new(&path).unwrap();
    assert!(db.get_session("s1").await.unwrap().is_some());
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), SCHEMA_VERSION);
}

/// The layout of schema version 1, written by hand as an older build wrote
/// it (no list indexes yet).
const V1_LAYOUT: &str = "
CREATE TABLE agno_sessions (
    session_id VARCHAR NOT NULL PRIMARY KEY, session_type VARCHAR NOT NULL,
    agent_id VARCHAR, team_id VARCHAR, workflow_id VARCHAR, user_id VARCHAR,
    session_data JSON, agent_data JSON, metadata JSON, summary JSON,
    created_at BIGINT NOT NULL, updated_at BIGINT);
CREATE INDEX idx_agno_sessions_session_type ON agno_sessions (session_type);
CREATE INDEX idx_agno_sessions_created_at ON agno_sessions (created_at);
CREATE TABLE agno_runs (
    run_id VARCHAR NOT NULL PRIMARY KEY,
    session_id VARCHAR NOT NULL REFERENCES agno_sessions (session_id) ON DELETE CASCADE,
    run_type VARCHAR NOT NULL, agent_id VARCHAR, team_id VARCHAR, workflow_id VARCHAR,
    user_id VARCHAR, parent_run_id VARCHAR, status VARCHAR, run_index BIGINT NOT NULL,
    run_data JSON NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT);
CREATE INDEX idx_agno_runs_session_id_run_index ON agno_runs (session_id, run_index);
INSERT INTO agno_sessions VALUES ('old', 'agent', 'agent-1', NULL, NULL, 'u1',
    '{\"session_state\":{\"n\":1},\"session_name\":\"Old one\"}', NULL, NULL, NULL, 10, 20);
INSERT INTO agno_runs VALUES ('r-old', 'old', 'agent', 'agent-1', NULL, NULL, 'u1', NULL,
    'COMPLETED', 0, '{\"run_id\":\"r-old\",\"session_id\":\"old\",\"status\":\"COMPLETED\",\"created_at\":10}', 10, 10);
PRAGMA user_version = 1;
";

#[tokio::test]
async fn migrates_a_file_at_version_1() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("agent.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(V1_LAYOUT).unwrap();
        assert_eq!(user_version(&conn), 1);
    }
    let db = SqliteDb::new(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), SCHEMA_VERSION);
    assert_eq!(
        index_columns(&conn, "idx_agno_sessions_user_id"),
        ["user_id"]
    );
    assert_eq!(
        sorted(columns(&conn, SESSIONS_TABLE)),
        sorted(agno_columns(AGNO_SESSION_COLUMNS))
    );
    assert_eq!(columns(&conn, RUNS_TABLE), agno_columns(AGNO_RUN_COLUMNS));
    assert_eq!(versions(&conn).len(), 3);

    let session = db.get_session("old").await.unwrap().unwrap();
    assert_eq!(session.session_name.as_deref(), Some("Old one"));
    assert_eq!(session.session_state["n"], 1);
    assert_eq!((session.created_at, session.updated_at), (10, 20));
    let runs = db.get_runs("old").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run_id, "r-old");

    // New runs continue the old file's numbering.
    let new_run = RunOutput {
        run_id: "r-new".into(),
        status: RunStatus::Completed,
        created_at: 30,
        ..Default::default()
    };
    db.save_run(session, &new_run).await.unwrap();
    let index: i64 = conn
        .query_row(
            "SELECT run_index FROM agno_runs WHERE run_id = 'r-new'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 1);
}

/// An Agno 2.x file: version 0, runs kept in `agno_sessions.runs`, extra
/// columns we do not use, no `agno_runs` table.
const AGNO_2_LAYOUT: &str = r#"
CREATE TABLE agno_sessions (
    session_id VARCHAR NOT NULL PRIMARY KEY, session_type VARCHAR NOT NULL,
    agent_id VARCHAR, team_id VARCHAR, workflow_id VARCHAR, user_id VARCHAR,
    session_data JSON, agent_data JSON, team_data JSON, workflow_data JSON,
    metadata JSON, runs JSON, summary JSON, created_at BIGINT NOT NULL, updated_at BIGINT);
INSERT INTO agno_sessions VALUES ('legacy', 'agent', 'agent-1', NULL, NULL, 'u1',
    '{"session_state":{},"session_name":null,"session_metrics":{"input_tokens":5}}',
    '{"name":"Legacy agent","agent_id":"agent-1"}', NULL, NULL, NULL,
    '[{"run_id":"a","agent_id":"agent-1","session_id":"legacy","content":"one","status":"COMPLETED","created_at":100,"events":[]},
      {"run_id":"b","agent_id":"agent-1","session_id":"legacy","content":"two","status":"ERROR","created_at":200}]',
    NULL, 100, 200);
INSERT INTO agno_sessions VALUES ('broken', 'agent', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    'not json', NULL, 5, 5);
"#;

#[tokio::test]
async fn migrates_an_agno_2_file_with_runs_inside_sessions() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("agent.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(AGNO_2_LAYOUT).unwrap();
    }
    let db = SqliteDb::new(&path).unwrap();

    let runs = db.get_runs("legacy").await.unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(runs[1].status, RunStatus::Error);
    assert_eq!(runs[0].content.as_deref(), Some("one"));
    assert!(db.get_runs("broken").await.unwrap().is_empty());

    let conn = Connection::open(&path).unwrap();
    let rows: Vec<(String, i64, String)> = conn
        .prepare("SELECT run_id, run_index, status FROM agno_runs ORDER BY run_index")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            ("a".to_string(), 0, "COMPLETED".to_string()),
            ("b".to_string(), 1, "ERROR".to_string())
        ]
    );
    // The columns Agno 2.x had stay in place.
    let names: Vec<String> = columns(&conn, SESSIONS_TABLE)
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert!(names.iter().any(|n| n == "runs"));
    assert!(names.iter().any(|n| n == "team_data"));

    let session = db.get_session("legacy").await.unwrap().unwrap();
    assert_eq!(session.agent_data.unwrap()["name"], "Legacy agent");
    // Writing keeps keys of session_data the store does not manage.
    db.rename_session("legacy", "Renamed", None).await.unwrap();
    let data: String = conn
        .query_row(
            "SELECT session_data FROM agno_sessions WHERE session_id = 'legacy'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["session_name"], "Renamed");
    assert_eq!(data["session_metrics"]["input_tokens"], 5);
}

#[tokio::test]
async fn refuses_a_file_from_a_newer_version() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("agent.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    match SqliteDb::new(&path) {
        Err(DbError::UnsupportedSchemaVersion { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected UnsupportedSchemaVersion, got {other:?}"),
    }
}

#[tokio::test]
async fn a_path_that_cannot_be_created_is_an_io_error() {
    let dir = TempDir::new().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let err = SqliteDb::new(blocker.join("agent.db")).unwrap_err();
    assert!(matches!(err, DbError::Io(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_closes_the_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("agent.db");
    let db = SqliteDb::new(&path).unwrap();
    let clone = db.clone();
    clone
        .save_run(
            SessionRecord::new("s", SessionType::Agent),
            &RunOutput {
                run_id: "r".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(db.get_runs("s").await.unwrap().len(), 1);
    drop(clone);
    // Still open: another handle remains.
    assert!(db.get_session("s").await.unwrap().is_some());
    drop(db);

    // Leaving WAL mode needs the only connection to the file: it succeeds
    // only if the store closed every connection (writer thread included).
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    let runs: i64 = conn
        .query_row("SELECT count(*) FROM agno_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 1);
}

/// Every row of a table, each column as SQLite holds it, in key order.
fn dump(conn: &Connection, sql: &str) -> Vec<Vec<rusqlite::types::Value>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let width = stmt.column_count();
    stmt.query_map([], |r| {
        (0..width)
            .map(|i| r.get::<_, rusqlite::types::Value>(i))
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

const SESSION_ROWS: &str =
    "SELECT session_id, session_type, agent_id, team_id, workflow_id, user_id,
    session_data, agent_data, metadata, summary, created_at, updated_at
    FROM agno_sessions ORDER BY session_id";
const RUN_ROWS: &str = "SELECT run_id, session_id, run_type, agent_id, team_id, workflow_id,
    user_id, parent_run_id, status, run_index, run_data, created_at, updated_at
    FROM agno_runs ORDER BY run_id";

/// A copy of `tests/fixtures/schema_v3.db`: a file the seed example wrote
/// at schema version 3 (the code before this layout), three sessions
/// (`fixture-a`: user `ada`, session state, three runs, one streamed;
/// `fixture-b`: two runs, renamed "Named B"; one anonymous with one run).
fn v3_fixture(dir: &TempDir) -> std::path::PathBuf {
    let path = dir.path().join("agent.db");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schema_v3.db"),
        &path,
    )
    .unwrap();
    path
}

#[tokio::test]
async fn migrates_a_version_3_file_with_every_session_and_run() {
    let dir = TempDir::new().unwrap();
    let path = v3_fixture(&dir);
    let (sessions_before, runs_before) = {
        let conn = Connection::open(&path).unwrap();
        assert_eq!(user_version(&conn), 3);
        (dump(&conn, SESSION_ROWS), dump(&conn, RUN_ROWS))
    };
    assert_eq!((sessions_before.len(), runs_before.len()), (3, 6));

    let db = SqliteDb::new(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), SCHEMA_VERSION);
    // Every row, every value, as it was.
    assert_eq!(dump(&conn, SESSION_ROWS), sessions_before);
    assert_eq!(dump(&conn, RUN_ROWS), runs_before);
    // Agno's layout: the two added columns, a nullable run_index, the
    // versions table with a row for each of our tables.
    assert_eq!(
        sorted(columns(&conn, SESSIONS_TABLE)),
        sorted(agno_columns(AGNO_SESSION_COLUMNS))
    );
    assert_eq!(columns(&conn, RUNS_TABLE), agno_columns(AGNO_RUN_COLUMNS));
    assert_eq!(
        index_columns(&conn, "idx_agno_runs_session_id_run_index"),
        ["session_id", "run_index"]
    );
    assert_eq!(versions(&conn).len(), 3);
    let (parent, on_delete): (String, String) = conn
        .query_row(
            "SELECT \"table\", on_delete FROM pragma_foreign_key_list('agno_runs')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (parent.as_str(), on_delete.as_str()),
        ("agno_sessions", "CASCADE")
    );

    // Read back through the store.
    let a = db.get_session("fixture-a").await.unwrap().unwrap();
    assert_eq!(a.user_id.as_deref(), Some("ada"));
    assert_eq!(a.session_state["counter"], 1);
    let runs = db.get_runs("fixture-a").await.unwrap();
    let contents: Vec<_> = runs.iter().map(|r| r.content.as_deref()).collect();
    assert_eq!(
        contents,
        [
            Some("Echo: first question"),
            Some("Echo: second question"),
            Some("Echo: third question")
        ]
    );
    assert!(runs.iter().all(|r| r.status == RunStatus::Completed));
    let b = db.get_session("fixture-b").await.unwrap().unwrap();
    assert_eq!(b.session_name.as_deref(), Some("Named B"));
    assert_eq!(db.get_runs("fixture-b").await.unwrap().len(), 2);
    for run in &runs {
        let again = db.get_run(&run.run_id).await.unwrap().unwrap();
        assert_eq!(again.content, run.content);
    }

    // A new run continues the session's numbering.
    let next = RunOutput {
        run_id: "r-after-migration".into(),
        status: RunStatus::Completed,
        ..Default::default()
    };
    db.save_run(a, &next).await.unwrap();
    let index: i64 = conn
        .query_row(
            "SELECT run_index FROM agno_runs WHERE run_id = 'r-after-migration'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 3);
}

#[tokio::test]
async fn a_migration_that_fails_leaves_the_file_as_it_was() {
    let dir = TempDir::new().unwrap();
    let path = v3_fixture(&dir);
    let (sessions_before, runs_before) = {
        let conn = Connection::open(&path).unwrap();
        // The name version 4 rebuilds agno_runs under is taken: its
        // CREATE TABLE fails after the sessions table got its columns.
        conn.execute_batch("CREATE TABLE agno_runs_v4 (x)").unwrap();
        (dump(&conn, SESSION_ROWS), dump(&conn, RUN_ROWS))
    };
    let err = SqliteDb::new(&path).unwrap_err();
    assert!(matches!(err, DbError::Sqlite(_)), "{err:?}");

    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), 3);
    let names: Vec<String> = columns(&conn, SESSIONS_TABLE)
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert!(!names.iter().any(|n| n == "team_data"), "{names:?}");
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'agno_schema_versions'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 0);
    assert_eq!(dump(&conn, SESSION_ROWS), sessions_before);
    assert_eq!(dump(&conn, RUN_ROWS), runs_before);
}
