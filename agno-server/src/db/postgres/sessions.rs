//! Sessions and runs on Postgres: the SQL of [`PostgresDb`](super::PostgresDb)'s
//! session and run operations (JSONB columns; Agno's advisory lock for
//! `run_index`).

use std::sync::LazyLock;

use deadpool_postgres::GenericClient;
use hooks_core::RunOutput;
use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::jsonb_text;
use crate::db::records::{SessionRecord, StoredSession};
use crate::db::run_row::RunRow;
use crate::db::session_list::{SessionPage, SessionQuery, escape_like};
use crate::db::{DbError, RUNS_TABLE};

/// `session_data` when it is an object, else `{}`.
const BASE: &str = "(CASE WHEN jsonb_typeof(agno_sessions.session_data) = 'object' \
     THEN agno_sessions.session_data ELSE '{}'::jsonb END)";

/// A JSON number at `path` in `value` as a bigint, 0 when absent or not a
/// number.
fn number(value: &str, path: &str) -> String {
    format!(
        "(CASE WHEN jsonb_typeof({value} #> '{path}') = 'number' \
          THEN ({value} #>> '{path}')::numeric::bigint ELSE 0 END)"
    )
}

const SESSION_COLUMNS: &str = "session_id, session_type, agent_id, team_id, workflow_id, user_id, \
     session_data::text, agent_data::text, metadata::text, summary::text, created_at, updated_at";

/// How an upsert treats a session that exists (as on SQLite: a run's
/// write changes only what a run changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionWrite {
    /// The record is the session: state and name replaced.
    Replace,
    /// A run's write: its state keys ($13) set on the stored state (one
    /// statement, under the row's lock: no read-modify-write race), name,
    /// metadata and summary kept; with `counting`, $14..$16 added to the
    /// token totals.
    Run { counting: bool },
}

fn upsert_sql(write: SessionWrite) -> String {
    let data = match write {
        SessionWrite::Replace => format!(
            "{BASE} || jsonb_build_object('session_state', excluded.session_data -> 'session_state',
                                          'session_name', excluded.session_data -> 'session_name')"
        ),
        SessionWrite::Run { counting } => {
            let state = format!(
                "(CASE WHEN jsonb_typeof({BASE} -> 'session_state') = 'object' \
                  THEN {BASE} -> 'session_state' ELSE '{{}}'::jsonb END)"
            );
            let metrics = if counting {
                let old = format!(
                    "(CASE WHEN jsonb_typeof({BASE} -> 'session_metrics') = 'object' \
                      THEN {BASE} -> 'session_metrics' ELSE '{{}}'::jsonb END)"
                );
                format!(
                    " || jsonb_build_object('session_metrics', {old} || jsonb_build_object(
                         'input_tokens', {} + $14,
                         'output_tokens', {} + $15,
                         'total_tokens', {} + $16))",
                    number(BASE, "{session_metrics,input_tokens}"),
                    number(BASE, "{session_metrics,output_tokens}"),
                    number(BASE, "{session_metrics,total_tokens}"),
                )
            } else {
                String::new()
            };
            format!(
                "{BASE} || jsonb_build_object('session_state',
                     {state} || coalesce($13::text::jsonb, '{{}}'::jsonb)){metrics}"
            )
        }
    };
    let kept = match write {
        SessionWrite::Replace => "metadata = excluded.metadata, summary = excluded.summary",
        SessionWrite::Run { .. } => {
            "metadata = coalesce(agno_sessions.metadata, excluded.metadata),
             summary = coalesce(agno_sessions.summary, excluded.summary)"
        }
    };
    format!(
        "INSERT INTO agno_sessions (session_id, session_type, agent_id, team_id, workflow_id,
             user_id, session_data, agent_data, metadata, summary, created_at, updated_at)
         VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text::jsonb,
                 $8::text::jsonb, $9::text::jsonb, $10::text::jsonb, $11::bigint, $12::bigint)
         ON CONFLICT (session_id) DO UPDATE SET
             session_type = excluded.session_type,
             agent_id = excluded.agent_id,
             team_id = excluded.team_id,
             workflow_id = excluded.workflow_id,
             user_id = excluded.user_id,
             session_data = {data},
             agent_data = excluded.agent_data,
             {kept},
             updated_at = excluded.updated_at
         WHERE agno_sessions.user_id IS NULL
            OR agno_sessions.user_id IS NOT DISTINCT FROM excluded.user_id"
    )
}

static UPSERT: LazyLock<String> = LazyLock::new(|| upsert_sql(SessionWrite::Replace));

fn json_text<T: serde::Serialize>(value: Option<&T>) -> Result<Option<String>, DbError> {
    value
        .map(|v| serde_json::to_string(v).map(jsonb_text))
        .transpose()
        .map_err(DbError::from)
}

/// The parameters of a session upsert: $1..$12, then for a run's write
/// $13 (the state keys the run changed) and $14..$16 (its tokens).
struct SessionColumns<'a> {
    s: &'a SessionRecord,
    session_type: &'static str,
    ids: [Option<&'a str>; 3],
    data: String,
    agent_data: Option<String>,
    metadata: Option<String>,
    summary: Option<String>,
    changes: Option<String>,
    tokens: Option<[i64; 3]>,
}

impl<'a> SessionColumns<'a> {
    fn new(s: &'a SessionRecord, tokens: Option<[i64; 3]>) -> Result<Self, DbError> {
        let data = crate::db::records::SessionData::of(s, tokens);
        let column = s.session_type.component_column();
        let id = s.agent_id.as_deref();
        Ok(Self {
            s,
            session_type: s.session_type.as_str(),
            ids: ["agent_id", "team_id", "workflow_id"].map(|c| id.filter(|_| c == column)),
            data: jsonb_text(serde_json::to_string(&data)?),
            agent_data: json_text(s.agent_data.as_ref())?,
            metadata: json_text(s.metadata.as_ref())?,
            summary: json_text(s.summary.as_ref())?,
            changes: (!s.session_state.is_empty())
                .then(|| serde_json::to_string(&s.session_state).map(jsonb_text))
                .transpose()?,
            tokens,
        })
    }

    /// $1..$12, and with tokens (a run's write) $13..$16.
    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let s = self.s;
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &s.session_id,
            &self.session_type,
            &self.ids[0],
            &self.ids[1],
            &self.ids[2],
            &s.user_id,
            &self.data,
            &self.agent_data,
            &self.metadata,
            &self.summary,
            &s.created_at,
            &s.updated_at,
        ];
        if let Some(tokens) = &self.tokens {
            params.push(&self.changes);
            params.extend(tokens.iter().map(|t| t as &(dyn ToSql + Sync)));
        }
        params
    }
}

/// Inserts or replaces the session row (state and name included).
pub(crate) async fn upsert_session(
    client: &impl GenericClient,
    s: &SessionRecord,
) -> Result<(), DbError> {
    let columns = SessionColumns::new(s, None)?;
    let written = client
        .execute(&client.prepare_cached(&UPSERT).await?, &columns.params())
        .await?;
    owned(written, s)
}

/// A session upsert that changed no row met a session another user owns
/// (the upsert's `WHERE` left it as it was).
fn owned(written: u64, s: &SessionRecord) -> Result<(), DbError> {
    if written == 0 {
        return Err(DbError::NotOwner {
            session_id: s.session_id.clone(),
        });
    }
    Ok(())
}

/// The run's write in one statement: the session upsert (a run's write,
/// counting its tokens: $1..$16) and the run's row ($17..$23), whose
/// `run_index` is the session's next (under the advisory lock the caller
/// took in an earlier statement, so this statement's snapshot sees every
/// run committed before).
static RUN_WRITE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH session AS ({upsert} RETURNING 1)
         INSERT INTO agno_runs (
             run_id, session_id, run_type, agent_id, team_id, workflow_id, user_id,
             parent_run_id, status, run_index, run_data, created_at, updated_at)
         SELECT $17::text, $1::text, $2::text, $18::text, $4::text, $5::text, $19::text, NULL,
                $20::text,
                (SELECT coalesce(max(run_index) + 1, 0) FROM agno_runs WHERE session_id = $1::text),
                $21::text::jsonb, $22::bigint, $23::bigint
          WHERE EXISTS (SELECT 1 FROM session)
         ON CONFLICT (run_id) DO UPDATE SET
             run_index = CASE WHEN agno_runs.session_id = excluded.session_id
                              THEN coalesce(agno_runs.run_index, excluded.run_index)
                              ELSE excluded.run_index END,
             session_id = excluded.session_id,
             run_type = excluded.run_type,
             agent_id = excluded.agent_id,
             team_id = excluded.team_id,
             workflow_id = excluded.workflow_id,
             user_id = excluded.user_id,
             status = excluded.status,
             run_data = excluded.run_data,
             created_at = excluded.created_at,
             updated_at = excluded.updated_at",
        upsert = upsert_sql(SessionWrite::Run { counting: true })
    )
});

/// Upserts the session (a run's write) and inserts or replaces the run,
/// in the caller's transaction: two statements. `run_index` is appended
/// under Agno's per-session advisory lock
/// (`pg_advisory_xact_lock(hashtext('agno_run_index'), hashtext(session_id))`,
/// the key Agno's own writers take), so runs of one session written by
/// several instances, or by Agno, get 0, 1, 2, ... without gaps or
/// duplicates.
pub(crate) async fn save_run(
    client: &impl GenericClient,
    session: &SessionRecord,
    run: &RunRow,
    now: i64,
) -> Result<(), DbError> {
    // The lock, and the run as stored before (a re-saved run: its tokens
    // are taken off the totals).
    static LOCK_AND_BEFORE: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT b.session_id, {}, {}, {}
               FROM (SELECT pg_advisory_xact_lock(hashtext('agno_run_index'), hashtext($1::text))) AS l
               LEFT JOIN agno_runs AS b ON b.run_id = $2::text",
            number("b.run_data", "{metrics,input_tokens}"),
            number("b.run_data", "{metrics,output_tokens}"),
            number("b.run_data", "{metrics,total_tokens}"),
        )
    });
    let row = client
        .query_one(
            &client.prepare_cached(&LOCK_AND_BEFORE).await?,
            &[&session.session_id, &run.run_id],
        )
        .await?;
    let before = row
        .get::<_, Option<String>>(0)
        .map(|was| (was, [row.get::<_, i64>(1), row.get(2), row.get(3)]));
    let (delta, moved_from) = match before {
        None => (run.tokens, None),
        Some((was, old)) if was == session.session_id => {
            ([0, 1, 2].map(|i| run.tokens[i] - old[i]), None)
        }
        // Moved from another session: both are recounted below.
        Some((was, _)) => ([0; 3], Some(was)),
    };
    let columns = SessionColumns::new(session, Some(delta))?;
    let run_data = jsonb_text(run.run_data.clone());
    let mut params = columns.params();
    params.extend([
        &run.run_id as &(dyn ToSql + Sync),
        &run.agent_id,
        &run.user_id,
        &run.status,
        &run_data,
        &run.created_at,
        &now,
    ]);
    // No run row when the session is another user's (nothing came out of
    // the upsert): the caller's transaction is rolled back with the error.
    let written = client
        .execute(&client.prepare_cached(&RUN_WRITE).await?, &params)
        .await?;
    owned(written, session)?;
    // The state as merged under the row's lock: past its ceiling, the
    // caller's transaction is rolled back with the error.
    // Measured as the pre-check and SQLite measure it (compact JSON, not
    // jsonb's text, which adds spaces).
    if session.max_state_bytes.is_some() && !session.session_state.is_empty() {
        let statement = client
            .prepare_cached(
                "SELECT (session_data -> 'session_state')::text FROM agno_sessions
                  WHERE session_id = $1",
            )
            .await?;
        let text: Option<String> = client
            .query_one(&statement, &[&session.session_id])
            .await?
            .get(0);
        let state: Value = match text {
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                DbError::corrupt(
                    crate::db::SESSIONS_TABLE,
                    session.session_id.clone(),
                    "session_data",
                    e,
                )
            })?,
            None => Value::Null,
        };
        session.check_state_size(crate::db::json_len(&state))?;
    }
    if let Some(was) = moved_from {
        refresh_metrics(client, &was).await?;
        refresh_metrics(client, &session.session_id).await?;
    }
    Ok(())
}

/// Sets a session's token totals to the sums over its runs.
async fn refresh_metrics(client: &impl GenericClient, session_id: &str) -> Result<(), DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE agno_sessions SET session_data = {BASE} || jsonb_build_object('session_metrics',
                 (SELECT jsonb_build_object(
                     'input_tokens', coalesce(sum({}), 0),
                     'output_tokens', coalesce(sum({}), 0),
                     'total_tokens', coalesce(sum({}), 0))
                  FROM agno_runs WHERE session_id = $1))
             WHERE session_id = $1",
            number("run_data", "{metrics,input_tokens}"),
            number("run_data", "{metrics,output_tokens}"),
            number("run_data", "{metrics,total_tokens}"),
        )
    });
    client
        .execute(&client.prepare_cached(&SQL).await?, &[&session_id])
        .await?;
    Ok(())
}

/// A session row as read (JSON columns as text), decoded.
fn decode_session(row: &Row) -> Result<SessionRecord, DbError> {
    let session_id: String = row.get(0);
    let json = |index: usize, column: &'static str| -> Result<Option<Value>, DbError> {
        row.get::<_, Option<String>>(index)
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| DbError::corrupt(crate::db::SESSIONS_TABLE, session_id.clone(), column, e))
    };
    StoredSession {
        session_data: json(6, "session_data")?,
        agent_data: json(7, "agent_data")?,
        metadata: json(8, "metadata")?,
        summary: json(9, "summary")?,
        created_at: row.get(10),
        updated_at: row.get(11),
        session_type: row.get(1),
        agent_id: row.get(2),
        team_id: row.get(3),
        workflow_id: row.get(4),
        user_id: row.get(5),
        session_id: session_id.clone(),
    }
    .decode()
}

/// One session, or `None`.
pub(crate) async fn get_session(
    client: &impl GenericClient,
    session_id: &str,
) -> Result<Option<SessionRecord>, DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("SELECT {SESSION_COLUMNS} FROM agno_sessions WHERE session_id = $1")
    });
    let row = client
        .query_opt(&client.prepare_cached(&SQL).await?, &[&session_id])
        .await?;
    row.as_ref().map(decode_session).transpose()
}

/// A filtered, sorted page of sessions and the total count (one
/// repeatable-read transaction: one snapshot).
pub(crate) async fn list_sessions(
    client: &mut deadpool_postgres::Client,
    query: &SessionQuery,
) -> Result<SessionPage, DbError> {
    let (limit, page) = query.paging()?;
    let name = "lower(session_data ->> 'session_name')";
    let sort_expr = match query.sort_key()? {
        "created_at" => "created_at",
        "session_name" => name,
        _ => "updated_at",
    };
    let dir = query.sort_order.unwrap_or_default().sql();
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let arg = |value: String, args: &mut Vec<String>| {
        args.push(value);
        format!("${}", args.len())
    };
    if let Some(session_type) = query.session_type {
        let p = arg(session_type.as_str().into(), &mut args);
        clauses.push(format!("session_type = {p}"));
    }
    if let Some(component) = &query.component_id {
        let p = arg(component.clone(), &mut args);
        match query.session_type {
            Some(session_type) => {
                clauses.push(format!("{} = {p}", session_type.component_column()))
            }
            None => clauses.push(format!(
                "(agent_id = {p} OR team_id = {p} OR workflow_id = {p})"
            )),
        }
    }
    if let Some(user_id) = &query.user_id {
        let p = arg(user_id.clone(), &mut args);
        clauses.push(format!("user_id = {p}"));
    }
    if let Some(session_name) = &query.session_name {
        let p = arg(format!("%{}%", escape_like(session_name)), &mut args);
        clauses.push(format!("{name} LIKE lower({p})"));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let total: i64 = tx
        .query_one(
            &format!("SELECT count(*) FROM agno_sessions {filter}"),
            &params,
        )
        .await?
        .get(0);
    let total = u64::try_from(total).unwrap_or(0);
    let offset = (i64::from(page) - 1) * i64::from(limit);
    let limit_arg = i64::from(limit);
    let mut page_params = params.clone();
    page_params.push(&limit_arg);
    page_params.push(&offset);
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM agno_sessions {filter}
         ORDER BY {sort_expr} {dir}, session_id {dir}
         LIMIT ${} OFFSET ${}",
        args.len() + 1,
        args.len() + 2
    );
    let rows = tx.query(&sql, &page_params).await?;
    tx.commit().await?;
    let mut sessions = Vec::with_capacity(rows.len());
    let mut unreadable = Vec::new();
    for row in &rows {
        match decode_session(row) {
            Ok(session) => sessions.push(session),
            Err(error) => {
                let id: String = row.get(0);
                tracing::warn!(session_id = ?id, %error, "session left out of a list: it cannot be read");
                unreadable.push(id);
            }
        }
    }
    Ok(SessionPage::new(sessions, unreadable, total, page, limit))
}

/// Deletes sessions (their runs go with them); returns how many existed.
pub(crate) async fn delete_sessions(
    client: &impl GenericClient,
    session_ids: &[String],
) -> Result<u64, DbError> {
    let statement = client
        .prepare_cached("DELETE FROM agno_sessions WHERE session_id = ANY($1)")
        .await?;
    Ok(client.execute(&statement, &[&session_ids]).await?)
}

/// Locks the rows of the sessions `session_ids` that exist and, with
/// `user_id`, are that user's, in the caller's transaction; returns their
/// ids (what a delete scoped to that user deletes).
pub(crate) async fn lock_owned_sessions(
    client: &impl GenericClient,
    session_ids: &[String],
    user_id: Option<&str>,
) -> Result<Vec<String>, DbError> {
    let statement = client
        .prepare_cached(
            "SELECT session_id FROM agno_sessions
              WHERE session_id = ANY($1) AND ($2::text IS NULL OR user_id = $2)
              ORDER BY session_id FOR UPDATE",
        )
        .await?;
    let rows = client.query(&statement, &[&session_ids, &user_id]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Sets the session's name; the renamed session, or `None`.
pub(crate) async fn rename_session(
    client: &impl GenericClient,
    session_id: &str,
    name: &str,
    user_id: Option<&str>,
) -> Result<Option<SessionRecord>, DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE agno_sessions SET session_data = {BASE} || jsonb_build_object('session_name', $2::text)
             WHERE session_id = $1 AND ($3::text IS NULL OR user_id = $3)
             RETURNING {SESSION_COLUMNS}"
        )
    });
    let row = client
        .query_opt(
            &client.prepare_cached(&SQL).await?,
            &[&session_id, &name, &user_id],
        )
        .await?;
    row.as_ref().map(decode_session).transpose()
}

/// At most `limit` runs of a session from the `offset`-th, by `run_index`.
pub(crate) async fn get_runs_page(
    client: &impl GenericClient,
    session_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<RunOutput>, DbError> {
    let statement = client
        .prepare_cached(
            "SELECT run_id, run_data::text FROM agno_runs WHERE session_id = $1
             ORDER BY run_index ASC NULLS LAST, created_at ASC LIMIT $2 OFFSET $3",
        )
        .await?;
    let rows = client
        .query(&statement, &[&session_id, &limit, &offset])
        .await?;
    rows.iter().map(decode_run).collect()
}

/// The last `limit` runs of a session, oldest first.
pub(crate) async fn recent_runs(
    client: &impl GenericClient,
    session_id: &str,
    limit: i64,
) -> Result<Vec<RunOutput>, DbError> {
    let statement = client
        .prepare_cached(
            "SELECT run_id, run_data::text FROM agno_runs WHERE session_id = $1
             ORDER BY run_index DESC NULLS FIRST, created_at DESC LIMIT $2",
        )
        .await?;
    let rows = client.query(&statement, &[&session_id, &limit]).await?;
    rows.iter().rev().map(decode_run).collect()
}

/// One run by id, or `None`.
pub(crate) async fn get_run(
    client: &impl GenericClient,
    run_id: &str,
) -> Result<Option<RunOutput>, DbError> {
    let statement = client
        .prepare_cached("SELECT run_id, run_data::text FROM agno_runs WHERE run_id = $1")
        .await?;
    let row = client.query_opt(&statement, &[&run_id]).await?;
    row.as_ref().map(decode_run).transpose()
}

fn decode_run(row: &Row) -> Result<RunOutput, DbError> {
    let run_id: String = row.get(0);
    let data: String = row.get(1);
    serde_json::from_str(&data).map_err(|e| DbError::corrupt(RUNS_TABLE, run_id, "run_data", e))
}
