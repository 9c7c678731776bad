//! `agno_traces` and `agno_spans` on Postgres.

use super::PostgresDb;
use crate::db::{DbFuture, TraceStore};
use deadpool_postgres::GenericClient;
use serde_json::Value;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::db::DbError;
use crate::db::traces::{
    self, SessionStatsQuery, SessionStatsRow, SpanRow, Sql, TraceQuery, TraceRow,
};

fn placeholder(i: usize) -> String {
    format!("${i}::text")
}

/// The root input's expression.
const INPUT: &str = "r.attributes ->> 'input.value'";

/// Writes traces and spans (in the caller's transaction).
pub(super) async fn write(
    client: &impl GenericClient,
    traces: &[(TraceRow, Vec<SpanRow>)],
) -> Result<(), DbError> {
    let upsert = traces::upsert_trace(&|i| {
        if i == 6 {
            "$6::bigint".into()
        } else {
            format!("${i}::text")
        }
    });
    let trace = client.prepare(&upsert).await?;
    let span = client
        .prepare(
            "INSERT INTO agno_spans (span_id, trace_id, parent_span_id, name, span_kind, status_code,
                 status_message, start_time, end_time, duration_ms, attributes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::bigint, $11::text::jsonb, $12)
             ON CONFLICT (span_id) DO NOTHING",
        )
        .await?;
    for (t, spans) in traces {
        client
            .execute(
                &trace,
                &[
                    &t.trace_id,
                    &t.name,
                    &t.status,
                    &t.start_time,
                    &t.end_time,
                    &t.duration_ms,
                    &t.run_id,
                    &t.session_id,
                    &t.user_id,
                    &t.agent_id,
                    &t.team_id,
                    &t.workflow_id,
                    &t.created_at,
                ],
            )
            .await?;
        for s in spans {
            let attributes = s.attributes.to_string();
            client
                .execute(
                    &span,
                    &[
                        &s.span_id,
                        &s.trace_id,
                        &s.parent_span_id,
                        &s.name,
                        &s.span_kind,
                        &s.status_code,
                        &s.status_message,
                        &s.start_time,
                        &s.end_time,
                        &s.duration_ms,
                        &attributes,
                        &s.created_at,
                    ],
                )
                .await?;
        }
    }
    Ok(())
}

fn trace_row(row: &Row) -> TraceRow {
    TraceRow {
        trace_id: row.get(0),
        name: row.get(1),
        status: row.get(2),
        start_time: row.get(3),
        end_time: row.get(4),
        duration_ms: row.get(5),
        run_id: row.get(6),
        session_id: row.get(7),
        user_id: row.get(8),
        agent_id: row.get(9),
        team_id: row.get(10),
        workflow_id: row.get(11),
        created_at: row.get(12),
        total_spans: row.get(13),
        error_count: row.get(14),
        input: row.get(15),
    }
}

async fn query(client: &impl GenericClient, sql: &Sql) -> Result<Vec<Row>, DbError> {
    let args: Vec<&(dyn ToSql + Sync)> =
        sql.args.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
    Ok(client.query(&sql.text, &args).await?)
}

async fn count(client: &impl GenericClient, sql: &Sql) -> Result<u64, DbError> {
    let n: i64 = query(client, sql).await?.first().map_or(0, |r| r.get(0));
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A page of traces, and how many match.
pub(super) async fn list(
    client: &impl GenericClient,
    q: &TraceQuery,
) -> Result<(Vec<TraceRow>, u64), DbError> {
    let (page, total) = traces::list_traces(q, &placeholder, INPUT);
    let rows = query(client, &page).await?.iter().map(trace_row).collect();
    Ok((rows, count(client, &total).await?))
}

/// A trace and its spans.
pub(super) async fn get(
    client: &impl GenericClient,
    trace_id: &str,
) -> Result<Option<(TraceRow, Vec<SpanRow>)>, DbError> {
    let Some(trace) = query(client, &traces::get_trace(trace_id, &placeholder, INPUT))
        .await?
        .first()
        .map(trace_row)
    else {
        return Ok(None);
    };
    let spans = client
        .query(
            "SELECT span_id, trace_id, parent_span_id, name, span_kind, status_code, status_message,
                    start_time, end_time, duration_ms, attributes::text, created_at
             FROM agno_spans WHERE trace_id = $1 ORDER BY start_time, span_id",
            &[&trace_id],
        )
        .await?
        .iter()
        .map(|row| SpanRow {
            span_id: row.get(0),
            trace_id: row.get(1),
            parent_span_id: row.get(2),
            name: row.get(3),
            span_kind: row.get(4),
            status_code: row.get(5),
            status_message: row.get(6),
            start_time: row.get(7),
            end_time: row.get(8),
            duration_ms: row.get(9),
            attributes: row
                .get::<_, Option<String>>(10)
                .and_then(|a| serde_json::from_str(&a).ok())
                .unwrap_or(Value::Null),
            created_at: row.get(11),
        })
        .collect();
    Ok(Some((trace, spans)))
}

/// A page of sessions with traces, and how many.
pub(super) async fn session_stats(
    client: &impl GenericClient,
    q: &SessionStatsQuery,
) -> Result<(Vec<SessionStatsRow>, u64), DbError> {
    let (page, total) = traces::session_stats(q, &placeholder);
    let rows = query(client, &page)
        .await?
        .iter()
        .map(|row| SessionStatsRow {
            session_id: row.get(0),
            user_id: row.get(1),
            agent_id: row.get(2),
            team_id: row.get(3),
            workflow_id: row.get(4),
            total_traces: row.get(5),
            first_trace_at: row.get(6),
            last_trace_at: row.get(7),
        })
        .collect();
    Ok((rows, count(client, &total).await?))
}

impl TraceStore for PostgresDb {
    fn write_traces(&self, batch: Vec<(TraceRow, Vec<SpanRow>)>) -> DbFuture<'_, ()> {
        Box::pin(async move {
            self.in_transaction(async |tx| self::write(tx, &batch).await)
                .await
        })
    }

    fn list_traces(&self, query: TraceQuery) -> DbFuture<'_, (Vec<TraceRow>, u64)> {
        Box::pin(async move { self::list(&self.client().await?, &query).await })
    }

    fn get_trace(&self, trace_id: &str) -> DbFuture<'_, Option<(TraceRow, Vec<SpanRow>)>> {
        let trace_id = trace_id.to_owned();
        Box::pin(async move { self::get(&self.client().await?, &trace_id).await })
    }

    fn trace_session_stats(
        &self,
        query: SessionStatsQuery,
    ) -> DbFuture<'_, (Vec<SessionStatsRow>, u64)> {
        Box::pin(async move { self::session_stats(&self.client().await?, &query).await })
    }
}
