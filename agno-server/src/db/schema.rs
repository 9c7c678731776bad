//! The tables (Agno's layout) and the versioned migrations that build them.
//!
//! The schema version lives in `PRAGMA user_version`. [`MIGRATIONS`] is an
//! ordered list; opening a file runs every migration above the file's
//! version, each in its own transaction that also bumps `user_version`, so a
//! file of any older version (including an Agno-written file, version 0) is
//! brought up to [`SCHEMA_VERSION`].

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::DbError;

/// The sessions table (Agno's `agno_sessions`).
pub const SESSIONS_TABLE: &str = "agno_sessions";
/// The runs table (Agno's `agno_runs`).
pub const RUNS_TABLE: &str = "agno_runs";
/// The schema version this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 3;

/// One step of the schema's history.
pub(crate) struct Migration {
    /// The `user_version` the file has once this step is applied.
    pub(crate) version: i64,
    /// What the step does (logged).
    pub(crate) description: &'static str,
    /// The step itself; runs inside a write transaction.
    pub(crate) apply: fn(&Transaction<'_>) -> Result<(), DbError>,
}

/// Every migration, oldest first. Never edit or reorder a published step:
/// add a new one with the next version and bump [`SCHEMA_VERSION`].
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "create agno_sessions and agno_runs",
        apply: v1_tables,
    },
    Migration {
        version: 2,
        description: "indexes for the session list filters",
        apply: v2_list_indexes,
    },
    Migration {
        version: 3,
        description: "session indexes written only where they help",
        apply: v3_leaner_session_indexes,
    },
];

/// Column name and declared type (as SQLAlchemy declares Agno's columns on
/// SQLite) of `agno_sessions`, in table order.
const SESSION_COLUMNS: &[(&str, &str)] = &[
    ("session_id", "VARCHAR"),
    ("session_type", "VARCHAR"),
    ("agent_id", "VARCHAR"),
    ("team_id", "VARCHAR"),
    ("workflow_id", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("session_data", "JSON"),
    ("agent_data", "JSON"),
    ("metadata", "JSON"),
    ("summary", "JSON"),
    ("created_at", "BIGINT"),
    ("updated_at", "BIGINT"),
];

/// Column name and declared type of `agno_runs`, in table order.
const RUN_COLUMNS: &[(&str, &str)] = &[
    ("run_id", "VARCHAR"),
    ("session_id", "VARCHAR"),
    ("run_type", "VARCHAR"),
    ("agent_id", "VARCHAR"),
    ("team_id", "VARCHAR"),
    ("workflow_id", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("parent_run_id", "VARCHAR"),
    ("status", "VARCHAR"),
    ("run_index", "BIGINT"),
    ("run_data", "JSON"),
    ("created_at", "BIGINT"),
    ("updated_at", "BIGINT"),
];

const V1_DDL: &str = "
CREATE TABLE IF NOT EXISTS agno_sessions (
    session_id VARCHAR NOT NULL PRIMARY KEY,
    session_type VARCHAR NOT NULL,
    agent_id VARCHAR,
    team_id VARCHAR,
    workflow_id VARCHAR,
    user_id VARCHAR,
    session_data JSON,
    agent_data JSON,
    metadata JSON,
    summary JSON,
    created_at BIGINT NOT NULL,
    updated_at BIGINT
);
CREATE INDEX IF NOT EXISTS idx_agno_sessions_session_type ON agno_sessions (session_type);
CREATE INDEX IF NOT EXISTS idx_agno_sessions_created_at ON agno_sessions (created_at);

CREATE TABLE IF NOT EXISTS agno_runs (
    run_id VARCHAR NOT NULL PRIMARY KEY,
    session_id VARCHAR NOT NULL REFERENCES agno_sessions (session_id) ON DELETE CASCADE,
    run_type VARCHAR NOT NULL,
    agent_id VARCHAR,
    team_id VARCHAR,
    workflow_id VARCHAR,
    user_id VARCHAR,
    parent_run_id VARCHAR,
    status VARCHAR,
    run_index BIGINT NOT NULL,
    run_data JSON NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT
);
CREATE INDEX IF NOT EXISTS idx_agno_runs_session_id_run_index ON agno_runs (session_id, run_index);
";

/// Version 1: the two tables and their base indexes. A file Agno wrote
/// already has (some of) them: missing columns are added, and runs kept in
/// the legacy `agno_sessions.runs` JSON column (Agno 2.x) are copied into
/// `agno_runs`.
fn v1_tables(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch(V1_DDL)?;
    add_missing_columns(tx, SESSIONS_TABLE, SESSION_COLUMNS)?;
    add_missing_columns(tx, RUNS_TABLE, RUN_COLUMNS)?;
    if table_columns(tx, SESSIONS_TABLE)?
        .iter()
        .any(|c| c == "runs")
    {
        let copied = tx.execute(
            "INSERT OR IGNORE INTO agno_runs (
                 run_id, session_id, run_type, agent_id, team_id, workflow_id, user_id,
                 parent_run_id, status, run_index, run_data, created_at, updated_at)
             SELECT json_extract(r.value, '$.run_id'), s.session_id, s.session_type,
                    json_extract(r.value, '$.agent_id'), json_extract(r.value, '$.team_id'),
                    json_extract(r.value, '$.workflow_id'),
                    coalesce(json_extract(r.value, '$.user_id'), s.user_id),
                    json_extract(r.value, '$.parent_run_id'), json_extract(r.value, '$.status'),
                    r.key, json(r.value),
                    coalesce(json_extract(r.value, '$.created_at'), s.created_at, 0),
                    coalesce(s.updated_at, s.created_at)
             FROM agno_sessions AS s,
                  json_each(CASE WHEN json_valid(s.runs) THEN
                                CASE WHEN json_type(s.runs) = 'array' THEN s.runs END
                            END) AS r
             WHERE json_type(r.value) = 'object'
               AND json_type(r.value, '$.run_id') = 'text'",
            [],
        )?;
        if copied > 0 {
            tracing::info!(
                runs = copied,
                "copied runs from agno_sessions.runs into agno_runs"
            );
        }
    }
    Ok(())
}

/// Version 2: indexes for the filters and sort keys of the session list.
fn v2_list_indexes(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch(
        "CREATE INDEX IF NOT EXISTS idx_agno_sessions_user_id ON agno_sessions (user_id);
         CREATE INDEX IF NOT EXISTS idx_agno_sessions_agent_id ON agno_sessions (agent_id);
         CREATE INDEX IF NOT EXISTS idx_agno_sessions_updated_at ON agno_sessions (updated_at);",
    )?;
    Ok(())
}

/// Version 3: every index is one more B-tree page written by each commit
/// that adds a session, and the seed's traffic adds one per run (measured:
/// dropping these two took 8 to 16 % more runs/s, see BENCHMARKS.md).
/// - `session_type` has three values: it never narrows a list enough to be
///   worth its writes, and a planner that picks it over the sort key's
///   index (`updated_at`, `created_at`) reads every session of the type.
/// - `user_id` is indexed only where it is set: runs without a user (most
///   of an anonymous API's) no longer write to it, and a filter
///   `user_id = ?` still uses it (it implies `user_id IS NOT NULL`).
fn v3_leaner_session_indexes(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch(
        "DROP INDEX IF EXISTS idx_agno_sessions_session_type;
         DROP INDEX IF EXISTS idx_agno_sessions_user_id;
         CREATE INDEX idx_agno_sessions_user_id ON agno_sessions (user_id)
             WHERE user_id IS NOT NULL;",
    )?;
    Ok(())
}

/// The names of `table`'s columns, in order.
fn table_columns(conn: &Connection, table: &str) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt
        .query_map([table], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names)
}

/// Adds (nullable) every column of `expected` that `table` lacks.
fn add_missing_columns(
    conn: &Connection,
    table: &str,
    expected: &[(&str, &str)],
) -> Result<(), DbError> {
    let present = table_columns(conn, table)?;
    for (name, ty) in expected {
        if !present.iter().any(|p| p == name) {
            tracing::info!(table, column = name, "adding missing column");
            // Names come from the constant lists above, never from input.
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {name} {ty}"))?;
        }
    }
    Ok(())
}

/// The file's schema version (`PRAGMA user_version`).
pub(crate) fn user_version(conn: &Connection) -> Result<i64, DbError> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Brings the file up to [`SCHEMA_VERSION`]; returns the version it was at.
///
/// Each step runs in its own `BEGIN IMMEDIATE` transaction and re-reads the
/// version inside it, so two processes opening the same old file at once
/// migrate it exactly once.
pub(crate) fn migrate(conn: &mut Connection) -> Result<i64, DbError> {
    let initial = user_version(conn)?;
    if initial > SCHEMA_VERSION {
        return Err(DbError::UnsupportedSchemaVersion {
            found: initial,
            supported: SCHEMA_VERSION,
        });
    }
    for migration in MIGRATIONS {
        if migration.version <= initial {
            continue;
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current = user_version(&tx)?;
        if current >= migration.version {
            continue;
        }
        tracing::info!(
            version = migration.version,
            description = migration.description,
            "migrating session store"
        );
        (migration.apply)(&tx)?;
        tx.pragma_update(None, "user_version", migration.version)?;
        tx.commit()?;
    }
    Ok(initial)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_ordered_and_end_at_schema_version() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        let expected: Vec<i64> = (1..=SCHEMA_VERSION).collect();
        assert_eq!(versions, expected);
    }

    #[test]
    fn migrate_creates_tables_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), 0);
        assert_eq!(user_version(&conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(migrate(&mut conn).unwrap(), SCHEMA_VERSION);
        let cols = table_columns(&conn, SESSIONS_TABLE).unwrap();
        let expected: Vec<&str> = SESSION_COLUMNS.iter().map(|(n, _)| *n).collect();
        assert_eq!(cols, expected);
        let cols = table_columns(&conn, RUNS_TABLE).unwrap();
        let expected: Vec<&str> = RUN_COLUMNS.iter().map(|(n, _)| *n).collect();
        assert_eq!(cols, expected);
    }

    #[test]
    fn newer_file_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(DbError::UnsupportedSchemaVersion { .. })
        ));
    }
}
