//! `agno_metrics` on SQLite: the groups Agno's daily metrics are made of,
//! summed in SQL, and the table's upsert and reads.

use super::SqliteDb;
use crate::db::{DbFuture, MetricsStore};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use crate::db::DbError;
use crate::db::day_metrics::{
    Day, MetricsProgress, MetricsQuery, MetricsRow, RunGroup, SessionGroup, TOKEN_KEYS,
};

/// `session_data` when it is valid JSON, else `'{}'` (a damaged value
/// counts no tokens instead of failing the day).
const DATA: &str = "CASE WHEN json_valid(s.session_data) THEN s.session_data ELSE '{}' END";

/// Where the table's days stand, and the first session.
pub(super) fn progress(conn: &Connection) -> Result<MetricsProgress, DbError> {
    let day = |text: Option<String>| text.as_deref().and_then(Day::parse);
    let latest: Option<String> = conn.query_row(
        "SELECT max(date) FROM agno_metrics WHERE completed",
        [],
        |r| r.get(0),
    )?;
    let latest_completed = day(latest.clone());
    let incomplete: Option<String> = conn.query_row(
        "SELECT min(date) FROM agno_metrics WHERE NOT completed AND (?1 IS NULL OR date > ?1)",
        [latest],
        |r| r.get(0),
    )?;
    let first_session: Option<i64> =
        conn.query_row("SELECT min(created_at) FROM agno_sessions", [], |r| {
            r.get(0)
        })?;
    Ok(MetricsProgress {
        latest_completed,
        earliest_incomplete: day(incomplete),
        first_session,
    })
}

/// The sessions created in `[from, to)` and their runs, summed.
pub(super) fn groups(
    conn: &Connection,
    from: i64,
    to: i64,
) -> Result<(Vec<SessionGroup>, Vec<RunGroup>), DbError> {
    let sums: Vec<String> = TOKEN_KEYS
        .iter()
        .map(|key| {
            format!("CAST(total(json_extract({DATA}, '$.session_metrics.{key}')) AS INTEGER)")
        })
        .collect();
    let sql = format!(
        "SELECT s.created_at / 86400, coalesce(s.user_id, ''), s.session_type, count(*), {}
         FROM agno_sessions s WHERE s.created_at >= ?1 AND s.created_at < ?2
         GROUP BY 1, 2, 3",
        sums.join(", ")
    );
    let mut stmt = conn.prepare(&sql)?;
    let sessions = stmt
        .query_map(params![from, to], |row| {
            let mut tokens = [0i64; 9];
            for (i, slot) in tokens.iter_mut().enumerate() {
                *slot = row.get(4 + i)?;
            }
            Ok(SessionGroup {
                day: Day(row.get(0)?),
                owner: row.get(1)?,
                session_type: row.get(2)?,
                sessions: row.get(3)?,
                tokens,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT s.created_at / 86400, coalesce(s.user_id, ''), s.session_type,
                CASE WHEN json_valid(r.run_data) THEN json_extract(r.run_data, '$.model') END,
                CASE WHEN json_valid(r.run_data) THEN json_extract(r.run_data, '$.model_provider') END,
                count(*)
         FROM agno_runs r JOIN agno_sessions s ON s.session_id = r.session_id
         WHERE s.created_at >= ?1 AND s.created_at < ?2
         GROUP BY 1, 2, 3, 4, 5",
    )?;
    let runs = stmt
        .query_map(params![from, to], |row| {
            Ok(RunGroup {
                day: Day(row.get(0)?),
                owner: row.get(1)?,
                session_type: row.get(2)?,
                model: text(row, 3)?,
                model_provider: text(row, 4)?,
                runs: row.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((sessions, runs))
}

/// A JSON value read back as text (a model id stored as a number stays
/// readable).
fn text(row: &Row<'_>, i: usize) -> rusqlite::Result<Option<String>> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(i)? {
        ValueRef::Null => None,
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(n) => Some(n.to_string()),
        ValueRef::Real(x) => Some(x.to_string()),
        ValueRef::Blob(_) => None,
    })
}

const COLUMNS: &str = "id, agent_runs_count, team_runs_count, workflow_runs_count, \
     agent_sessions_count, team_sessions_count, workflow_sessions_count, users_count, \
     token_metrics, model_metrics, date, aggregation_period, user_id, created_at, updated_at, completed";

/// Upserts `rows` in the caller's transaction; returns them as stored.
pub(super) fn upsert(conn: &Connection, rows: &[MetricsRow]) -> Result<Vec<MetricsRow>, DbError> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO agno_metrics ({COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
         ON CONFLICT (user_id, date, aggregation_period) DO UPDATE SET
             agent_runs_count = excluded.agent_runs_count,
             team_runs_count = excluded.team_runs_count,
             workflow_runs_count = excluded.workflow_runs_count,
             agent_sessions_count = excluded.agent_sessions_count,
             team_sessions_count = excluded.team_sessions_count,
             workflow_sessions_count = excluded.workflow_sessions_count,
             users_count = excluded.users_count,
             token_metrics = excluded.token_metrics,
             model_metrics = excluded.model_metrics,
             updated_at = excluded.updated_at,
             completed = excluded.completed
         RETURNING {COLUMNS}"
    ))?;
    let mut stored = Vec::with_capacity(rows.len());
    for row in rows {
        let back = stmt.query_row(
            params![
                row.id,
                row.agent_runs_count,
                row.team_runs_count,
                row.workflow_runs_count,
                row.agent_sessions_count,
                row.team_sessions_count,
                row.workflow_sessions_count,
                row.users_count,
                row.token_metrics.to_string(),
                row.model_metrics.to_string(),
                row.date.iso(),
                row.aggregation_period,
                row.user_id,
                row.created_at,
                row.updated_at,
                row.completed,
            ],
            decode,
        )?;
        stored.push(back?);
    }
    Ok(stored)
}

/// The rows `query` asks for, and the latest `updated_at` of its owner's.
pub(super) fn read(
    conn: &Connection,
    query: &MetricsQuery,
) -> Result<(Vec<MetricsRow>, Option<i64>), DbError> {
    let from = query.from.map(Day::iso);
    let to = query.to.map(Day::iso);
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM agno_metrics
         WHERE (?1 IS NULL OR date >= ?1) AND (?2 IS NULL OR date <= ?2) AND (?3 IS NULL OR user_id = ?3)
         ORDER BY date, user_id"
    ))?;
    let rows = stmt
        .query_map(params![from, to, query.user_id], decode)?
        .collect::<Result<Result<Vec<_>, DbError>, _>>()??;
    if rows.is_empty() {
        return Ok((rows, None));
    }
    let latest = conn
        .query_row(
            "SELECT max(updated_at) FROM agno_metrics WHERE ?1 IS NULL OR user_id = ?1",
            [&query.user_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok((rows, latest))
}

/// One stored row (a damaged one is an error naming it).
fn decode(row: &Row<'_>) -> rusqlite::Result<Result<MetricsRow, DbError>> {
    let id: String = row.get(0)?;
    let json = |i: usize| -> rusqlite::Result<Value> {
        let text: Option<String> = row.get(i)?;
        Ok(text
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null))
    };
    let date: String = row.get(10)?;
    let Some(day) = Day::parse(&date) else {
        return Ok(Err(DbError::Internal(format!(
            "agno_metrics row {id} has a date that is not one: {date:?}"
        ))));
    };
    Ok(Ok(MetricsRow {
        agent_runs_count: row.get(1)?,
        team_runs_count: row.get(2)?,
        workflow_runs_count: row.get(3)?,
        agent_sessions_count: row.get(4)?,
        team_sessions_count: row.get(5)?,
        workflow_sessions_count: row.get(6)?,
        users_count: row.get(7)?,
        token_metrics: json(8)?,
        model_metrics: json(9)?,
        date: day,
        aggregation_period: row.get(11)?,
        user_id: row.get(12)?,
        created_at: row.get(13)?,
        updated_at: row.get(14)?,
        completed: row.get(15)?,
        id,
    }))
}

impl MetricsStore for SqliteDb {
    fn metrics_progress(&self) -> DbFuture<'_, MetricsProgress> {
        Box::pin(self.inner.reads.run(|conn| self::progress(conn)))
    }

    fn metrics_groups(
        &self,
        from: i64,
        to: i64,
    ) -> DbFuture<'_, (Vec<SessionGroup>, Vec<RunGroup>)> {
        Box::pin(
            self.inner
                .reads
                .run(move |conn| self::groups(conn, from, to)),
        )
    }

    fn upsert_metrics(&self, rows: Vec<MetricsRow>) -> DbFuture<'_, Vec<MetricsRow>> {
        Box::pin(
            self.inner
                .writer
                .submit(move |conn| self::upsert(conn, &rows)),
        )
    }

    fn read_metrics(&self, query: MetricsQuery) -> DbFuture<'_, (Vec<MetricsRow>, Option<i64>)> {
        Box::pin(self.inner.reads.run(move |conn| self::read(conn, &query)))
    }
}
