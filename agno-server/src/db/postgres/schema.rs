//! The Postgres tables (Agno 3.1.10's `PostgresDb` layout) and the
//! versioned migrations that build them.
//!
//! Our version lives in `agno_server_migrations` (one row per applied
//! step) beside Agno's tables in the store's schema. Migrating takes a
//! transaction-scoped advisory lock, so instances starting together
//! migrate once; each step runs in that one transaction with its row.

use deadpool_postgres::Client;

use crate::db::DbError;

/// The schema version this build writes on Postgres.
pub const PG_SCHEMA_VERSION: i64 = 4;

/// One step of the Postgres schema's history: its version, what it does,
/// and its SQL (several statements). Never change a published step: add
/// one.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "Agno 3.1.10's tables: agno_sessions, agno_runs, agno_jobs, agno_schema_versions",
        V1_AGNO_TABLES,
    ),
    (
        2,
        "agno_jobs: the hook a job runs, and the run it reads back (ours)",
        V2_JOB_REFERENCES,
    ),
    (
        3,
        "agno_metrics, Agno's daily metrics (Agno 3.1.10's layout)",
        V3_METRICS,
    ),
    (
        4,
        "agno_traces and agno_spans, Agno's stored traces (Agno 3.1.10's layout)",
        V4_TRACES,
    ),
];

/// Version 4: `agno_traces` and `agno_spans` exactly as Agno 3.1.10's
/// `PostgresDb` creates them (`pg_dump -s`).
const V4_TRACES: &str = "
CREATE TABLE IF NOT EXISTS agno_traces (
    trace_id character varying NOT NULL,
    name character varying NOT NULL,
    status character varying NOT NULL,
    start_time character varying NOT NULL,
    end_time character varying NOT NULL,
    duration_ms bigint NOT NULL,
    run_id character varying,
    session_id character varying,
    user_id character varying,
    agent_id character varying,
    team_id character varying,
    workflow_id character varying,
    created_at character varying NOT NULL,
    CONSTRAINT agno_traces_pkey PRIMARY KEY (trace_id)
);
CREATE TABLE IF NOT EXISTS agno_spans (
    span_id character varying NOT NULL,
    trace_id character varying NOT NULL,
    parent_span_id character varying,
    name character varying NOT NULL,
    span_kind character varying NOT NULL,
    status_code character varying NOT NULL,
    status_message text,
    start_time character varying NOT NULL,
    end_time character varying NOT NULL,
    duration_ms bigint NOT NULL,
    attributes jsonb,
    created_at character varying NOT NULL,
    CONSTRAINT agno_spans_pkey PRIMARY KEY (span_id),
    CONSTRAINT agno_spans_trace_id_fkey FOREIGN KEY (trace_id) REFERENCES agno_traces(trace_id)
);
CREATE INDEX IF NOT EXISTS idx_agno_spans_created_at ON agno_spans USING btree (created_at);
CREATE INDEX IF NOT EXISTS idx_agno_spans_parent_span_id ON agno_spans USING btree (parent_span_id);
CREATE INDEX IF NOT EXISTS idx_agno_spans_start_time ON agno_spans USING btree (start_time);
CREATE INDEX IF NOT EXISTS idx_agno_spans_trace_id ON agno_spans USING btree (trace_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_agent_id ON agno_traces USING btree (agent_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_created_at ON agno_traces USING btree (created_at);
CREATE INDEX IF NOT EXISTS idx_agno_traces_run_id ON agno_traces USING btree (run_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_session_id ON agno_traces USING btree (session_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_start_time ON agno_traces USING btree (start_time);
CREATE INDEX IF NOT EXISTS idx_agno_traces_status ON agno_traces USING btree (status);
CREATE INDEX IF NOT EXISTS idx_agno_traces_team_id ON agno_traces USING btree (team_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_user_id ON agno_traces USING btree (user_id);
CREATE INDEX IF NOT EXISTS idx_agno_traces_workflow_id ON agno_traces USING btree (workflow_id);
";

/// Version 3: `agno_metrics` exactly as Agno 3.1.10's `PostgresDb`
/// creates it (`pg_dump -s`), stamped in `agno_schema_versions`.
const V3_METRICS: &str = "
CREATE TABLE IF NOT EXISTS agno_metrics (
    id character varying NOT NULL,
    agent_runs_count bigint NOT NULL,
    team_runs_count bigint NOT NULL,
    workflow_runs_count bigint NOT NULL,
    agent_sessions_count bigint NOT NULL,
    team_sessions_count bigint NOT NULL,
    workflow_sessions_count bigint NOT NULL,
    users_count bigint NOT NULL,
    token_metrics jsonb NOT NULL,
    model_metrics jsonb NOT NULL,
    date date NOT NULL,
    aggregation_period character varying NOT NULL,
    user_id character varying NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint,
    completed boolean NOT NULL,
    CONSTRAINT agno_metrics_pkey PRIMARY KEY (id),
    CONSTRAINT agno_metrics_uq_metrics_user_date_period UNIQUE (user_id, date, aggregation_period)
);
CREATE INDEX IF NOT EXISTS idx_agno_metrics_date ON agno_metrics USING btree (date);
CREATE INDEX IF NOT EXISTS idx_agno_metrics_user_id ON agno_metrics USING btree (user_id);
INSERT INTO agno_schema_versions (table_name, version, created_at, updated_at)
SELECT 'agno_metrics', '3.0.0', now_text, now_text
  FROM to_char(now() AT TIME ZONE 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS now_text
ON CONFLICT (table_name) DO NOTHING;
";

/// Version 2: the columns of ours on `agno_jobs`, as on SQLite (its
/// version 6): `hook_name`, `run_id`, `run_data`, `lease_until` (indexed
/// for the lease scans); and `agno_run_cancels`, the cancels published in
/// the last hour (an instance that missed one reads it there).
const V2_JOB_REFERENCES: &str = "
ALTER TABLE agno_jobs ADD COLUMN IF NOT EXISTS hook_name character varying;
ALTER TABLE agno_jobs ADD COLUMN IF NOT EXISTS run_id character varying;
ALTER TABLE agno_jobs ADD COLUMN IF NOT EXISTS run_data jsonb;
ALTER TABLE agno_jobs ADD COLUMN IF NOT EXISTS lease_until bigint;
CREATE INDEX IF NOT EXISTS idx_agno_jobs_lease_until ON agno_jobs USING btree (lease_until)
    WHERE status = 'running';
-- A queue table: every job is inserted, updated and deleted within
-- seconds. Vacuumed after 1 000 + 1 % dead rows (not Postgres's 20 %), so
-- its heap and indexes are reused instead of growing under load.
ALTER TABLE agno_jobs SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 1
);
CREATE TABLE IF NOT EXISTS agno_run_cancels (
    run_id character varying NOT NULL PRIMARY KEY,
    at_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_agno_run_cancels_at_ms ON agno_run_cancels USING btree (at_ms);
";

/// The tables and indexes exactly as Agno 3.1.10's `PostgresDb` creates
/// them (`pg_dump -s` of a schema Agno made), all `IF NOT EXISTS`, so a
/// schema Agno made first is adopted as it is; plus two partial indexes
/// of our own for the job queue's claim (queued jobs by `available_at`)
/// and lease scans (running jobs by `locked_at`).
const V1_AGNO_TABLES: &str = "
CREATE TABLE IF NOT EXISTS agno_sessions (
    session_id character varying NOT NULL PRIMARY KEY,
    session_type character varying NOT NULL,
    agent_id character varying,
    team_id character varying,
    workflow_id character varying,
    user_id character varying,
    session_data jsonb,
    agent_data jsonb,
    team_data jsonb,
    workflow_data jsonb,
    metadata jsonb,
    summary jsonb,
    created_at bigint NOT NULL,
    updated_at bigint
);
CREATE INDEX IF NOT EXISTS idx_agno_sessions_created_at ON agno_sessions USING btree (created_at);
CREATE INDEX IF NOT EXISTS idx_agno_sessions_session_type ON agno_sessions USING btree (session_type);

CREATE TABLE IF NOT EXISTS agno_runs (
    run_id character varying NOT NULL PRIMARY KEY,
    session_id character varying NOT NULL REFERENCES agno_sessions (session_id) ON DELETE CASCADE,
    run_type character varying NOT NULL,
    agent_id character varying,
    team_id character varying,
    workflow_id character varying,
    user_id character varying,
    parent_run_id character varying,
    status character varying,
    run_index bigint,
    run_data jsonb NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint
);
CREATE INDEX IF NOT EXISTS idx_agno_runs_agent_id ON agno_runs USING btree (agent_id);
CREATE INDEX IF NOT EXISTS idx_agno_runs_created_at ON agno_runs USING btree (created_at);
CREATE INDEX IF NOT EXISTS idx_agno_runs_run_type ON agno_runs USING btree (run_type);
CREATE INDEX IF NOT EXISTS idx_agno_runs_session_id ON agno_runs USING btree (session_id);
CREATE INDEX IF NOT EXISTS idx_agno_runs_session_id_run_index ON agno_runs USING btree (session_id, run_index);
CREATE INDEX IF NOT EXISTS idx_agno_runs_status ON agno_runs USING btree (status);
CREATE INDEX IF NOT EXISTS idx_agno_runs_team_id ON agno_runs USING btree (team_id);
CREATE INDEX IF NOT EXISTS idx_agno_runs_user_id ON agno_runs USING btree (user_id);
CREATE INDEX IF NOT EXISTS idx_agno_runs_workflow_id ON agno_runs USING btree (workflow_id);

CREATE TABLE IF NOT EXISTS agno_jobs (
    id character varying NOT NULL PRIMARY KEY,
    component_type character varying NOT NULL,
    job_type character varying NOT NULL,
    deployment_id character varying,
    component_id character varying NOT NULL,
    session_id character varying NOT NULL,
    user_id character varying,
    payload jsonb NOT NULL,
    status character varying NOT NULL,
    attempt bigint NOT NULL,
    max_attempts bigint NOT NULL,
    idempotency_key character varying,
    available_at bigint NOT NULL,
    locked_by character varying,
    locked_at bigint,
    error text,
    created_at bigint NOT NULL,
    updated_at bigint,
    completed_at bigint
);
CREATE UNIQUE INDEX IF NOT EXISTS agno_jobs_uq_jobs_idempotency_key ON agno_jobs USING btree (idempotency_key, user_id)
    WHERE (idempotency_key IS NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS agno_jobs_uq_jobs_idempotency_key_anon ON agno_jobs USING btree (idempotency_key)
    WHERE ((idempotency_key IS NOT NULL) AND (user_id IS NULL));
CREATE INDEX IF NOT EXISTS idx_agno_jobs_component_id ON agno_jobs USING btree (component_id);
CREATE INDEX IF NOT EXISTS idx_agno_jobs_created_at ON agno_jobs USING btree (created_at);
CREATE INDEX IF NOT EXISTS idx_agno_jobs_session_id ON agno_jobs USING btree (session_id);
CREATE INDEX IF NOT EXISTS idx_agno_jobs_status ON agno_jobs USING btree (status);
CREATE INDEX IF NOT EXISTS idx_agno_jobs_status_available_at ON agno_jobs USING btree (status, available_at);
CREATE INDEX IF NOT EXISTS idx_agno_jobs_queued ON agno_jobs USING btree (available_at, created_at)
    WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS idx_agno_jobs_leases ON agno_jobs USING btree (locked_at)
    WHERE status = 'running';

CREATE TABLE IF NOT EXISTS agno_schema_versions (
    table_name character varying NOT NULL PRIMARY KEY,
    version character varying NOT NULL,
    created_at character varying NOT NULL,
    updated_at character varying
);
CREATE INDEX IF NOT EXISTS idx_agno_schema_versions_created_at ON agno_schema_versions USING btree (created_at);
INSERT INTO agno_schema_versions (table_name, version, created_at, updated_at)
SELECT t, '3.0.0', now_text, now_text
  FROM unnest(ARRAY['agno_sessions', 'agno_runs', 'agno_jobs']) AS t,
       to_char(now() AT TIME ZONE 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS now_text
ON CONFLICT (table_name) DO NOTHING;
";

/// Creates the schema if needed and applies every migration above its
/// version, each in the one transaction that holds the migration lock.
/// Returns the version found.
pub(crate) async fn migrate(client: &mut Client, schema: &str) -> Result<i64, DbError> {
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('agno_server_migrate'), hashtext($1))",
        &[&schema],
    )
    .await?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
         CREATE TABLE IF NOT EXISTS agno_server_migrations (
             version bigint NOT NULL PRIMARY KEY,
             description character varying NOT NULL,
             applied_at bigint NOT NULL
         );"
    ))
    .await?;
    let found: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM agno_server_migrations",
            &[],
        )
        .await?
        .get(0);
    if found > PG_SCHEMA_VERSION {
        return Err(DbError::UnsupportedSchemaVersion {
            found,
            supported: PG_SCHEMA_VERSION,
        });
    }
    for &(version, description, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO agno_server_migrations (version, description, applied_at)
             VALUES ($1, $2, extract(epoch FROM now())::bigint)",
            &[&version, &description],
        )
        .await?;
        tracing::info!(schema, version, description, "postgres schema migrated");
    }
    tx.commit().await?;
    Ok(found)
}
