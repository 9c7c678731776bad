//! `agno_traces` and `agno_spans` on SQLite.

use super::SqliteDb;
use crate::db::{DbFuture, TraceStore};
use rusqlite::{Connection, Row, params, params_from_iter};
use serde_json::Value;

use crate::db::DbError;
use crate::db::traces::{
    self, SessionStatsQuery, SessionStatsRow, SpanRow, Sql, TraceQuery, TraceRow,
};

fn placeholder(i: usize) -> String {
    format!("?{i}")
}

/// The root input's expression (a key with a dot, quoted in the path).
const INPUT: &str =
    "CASE WHEN json_valid(r.attributes) THEN json_extract(r.attributes, '$.\"input.value\"') END";

/// Writes traces and spans in the caller's transaction.
pub(super) fn write(conn: &Connection, traces: &[(TraceRow, Vec<SpanRow>)]) -> Result<(), DbError> {
    let mut trace = conn.prepare_cached(&traces::upsert_trace(&placeholder))?;
    let mut span = conn.prepare_cached(
        "INSERT INTO agno_spans (span_id, trace_id, parent_span_id, name, span_kind, status_code,
             status_message, start_time, end_time, duration_ms, attributes, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (span_id) DO NOTHING",
    )?;
    for (t, spans) in traces {
        trace.execute(params![
            t.trace_id,
            t.name,
            t.status,
            t.start_time,
            t.end_time,
            t.duration_ms,
            t.run_id,
            t.session_id,
            t.user_id,
            t.agent_id,
            t.team_id,
            t.workflow_id,
            t.created_at,
        ])?;
        for s in spans {
            span.execute(params![
                s.span_id,
                s.trace_id,
                s.parent_span_id,
                s.name,
                s.span_kind,
                s.status_code,
                s.status_message,
                s.start_time,
                s.end_time,
                s.duration_ms,
                s.attributes.to_string(),
                s.created_at,
            ])?;
        }
    }
    Ok(())
}

fn trace_row(row: &Row<'_>) -> rusqlite::Result<TraceRow> {
    Ok(TraceRow {
        trace_id: row.get(0)?,
        name: row.get(1)?,
        status: row.get(2)?,
        start_time: row.get(3)?,
        end_time: row.get(4)?,
        // Agno's SQLite upsert stores a REAL here.
        duration_ms: row.get::<_, f64>(5)? as i64,
        run_id: row.get(6)?,
        session_id: row.get(7)?,
        user_id: row.get(8)?,
        agent_id: row.get(9)?,
        team_id: row.get(10)?,
        workflow_id: row.get(11)?,
        created_at: row.get(12)?,
        total_spans: row.get(13)?,
        error_count: row.get(14)?,
        input: row
            .get::<_, Option<rusqlite::types::Value>>(15)?
            .and_then(|v| match v {
                rusqlite::types::Value::Text(t) => Some(t),
                rusqlite::types::Value::Integer(n) => Some(n.to_string()),
                rusqlite::types::Value::Real(x) => Some(x.to_string()),
                _ => None,
            }),
    })
}

fn query<T>(
    conn: &Connection,
    sql: &Sql,
    decode: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, DbError> {
    let mut stmt = conn.prepare(&sql.text)?;
    let rows = stmt
        .query_map(params_from_iter(sql.args.iter()), decode)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn count(conn: &Connection, sql: &Sql) -> Result<u64, DbError> {
    let n: i64 = conn.query_row(&sql.text, params_from_iter(sql.args.iter()), |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A page of traces, and how many match.
pub(super) fn list(conn: &Connection, q: &TraceQuery) -> Result<(Vec<TraceRow>, u64), DbError> {
    let (page, total) = traces::list_traces(q, &placeholder, INPUT);
    Ok((query(conn, &page, trace_row)?, count(conn, &total)?))
}

/// A trace and its spans.
pub(super) fn get(
    conn: &Connection,
    trace_id: &str,
) -> Result<Option<(TraceRow, Vec<SpanRow>)>, DbError> {
    let Some(trace) = query(
        conn,
        &traces::get_trace(trace_id, &placeholder, INPUT),
        trace_row,
    )?
    .pop() else {
        return Ok(None);
    };
    let mut stmt = conn.prepare(
        "SELECT span_id, trace_id, parent_span_id, name, span_kind, status_code, status_message,
                start_time, end_time, duration_ms, attributes, created_at
         FROM agno_spans WHERE trace_id = ?1 ORDER BY start_time, span_id",
    )?;
    let spans = stmt
        .query_map([trace_id], |row| {
            let attributes: Option<String> = row.get(10)?;
            Ok(SpanRow {
                span_id: row.get(0)?,
                trace_id: row.get(1)?,
                parent_span_id: row.get(2)?,
                name: row.get(3)?,
                span_kind: row.get(4)?,
                status_code: row.get(5)?,
                status_message: row.get(6)?,
                start_time: row.get(7)?,
                end_time: row.get(8)?,
                duration_ms: row.get::<_, f64>(9)? as i64,
                attributes: attributes
                    .and_then(|a| serde_json::from_str(&a).ok())
                    .unwrap_or(Value::Null),
                created_at: row.get(11)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some((trace, spans)))
}

/// A page of sessions with traces, and how many.
pub(super) fn session_stats(
    conn: &Connection,
    q: &SessionStatsQuery,
) -> Result<(Vec<SessionStatsRow>, u64), DbError> {
    let (page, total) = traces::session_stats(q, &placeholder);
    let rows = query(conn, &page, |row| {
        Ok(SessionStatsRow {
            session_id: row.get(0)?,
            user_id: row.get(1)?,
            agent_id: row.get(2)?,
            team_id: row.get(3)?,
            workflow_id: row.get(4)?,
            total_traces: row.get(5)?,
            first_trace_at: row.get(6)?,
            last_trace_at: row.get(7)?,
        })
    })?;
    Ok((rows, count(conn, &total)?))
}

impl TraceStore for SqliteDb {
    fn write_traces(&self, batch: Vec<(TraceRow, Vec<SpanRow>)>) -> DbFuture<'_, ()> {
        Box::pin(
            self.inner
                .writer
                .submit(move |conn| self::write(conn, &batch)),
        )
    }

    fn list_traces(&self, query: TraceQuery) -> DbFuture<'_, (Vec<TraceRow>, u64)> {
        Box::pin(self.inner.reads.run(move |conn| self::list(conn, &query)))
    }

    fn get_trace(&self, trace_id: &str) -> DbFuture<'_, Option<(TraceRow, Vec<SpanRow>)>> {
        let trace_id = trace_id.to_owned();
        Box::pin(self.inner.reads.run(move |conn| self::get(conn, &trace_id)))
    }

    fn trace_session_stats(
        &self,
        query: SessionStatsQuery,
    ) -> DbFuture<'_, (Vec<SessionStatsRow>, u64)> {
        Box::pin(
            self.inner
                .reads
                .run(move |conn| self::session_stats(conn, &query)),
        )
    }
}
