//! The SQL of the session store's operations on SQLite, run on a
//! borrowed connection.
//!
//! These functions are blocking; [`SqliteDb`](super::SqliteDb) runs writes on
//! its writer thread and reads on the blocking pool.

use std::sync::LazyLock;

use hooks_core::RunOutput;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde_json::{Map, Value};

use super::rows::{RawSession, decode_run, read_run_row};
use crate::db::DbError;
use crate::db::SESSIONS_TABLE;
use crate::db::records::{SessionRecord, SessionType};
use crate::db::run_row::RunRow;
use crate::db::session_list::{SessionPage, SessionQuery, escape_like};

/// `session_data` when it is a JSON object, else `'{}'` (never raises on a
/// damaged value; `CASE` evaluates lazily).
const SESSION_DATA_BASE: &str = "CASE WHEN json_valid(agno_sessions.session_data) THEN \
     CASE WHEN json_type(agno_sessions.session_data) = 'object' \
     THEN agno_sessions.session_data ELSE '{}' END ELSE '{}' END";

/// `session_data.session_name`, or NULL when `session_data` is damaged.
const SESSION_NAME_EXPR: &str = "(CASE WHEN json_valid(session_data) THEN \
     json_extract(session_data, '$.session_name') END)";

const SESSION_COLUMNS: &str = "session_id, session_type, agent_id, team_id, workflow_id, user_id, \
     session_data, agent_data, metadata, summary, created_at, updated_at";

/// The component id of `record`, split over the `agent_id`, `team_id` and
/// `workflow_id` columns: in the one its session type names
/// ([`SessionType::component_column`]), the others empty.
fn component_columns(
    session_type: SessionType,
    id: Option<&str>,
) -> (Option<&str>, Option<&str>, Option<&str>) {
    let column = session_type.component_column();
    let [agent, team, workflow] =
        ["agent_id", "team_id", "workflow_id"].map(|c| id.filter(|_| c == column));
    (agent, team, workflow)
}

fn json_text<T: serde::Serialize>(value: Option<&T>) -> Result<Option<String>, DbError> {
    value
        .map(serde_json::to_string)
        .transpose()
        .map_err(DbError::from)
}

/// How a session upsert treats a row that exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionWrite {
    /// [`SessionStore::upsert_session`](super::SessionStore::upsert_session): the record is the
    /// session, state and name included.
    Replace,
    /// A run's write: it changes only what a run changes, so concurrent
    /// writers (a rename, other runs of the session) are not undone. The
    /// state is the stored state with the run's keys set (?13, merged by
    /// [`merged_state`]; NULL: unchanged); the stored name, metadata and
    /// summary are kept. With `counting`, ?15, ?16, ?17 are added to
    /// `session_data.session_metrics`.
    Run { counting: bool },
}

/// The session upsert's SQL (the insert's `session_data`, ?7, carries the
/// state, name and token totals of a new row).
fn upsert_session_sql(write: SessionWrite) -> String {
    let metrics = if write == (SessionWrite::Run { counting: true }) {
        format!(
            ",
                 '$.session_metrics', json_object(
                 'input_tokens', coalesce(json_extract({SESSION_DATA_BASE}, '$.session_metrics.input_tokens'), 0) + ?15,
                 'output_tokens', coalesce(json_extract({SESSION_DATA_BASE}, '$.session_metrics.output_tokens'), 0) + ?16,
                 'total_tokens', coalesce(json_extract({SESSION_DATA_BASE}, '$.session_metrics.total_tokens'), 0) + ?17)"
        )
    } else {
        String::new()
    };
    let (data, kept) = match write {
        SessionWrite::Replace => (
            format!(
                "json_set({SESSION_DATA_BASE}, '$.session_state', json(?13), '$.session_name', ?14)"
            ),
            "metadata = excluded.metadata,
             summary = excluded.summary",
        ),
        SessionWrite::Run { .. } => (
            format!(
                "json_set({SESSION_DATA_BASE}, '$.session_state',
                     CASE WHEN ?13 IS NULL
                          THEN json(coalesce(json_extract({SESSION_DATA_BASE}, '$.session_state'), '{{}}'))
                          ELSE json(?13) END{metrics})"
            ),
            "metadata = coalesce(agno_sessions.metadata, excluded.metadata),
             summary = coalesce(agno_sessions.summary, excluded.summary)",
        ),
    };
    format!(
        "INSERT INTO agno_sessions ({SESSION_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
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
         WHERE agno_sessions.user_id IS NULL OR agno_sessions.user_id IS excluded.user_id"
    )
}

/// Made once: `prepare_cached` looks statements up by their text.
static UPSERT_SESSION: LazyLock<String> =
    LazyLock::new(|| upsert_session_sql(SessionWrite::Replace));
static RUN_UPSERT_SESSION: LazyLock<String> =
    LazyLock::new(|| upsert_session_sql(SessionWrite::Run { counting: false }));
static RUN_UPSERT_SESSION_COUNTING: LazyLock<String> =
    LazyLock::new(|| upsert_session_sql(SessionWrite::Run { counting: true }));

/// Inserts or replaces the session row. Keeps the stored `created_at` and
/// the keys of `session_data` other than `session_state` and `session_name`.
pub(crate) fn upsert_session(conn: &Connection, s: &SessionRecord) -> Result<(), DbError> {
    write_session(conn, s, SessionWrite::Replace, None, None)
}

/// The stored state of `session`'s row with the keys of its
/// `session_state` set (Agno's `dict.update`), as JSON; `None` when the
/// run changed no key (the stored state stays as it is). Runs in the
/// writer's transaction, so no other write comes between the read and the
/// write. Refused past the record's `max_state_bytes`; a stored state that
/// cannot be read is an error (the write would otherwise lose it).
fn merged_state(conn: &Connection, session: &SessionRecord) -> Result<Option<String>, DbError> {
    let (session_id, changes) = (session.session_id.as_str(), &session.session_state);
    if changes.is_empty() {
        return Ok(None);
    }
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT json_extract({SESSION_DATA_BASE}, '$.session_state')
             FROM agno_sessions WHERE session_id = ?1"
        )
    });
    let stored: Option<Option<String>> = conn
        .prepare_cached(&SQL)?
        .query_row([session_id], |row| row.get(0))
        .optional()?;
    let mut state = match stored.flatten() {
        None => Map::new(),
        Some(text) => serde_json::from_str::<Map<String, Value>>(&text)
            .map_err(|e| DbError::corrupt(SESSIONS_TABLE, session_id, "session_data", e))?,
    };
    state.extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
    let merged = serde_json::to_string(&state)?;
    // `merged` is serde's compact JSON: its length is `json_len`'s.
    session.check_state_size(merged.len())?;
    Ok(Some(merged))
}

/// The session upsert. `state` is ?13 of a run's write (see
/// [`SessionWrite`]); `tokens` the run's token counts to add.
fn write_session(
    conn: &Connection,
    s: &SessionRecord,
    write: SessionWrite,
    state: Option<String>,
    tokens: Option<[i64; 3]>,
) -> Result<(), DbError> {
    let state = match write {
        SessionWrite::Replace => Some(serde_json::to_string(&s.session_state)?),
        SessionWrite::Run { .. } => state,
    };
    let data = serde_json::to_string(&crate::db::records::SessionData::of(s, tokens))?;
    let (agent_id, team_id, workflow_id) = component_columns(s.session_type, s.agent_id.as_deref());
    let agent_data = json_text(s.agent_data.as_ref())?;
    let metadata = json_text(s.metadata.as_ref())?;
    let summary = json_text(s.summary.as_ref())?;
    let session_type = s.session_type.as_str();
    let columns = params![
        s.session_id,
        session_type,
        agent_id,
        team_id,
        workflow_id,
        s.user_id,
        data,
        agent_data,
        metadata,
        summary,
        s.created_at,
        s.updated_at,
        state,
        s.session_name,
    ];
    let written = match (write, tokens) {
        (SessionWrite::Replace, _) => conn.prepare_cached(&UPSERT_SESSION)?.execute(columns)?,
        // A run's write leaves the name alone: ?14 is not in its SQL.
        (SessionWrite::Run { .. }, None) => conn
            .prepare_cached(&RUN_UPSERT_SESSION)?
            .execute(&columns[..13])?,
        (SessionWrite::Run { .. }, Some(tokens)) => {
            let mut all = columns.to_vec();
            all.extend(tokens.iter().map(|t| t as &dyn rusqlite::ToSql));
            conn.prepare_cached(&RUN_UPSERT_SESSION_COUNTING)?
                .execute(all.as_slice())?
        }
    };
    // The upsert's `WHERE` left a row another user owns as it was.
    if written == 0 {
        return Err(DbError::NotOwner {
            session_id: s.session_id.clone(),
        });
    }
    Ok(())
}

/// The run's insert (or replace): a new run goes last in its session
/// (`max(run_index) + 1`); a re-saved one keeps its place.
pub(super) const INSERT_RUN: &str = "INSERT INTO agno_runs (
             run_id, session_id, run_type, agent_id, team_id, workflow_id, user_id,
             parent_run_id, status, run_index, run_data, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8,
                 (SELECT coalesce(max(run_index) + 1, 0) FROM agno_runs WHERE session_id = ?2),
                 ?9, ?10, ?11)
         ON CONFLICT (run_id) DO UPDATE SET
             run_index = CASE WHEN agno_runs.session_id = excluded.session_id
                              THEN agno_runs.run_index ELSE excluded.run_index END,
             session_id = excluded.session_id,
             run_type = excluded.run_type,
             agent_id = excluded.agent_id,
             team_id = excluded.team_id,
             workflow_id = excluded.workflow_id,
             user_id = excluded.user_id,
             status = excluded.status,
             run_data = excluded.run_data,
             created_at = excluded.created_at,
             updated_at = excluded.updated_at";

/// Upserts the session, inserts or replaces the run (keeping its
/// `run_index` when it stays in the same session, else appending it), and
/// updates `session_data.session_metrics`. The caller holds a transaction.
pub(crate) fn save_run(
    conn: &Connection,
    session: &SessionRecord,
    run: &RunRow,
    now: i64,
) -> Result<(), DbError> {
    // The run as stored before (a re-saved run), to update the session's
    // token totals by the difference instead of re-reading every run.
    let before: Option<(String, [i64; 3])> = conn
        .prepare_cached(
            "SELECT session_id,
                    coalesce(json_extract(run_data, '$.metrics.input_tokens'), 0),
                    coalesce(json_extract(run_data, '$.metrics.output_tokens'), 0),
                    coalesce(json_extract(run_data, '$.metrics.total_tokens'), 0)
             FROM agno_runs WHERE run_id = ?1 AND json_valid(run_data)",
        )?
        .query_row([&run.run_id], |row| {
            Ok((row.get(0)?, [row.get(1)?, row.get(2)?, row.get(3)?]))
        })
        .optional()?;
    // The totals change by the run's tokens (a new run) or by its
    // difference (a re-saved run), counted by the session upsert itself; a
    // run that moves session has both sessions recounted below.
    let (delta, moved_from) = match before {
        None => (Some(run.tokens), None),
        Some((was, old)) if was == session.session_id => {
            (Some([0, 1, 2].map(|i| run.tokens[i] - old[i])), None)
        }
        Some((was, _)) => (None, Some(was)),
    };
    let state = merged_state(conn, session)?;
    write_session(
        conn,
        session,
        SessionWrite::Run {
            counting: delta.is_some(),
        },
        state,
        delta,
    )?;
    let (_, team_id, workflow_id) =
        component_columns(session.session_type, session.agent_id.as_deref());
    conn.prepare_cached(INSERT_RUN)?.execute(params![
        run.run_id,
        session.session_id,
        session.session_type.as_str(),
        run.agent_id,
        team_id,
        workflow_id,
        run.user_id,
        run.status,
        run.run_data,
        run.created_at,
        now,
    ])?;
    if let Some(was) = moved_from {
        refresh_session_metrics(conn, &was)?;
        refresh_session_metrics(conn, &session.session_id)?;
    }
    Ok(())
}

/// Sets `session_data.session_metrics` to the token totals of the
/// session's runs (rows whose `run_data` is damaged are skipped).
fn refresh_session_metrics(conn: &Connection, session_id: &str) -> Result<(), DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE agno_sessions SET session_data = json_set({SESSION_DATA_BASE},
             '$.session_metrics',
             json((SELECT json_object(
                 'input_tokens', coalesce(sum(json_extract(run_data, '$.metrics.input_tokens')), 0),
                 'output_tokens', coalesce(sum(json_extract(run_data, '$.metrics.output_tokens')), 0),
                 'total_tokens', coalesce(sum(json_extract(run_data, '$.metrics.total_tokens')), 0))
               FROM agno_runs WHERE session_id = ?1 AND json_valid(run_data))))
         WHERE session_id = ?1"
        )
    });
    conn.prepare_cached(&SQL)?.execute([session_id])?;
    Ok(())
}

/// One session, or `None`.
pub(crate) fn get_session(
    conn: &Connection,
    session_id: &str,
) -> Result<Option<SessionRecord>, DbError> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!("SELECT {SESSION_COLUMNS} FROM agno_sessions WHERE session_id = ?1")
    });
    let mut stmt = conn.prepare_cached(&SQL)?;
    let raw = stmt.query_row([session_id], RawSession::read).optional()?;
    raw.map(RawSession::decode).transpose()
}

/// A filtered, sorted page of sessions and the total count, read in one
/// transaction (one snapshot).
pub(crate) fn list_sessions(
    conn: &mut Connection,
    query: &SessionQuery,
) -> Result<SessionPage, DbError> {
    let (limit, page) = query.paging()?;
    let sort_expr = match query.sort_key()? {
        "created_at" => "created_at",
        "session_name" => "session_name_sort",
        _ => "updated_at",
    };
    let order = query.sort_order.unwrap_or_default();

    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<SqlValue> = Vec::new();
    if let Some(session_type) = query.session_type {
        clauses.push("session_type = ?".into());
        args.push(SqlValue::Text(session_type.as_str().into()));
    }
    if let Some(component) = &query.component_id {
        match query.session_type {
            Some(session_type) => {
                clauses.push(format!("{} = ?", session_type.component_column()));
                args.push(SqlValue::Text(component.clone()));
            }
            None => {
                clauses.push("(agent_id = ? OR team_id = ? OR workflow_id = ?)".into());
                for _ in 0..3 {
                    args.push(SqlValue::Text(component.clone()));
                }
            }
        }
    }
    if let Some(user_id) = &query.user_id {
        clauses.push("user_id = ?".into());
        args.push(SqlValue::Text(user_id.clone()));
    }
    if let Some(name) = &query.session_name {
        clauses.push(format!(
            "lower({SESSION_NAME_EXPR}) LIKE lower(?) ESCAPE '\\'"
        ));
        args.push(SqlValue::Text(format!("%{}%", escape_like(name))));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };

    let tx = conn.transaction()?;
    let total: i64 = tx.query_row(
        &format!("SELECT count(*) FROM agno_sessions {filter}"),
        params_from_iter(args.iter()),
        |row| row.get(0),
    )?;
    let total = u64::try_from(total).unwrap_or(0);

    let offset = (u64::from(page) - 1) * u64::from(limit);
    let dir = order.sql();
    let sql = format!(
        "SELECT {SESSION_COLUMNS}, {SESSION_NAME_EXPR} AS session_name_sort
         FROM agno_sessions {filter}
         ORDER BY {sort_expr} {nocase} {dir}, rowid {dir}
         LIMIT ? OFFSET ?",
        nocase = if sort_expr == "session_name_sort" {
            "COLLATE NOCASE"
        } else {
            ""
        },
    );
    let mut page_args = args;
    page_args.push(SqlValue::Integer(i64::from(limit)));
    page_args.push(SqlValue::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let raws = tx
        .prepare(&sql)?
        .query_map(params_from_iter(page_args.iter()), RawSession::read)?
        .collect::<Result<Vec<_>, _>>()?;
    // One row that cannot be read never takes the list down: the rest is
    // served, the row is logged and named in `unreadable`.
    let mut sessions = Vec::with_capacity(raws.len());
    let mut unreadable = Vec::new();
    for raw in raws {
        let id = raw.session_id.clone();
        match raw.decode() {
            Ok(session) => sessions.push(session),
            Err(error) => {
                tracing::warn!(session_id = ?id, error = %error, "session left out of a list: it cannot be read");
                unreadable.push(id);
            }
        }
    }
    tx.finish()?;

    Ok(SessionPage::new(sessions, unreadable, total, page, limit))
}

/// Deletes sessions (their runs go with them: `ON DELETE CASCADE`; the
/// durable jobs that refer to those runs get a copy first); returns how
/// many existed.
pub(crate) fn delete_sessions(
    conn: &Connection,
    session_ids: &[String],
    user_id: Option<&str>,
) -> Result<u64, DbError> {
    let owned = owned_sessions(conn, session_ids, user_id)?;
    super::jobs::run(conn, &crate::db::jobs::transitions::keep_runs(&owned))?;
    let mut stmt = conn.prepare_cached("DELETE FROM agno_sessions WHERE session_id = ?1")?;
    let mut deleted = 0u64;
    for id in &owned {
        deleted += stmt.execute([id])? as u64;
    }
    Ok(deleted)
}

/// Those of `session_ids` that exist and, with `user_id`, are that
/// user's.
fn owned_sessions(
    conn: &Connection,
    session_ids: &[String],
    user_id: Option<&str>,
) -> Result<Vec<String>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT session_id FROM agno_sessions WHERE session_id = ?1 AND (?2 IS NULL OR user_id = ?2)",
    )?;
    let mut owned = Vec::with_capacity(session_ids.len());
    for id in session_ids {
        if let Some(id) = stmt
            .query_row(params![id, user_id], |row| row.get(0))
            .optional()?
        {
            owned.push(id);
        }
    }
    Ok(owned)
}

/// Sets `session_data.session_name`; returns the renamed session, or `None`
/// when it does not exist.
pub(crate) fn rename_session(
    conn: &Connection,
    session_id: &str,
    name: &str,
    user_id: Option<&str>,
) -> Result<Option<SessionRecord>, DbError> {
    let sql = format!(
        "UPDATE agno_sessions SET session_data = json_set({SESSION_DATA_BASE}, '$.session_name', ?2)
         WHERE session_id = ?1 AND (?3 IS NULL OR user_id = ?3)"
    );
    let changed = conn
        .prepare_cached(&sql)?
        .execute(params![session_id, name, user_id])?;
    if changed == 0 {
        return Ok(None);
    }
    get_session(conn, session_id)
}

/// At most `limit` runs of a session from the `offset`-th, by `run_index`.
pub(crate) fn get_runs_page(
    conn: &Connection,
    session_id: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<RunOutput>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT run_id, run_data FROM agno_runs WHERE session_id = ?1
         ORDER BY run_index ASC, created_at ASC LIMIT ?2 OFFSET ?3",
    )?;
    let rows = stmt
        .query_map(params![session_id, limit, offset], read_run_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(decode_run).collect()
}

/// The last `limit` runs of a session, oldest first.
pub(crate) fn recent_runs(
    conn: &Connection,
    session_id: &str,
    limit: usize,
) -> Result<Vec<RunOutput>, DbError> {
    let mut stmt = conn.prepare_cached(
        "SELECT run_id, run_data FROM agno_runs WHERE session_id = ?1
         ORDER BY run_index DESC, created_at DESC LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = stmt
        .query_map(params![session_id, limit], read_run_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.reverse();
    rows.into_iter().map(decode_run).collect()
}

/// One run by id, or `None`.
pub(crate) fn get_run(conn: &Connection, run_id: &str) -> Result<Option<RunOutput>, DbError> {
    let mut stmt =
        conn.prepare_cached("SELECT run_id, run_data FROM agno_runs WHERE run_id = ?1")?;
    let row = stmt.query_row([run_id], read_run_row).optional()?;
    row.map(decode_run).transpose()
}

#[cfg(test)]
mod tests {
    use super::super::schema;
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        schema::migrate(&mut conn).unwrap();
        conn
    }

    /// With the store's connection settings a cached statement keeps its
    /// plan: the run insert is prepared once, not at every run (see
    /// `connection::configure`).
    #[test]
    fn the_run_insert_is_prepared_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = super::super::connection::open_writer(
            &dir.path().join("a.db"),
            std::time::Duration::from_secs(1),
            1 << 20,
        )
        .unwrap();
        schema::migrate(&mut conn).unwrap();
        let s = SessionRecord::new("s1", SessionType::Agent);
        for i in 0..3 {
            let run = RunOutput {
                run_id: format!("r{i}"),
                ..Default::default()
            };
            save_run(&conn, &s, &RunRow::new(&s, &run).unwrap(), 100).unwrap();
        }
        let statement = conn.prepare_cached(INSERT_RUN).unwrap();
        assert_eq!(statement.get_status(rusqlite::StatementStatus::Run), 3);
        assert_eq!(
            statement.get_status(rusqlite::StatementStatus::RePrepare),
            0
        );
    }

    #[test]
    fn like_escaping() {
        assert_eq!(escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }

    #[test]
    fn session_round_trip_keeps_created_at_and_metrics() {
        let conn = db();
        let mut s = SessionRecord::new("s1", SessionType::Team);
        s.agent_id = Some("team-1".into());
        s.created_at = 100;
        s.updated_at = 100;
        s.summary = Some(Value::from(5));
        let run = RunOutput {
            run_id: "r1".into(),
            created_at: 100,
            metrics: Some(hooks_core::Metrics {
                input_tokens: 3,
                output_tokens: 4,
                total_tokens: 7,
                ..Default::default()
            }),
            ..Default::default()
        };
        save_run(&conn, &s, &RunRow::new(&s, &run).unwrap(), 100).unwrap();
        let mut later = s.clone();
        later.created_at = 999;
        later.updated_at = 200;
        upsert_session(&conn, &later).unwrap();
        let got = get_session(&conn, "s1").unwrap().unwrap();
        assert_eq!(got.created_at, 100);
        assert_eq!(got.updated_at, 200);
        assert_eq!(got.agent_id.as_deref(), Some("team-1"));
        assert_eq!(got.summary, Some(Value::from(5)));
        let (team_id, data): (String, String) = conn
            .query_row(
                "SELECT team_id, session_data FROM agno_sessions WHERE session_id = 's1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(team_id, "team-1");
        let data: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(data["session_metrics"]["total_tokens"], 7);
    }
}
