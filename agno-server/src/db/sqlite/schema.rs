//! The tables (Agno's layout) and the versioned migrations that build them.
//!
//! The schema version lives in `PRAGMA user_version`. [`MIGRATIONS`] is an
//! ordered list; opening a file runs every migration above the file's
//! version in ONE transaction that also bumps `user_version`, so a file of
//! any older version (including an Agno-written file, version 0) is brought
//! up to [`SCHEMA_VERSION`] whole or not at all.
//!
//! The layout is Agno 3.1.10's (`agno/db/sqlite/schemas.py`): the same
//! columns, types, nullability and keys, and Agno's `agno_schema_versions`
//! rows, so Agno's own `SqliteDb` opens a file we wrote as current. Our
//! indexes differ where that is faster (see [`MIGRATIONS`]); Agno reads and
//! writes the file all the same.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::db::DbError;

use crate::db::{AGNO_SCHEMA_VERSION, METRICS_TABLE, RUNS_TABLE, SESSIONS_TABLE};

/// The schema version this build writes on SQLite (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 8;

/// One step of the schema's history.
pub(crate) struct Migration {
    /// The `user_version` the file has once this step is applied.
    pub(crate) version: i64,
    /// What the step does (logged).
    pub(crate) description: &'static str,
    /// The step itself; runs inside a write transaction.
    pub(crate) apply: fn(&Transaction<'_>) -> Result<(), DbError>,
}

/// Every migration, oldest first. Never change what a published step does
/// to an existing file, nor reorder the steps: add a new one with the next
/// version and bump [`SCHEMA_VERSION`]. (Version 1's `CREATE TABLE IF NOT
/// EXISTS` has version 4's layout, so a new file gets Agno's column order
/// and version 4 does not rebuild its empty `agno_runs`; it runs only where
/// the table does not exist yet.)
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
    Migration {
        version: 4,
        description: "Agno 3.1.10's layout: team_data, workflow_data, nullable run_index, agno_schema_versions",
        apply: v4_agno_3_layout,
    },
    Migration {
        version: 5,
        description: "agno_jobs, the durable job queue (Agno 3.1.10's layout)",
        apply: v5_jobs,
    },
    Migration {
        version: 6,
        description: "agno_jobs: the hook a job runs, and the run it reads back (ours)",
        apply: v6_job_references,
    },
    Migration {
        version: 7,
        description: "agno_metrics, Agno's daily metrics (Agno 3.1.10's layout)",
        apply: v7_metrics,
    },
    Migration {
        version: 8,
        description: "agno_traces and agno_spans, Agno's stored traces (Agno 3.1.10's layout)",
        apply: v8_traces,
    },
];

/// `agno_traces` and `agno_spans` as Agno 3.1.10's `SqliteDb` creates
/// them (dumped from the file it writes).
const V8_TRACES_DDL: &str = "
CREATE TABLE IF NOT EXISTS agno_traces (
    trace_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    start_time VARCHAR NOT NULL,
    end_time VARCHAR NOT NULL,
    duration_ms BIGINT NOT NULL,
    run_id VARCHAR,
    session_id VARCHAR,
    user_id VARCHAR,
    agent_id VARCHAR,
    team_id VARCHAR,
    workflow_id VARCHAR,
    created_at VARCHAR NOT NULL,
    PRIMARY KEY (trace_id)
);
CREATE INDEX IF NOT EXISTS idx_agno_traces_start_time ON agno_traces (start_time);
CREATE INDEX IF NOT EXISTS idx_agno_traces_agent_id ON agno_traces (agent_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_workflow_id ON agno_traces (workflow_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_run_id ON agno_traces (run_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_session_id ON agno_traces (session_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_created_at ON agno_traces (created_at);
CREATE INDEX IF NOT EXISTS idx_agno_traces_user_id ON agno_traces (user_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_team_id ON agno_traces (team_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_status ON agno_traces (status);
CREATE TABLE IF NOT EXISTS agno_spans (
    span_id VARCHAR NOT NULL,
    trace_id VARCHAR NOT NULL,
    parent_span_id VARCHAR,
    name VARCHAR NOT NULL,
    span_kind VARCHAR NOT NULL,
    status_code VARCHAR NOT NULL,
    status_message VARCHAR,
    start_time VARCHAR NOT NULL,
    end_time VARCHAR NOT NULL,
    duration_ms BIGINT NOT NULL,
    attributes JSON,
    created_at VARCHAR NOT NULL,
    PRIMARY KEY (span_id),
    FOREIGN KEY(trace_id) REFERENCES agno_traces (trace_id)
);
CREATE INDEX IF NOT EXISTS idx_agno_spans_parent_span_id ON agno_spans (parent_span_id);
CREATE INDEX IF NOT EXISTS idx_agno_spans_created_at ON agno_spans (created_at);
CREATE INDEX IF NOT EXISTS idx_agno_spans_trace_id ON agno_spans (trace_id);
CREATE INDEX IF NOT EXISTS idx_agno_spans_start_time ON agno_spans (start_time);";

/// Version 8: Agno's stored traces.
fn v8_traces(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch(V8_TRACES_DDL)?;
    Ok(())
}

/// `agno_metrics` as Agno 3.1.10's `SqliteDb` creates it (dumped from
/// the file it writes): the same columns, constraint and indexes, so
/// either reads and writes the other's rows.
const V7_METRICS_DDL: &str = "
CREATE TABLE IF NOT EXISTS agno_metrics (
    id VARCHAR NOT NULL,
    agent_runs_count BIGINT NOT NULL,
    team_runs_count BIGINT NOT NULL,
    workflow_runs_count BIGINT NOT NULL,
    agent_sessions_count BIGINT NOT NULL,
    team_sessions_count BIGINT NOT NULL,
    workflow_sessions_count BIGINT NOT NULL,
    users_count BIGINT NOT NULL,
    token_metrics JSON NOT NULL,
    model_metrics JSON NOT NULL,
    date DATE NOT NULL,
    aggregation_period VARCHAR NOT NULL,
    user_id VARCHAR NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    completed BOOLEAN NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT agno_metrics_uq_metrics_user_date_period UNIQUE (user_id, date, aggregation_period)
);
CREATE INDEX IF NOT EXISTS idx_agno_metrics_user_id ON agno_metrics (user_id);
CREATE INDEX IF NOT EXISTS idx_agno_metrics_aggregation_period ON agno_metrics (aggregation_period);
CREATE INDEX IF NOT EXISTS idx_agno_metrics_date ON agno_metrics (date);";

/// Version 7: Agno's daily metrics table, stamped in
/// `agno_schema_versions` as Agno stamps it.
fn v7_metrics(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch(V7_METRICS_DDL)?;
    tx.execute(
        "INSERT OR IGNORE INTO agno_schema_versions (table_name, version, created_at, updated_at)
         VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%f', 'now'), strftime('%Y-%m-%dT%H:%M:%f', 'now'))",
        [METRICS_TABLE, AGNO_SCHEMA_VERSION],
    )?;
    Ok(())
}

/// `agno_jobs` as Agno 3.1.10 declares it (`JOBS_TABLE_SCHEMA`; Agno makes
/// it only on Postgres and Redis, we make it on SQLite too), with its
/// indexes: the claim's (`available_at` of queued jobs only, Agno's
/// `(status, available_at)` made partial: a job started at once after its
/// run, the usual case, is inserted `running` and deleted when done, and
/// never touches it) and the idempotency keys
/// (not Agno's `session_id`, `component_id` and `created_at` ones: nothing
/// here looks jobs up by those, and each index is one more write per job
/// inserted and deleted). `WITHOUT ROWID`: the rows live in the `id`
/// index itself, one B-tree to write per job instead of two.
const V5_JOBS_DDL: &str = "
CREATE TABLE IF NOT EXISTS agno_jobs (
    id VARCHAR NOT NULL PRIMARY KEY,
    component_type VARCHAR NOT NULL,
    job_type VARCHAR NOT NULL,
    deployment_id VARCHAR,
    component_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    user_id VARCHAR,
    payload JSON NOT NULL,
    status VARCHAR NOT NULL,
    attempt BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    idempotency_key VARCHAR,
    available_at BIGINT NOT NULL,
    locked_by VARCHAR,
    locked_at BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    completed_at BIGINT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_agno_jobs_queued ON agno_jobs (available_at) WHERE status = 'queued';
CREATE UNIQUE INDEX IF NOT EXISTS uq_jobs_idempotency_key ON agno_jobs (idempotency_key, user_id)
    WHERE idempotency_key IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_jobs_idempotency_key_anon ON agno_jobs (idempotency_key)
    WHERE idempotency_key IS NOT NULL AND user_id IS NULL;";

/// Version 5: the durable job queue's table.
fn v5_jobs(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch(V5_JOBS_DDL)?;
    Ok(())
}

/// Version 6: four columns of ours on `agno_jobs`, which Agno's code
/// leaves alone (it reads and writes the table by its own columns):
/// `hook_name`, the hook a job runs (a worker claims only the hooks its
/// binary has), `run_id`, the stored run a job reads back instead of
/// copying it, `run_data`, that run's copy once its session is deleted,
/// and `lease_until`, when a claimed job's lease runs out, in milliseconds
/// of the database's clock (Postgres; unused on SQLite, where one process
/// owns the file).
fn v6_job_references(tx: &Transaction<'_>) -> Result<(), DbError> {
    tx.execute_batch(
        "ALTER TABLE agno_jobs ADD COLUMN hook_name VARCHAR;
         ALTER TABLE agno_jobs ADD COLUMN run_id VARCHAR;
         ALTER TABLE agno_jobs ADD COLUMN run_data JSON;
         ALTER TABLE agno_jobs ADD COLUMN lease_until BIGINT;",
    )?;
    Ok(())
}

/// Column name and declared type (as SQLAlchemy declares Agno's columns on
/// SQLite) of `agno_sessions`, in Agno's order. A file made before version
/// 4 has `team_data` and `workflow_data` last (version 4 added them).
const SESSION_COLUMNS: &[(&str, &str)] = &[
    ("session_id", "VARCHAR"),
    ("session_type", "VARCHAR"),
    ("agent_id", "VARCHAR"),
    ("team_id", "VARCHAR"),
    ("workflow_id", "VARCHAR"),
    ("user_id", "VARCHAR"),
    ("session_data", "JSON"),
    ("agent_data", "JSON"),
    ("team_data", "JSON"),
    ("workflow_data", "JSON"),
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
    team_data JSON,
    workflow_data JSON,
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
    run_index BIGINT,
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

/// `agno_runs` as Agno 3.1.10 creates it (`run_index` nullable), under a
/// temporary name for the rebuild in [`v4_agno_3_layout`].
const V4_RUNS_DDL: &str = "
CREATE TABLE agno_runs_v4 (
    run_id VARCHAR NOT NULL PRIMARY KEY,
    session_id VARCHAR NOT NULL REFERENCES agno_sessions (session_id) ON DELETE CASCADE,
    run_type VARCHAR NOT NULL,
    agent_id VARCHAR,
    team_id VARCHAR,
    workflow_id VARCHAR,
    user_id VARCHAR,
    parent_run_id VARCHAR,
    status VARCHAR,
    run_index BIGINT,
    run_data JSON NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT
);";

/// `agno_schema_versions` as Agno 3.1.10 creates it.
const V4_VERSIONS_DDL: &str = "
CREATE TABLE IF NOT EXISTS agno_schema_versions (
    table_name VARCHAR NOT NULL PRIMARY KEY,
    version VARCHAR NOT NULL,
    created_at VARCHAR NOT NULL,
    updated_at VARCHAR
);
CREATE INDEX IF NOT EXISTS idx_agno_schema_versions_created_at ON agno_schema_versions (created_at);";

/// Version 4: what Agno 3.1.10 checks and reads, so its own `SqliteDb`
/// opens our files as current (it refused them: `Missing columns
/// {'workflow_data', 'team_data'}`, then `MigrationRequiredError`).
/// - `agno_sessions` gets `team_data` and `workflow_data` (null for us).
/// - `agno_runs.run_index` becomes nullable, as Agno declares it. SQLite
///   cannot drop a `NOT NULL`, so the table is rebuilt (rows copied as they
///   are) where the column has one; a file Agno made is left alone.
/// - `agno_schema_versions` gets a `"3.0.0"` row for each of our tables that
///   has none (a row Agno wrote is kept: Agno's `MigrationManager` decides
///   from it what it still has to do).
fn v4_agno_3_layout(tx: &Transaction<'_>) -> Result<(), DbError> {
    add_missing_columns(tx, SESSIONS_TABLE, SESSION_COLUMNS)?;
    let run_index_not_null: bool = tx.query_row(
        "SELECT \"notnull\" FROM pragma_table_info(?1) WHERE name = 'run_index'",
        [RUNS_TABLE],
        |row| row.get(0),
    )?;
    if run_index_not_null {
        let columns = RUN_COLUMNS
            .iter()
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(", ");
        tx.execute_batch(V4_RUNS_DDL)?;
        // Column names come from the constant list above, never from input.
        let copied = tx.execute(
            &format!("INSERT INTO agno_runs_v4 ({columns}) SELECT {columns} FROM agno_runs"),
            [],
        )?;
        tx.execute_batch(
            "DROP TABLE agno_runs;
             ALTER TABLE agno_runs_v4 RENAME TO agno_runs;
             CREATE INDEX idx_agno_runs_session_id_run_index ON agno_runs (session_id, run_index);",
        )?;
        tracing::info!(runs = copied, "agno_runs rebuilt with a nullable run_index");
    }
    tx.execute_batch(V4_VERSIONS_DDL)?;
    let mut stamp = tx.prepare(
        "INSERT OR IGNORE INTO agno_schema_versions (table_name, version, created_at, updated_at)
         VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%f', 'now'), strftime('%Y-%m-%dT%H:%M:%f', 'now'))",
    )?;
    for table in [SESSIONS_TABLE, RUNS_TABLE] {
        stamp.execute([table, AGNO_SCHEMA_VERSION])?;
    }
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
/// Every pending step runs in ONE `BEGIN IMMEDIATE` transaction that reads
/// the version inside it: a step that fails leaves the file as it was (no
/// half-migrated file), and two processes opening the same old file at once
/// migrate it exactly once.
pub(crate) fn migrate(conn: &mut Connection) -> Result<i64, DbError> {
    let check = |found: i64| {
        if found > SCHEMA_VERSION {
            Err(DbError::UnsupportedSchemaVersion {
                found,
                supported: SCHEMA_VERSION,
            })
        } else {
            Ok(found)
        }
    };
    // The common case, a current file, takes no write lock.
    let initial = check(user_version(conn)?)?;
    if initial == SCHEMA_VERSION {
        return Ok(initial);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let initial = check(user_version(&tx)?)?;
    for migration in MIGRATIONS.iter().filter(|m| m.version > initial) {
        tracing::info!(
            version = migration.version,
            description = migration.description,
            "migrating session store"
        );
        (migration.apply)(&tx)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
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
