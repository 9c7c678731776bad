//! `agno_metrics` on Postgres: the groups Agno's daily metrics are made
//! of, summed in SQL, and the table's upsert and reads.

use super::PostgresDb;
use crate::db::{DbFuture, MetricsStore};
use deadpool_postgres::GenericClient;
use serde_json::Value;
use tokio_postgres::Row;

use crate::db::DbError;
use crate::db::day_metrics::{
    Day, MetricsProgress, MetricsQuery, MetricsRow, RunGroup, SessionGroup, TOKEN_KEYS,
};

/// Where the table's days stand, and the first session.
pub(super) async fn progress(client: &impl GenericClient) -> Result<MetricsProgress, DbError> {
    let row = client
        .query_one(
            "WITH done AS (SELECT max(date) AS day FROM agno_metrics WHERE completed)
             SELECT to_char((SELECT day FROM done), 'YYYY-MM-DD'),
                    to_char((SELECT min(date) FROM agno_metrics, done
                             WHERE NOT completed AND (done.day IS NULL OR date > done.day)), 'YYYY-MM-DD'),
                    (SELECT min(created_at) FROM agno_sessions)",
            &[],
        )
        .await?;
    let day = |i: usize| -> Option<Day> {
        row.get::<_, Option<String>>(i)
            .as_deref()
            .and_then(Day::parse)
    };
    Ok(MetricsProgress {
        latest_completed: day(0),
        earliest_incomplete: day(1),
        first_session: row.get(2),
    })
}

/// A JSON number at `key` of `session_metrics`, 0 when absent or not one.
fn tokens(key: &str) -> String {
    format!(
        "sum(CASE WHEN jsonb_typeof(s.session_data -> 'session_metrics' -> '{key}') = 'number' \
         THEN (s.session_data -> 'session_metrics' ->> '{key}')::numeric ELSE 0 END)::bigint"
    )
}

/// The sessions created in `[from, to)` and their runs, summed.
pub(super) async fn groups(
    client: &impl GenericClient,
    from: i64,
    to: i64,
) -> Result<(Vec<SessionGroup>, Vec<RunGroup>), DbError> {
    let sums: Vec<String> = TOKEN_KEYS.iter().map(|k| tokens(k)).collect();
    let sql = format!(
        "SELECT s.created_at / 86400, coalesce(s.user_id, ''), s.session_type, count(*), {}
         FROM agno_sessions s WHERE s.created_at >= $1 AND s.created_at < $2
         GROUP BY 1, 2, 3",
        sums.join(", ")
    );
    let sessions = client
        .query(&sql, &[&from, &to])
        .await?
        .iter()
        .map(|row| {
            let mut tokens = [0i64; 9];
            for (i, slot) in tokens.iter_mut().enumerate() {
                *slot = row.get(4 + i);
            }
            SessionGroup {
                day: Day(row.get(0)),
                owner: row.get(1),
                session_type: row.get(2),
                sessions: row.get(3),
                tokens,
            }
        })
        .collect();
    let runs = client
        .query(
            "SELECT s.created_at / 86400, coalesce(s.user_id, ''), s.session_type,
                    r.run_data ->> 'model', r.run_data ->> 'model_provider', count(*)
             FROM agno_runs r JOIN agno_sessions s ON s.session_id = r.session_id
             WHERE s.created_at >= $1 AND s.created_at < $2
             GROUP BY 1, 2, 3, 4, 5",
            &[&from, &to],
        )
        .await?
        .iter()
        .map(|row| RunGroup {
            day: Day(row.get(0)),
            owner: row.get(1),
            session_type: row.get(2),
            model: row.get(3),
            model_provider: row.get(4),
            runs: row.get(5),
        })
        .collect();
    Ok((sessions, runs))
}

const COLUMNS: &str = "id, agent_runs_count, team_runs_count, workflow_runs_count, \
     agent_sessions_count, team_sessions_count, workflow_sessions_count, users_count, \
     token_metrics::text, model_metrics::text, to_char(date, 'YYYY-MM-DD'), aggregation_period, \
     user_id, created_at, updated_at, completed";

/// Upserts `rows` (in the caller's transaction); returns them as stored.
pub(super) async fn upsert(
    client: &impl GenericClient,
    rows: &[MetricsRow],
) -> Result<Vec<MetricsRow>, DbError> {
    let statement = client
        .prepare(&format!(
            "INSERT INTO agno_metrics AS m (id, agent_runs_count, team_runs_count, workflow_runs_count,
                 agent_sessions_count, team_sessions_count, workflow_sessions_count, users_count,
                 token_metrics, model_metrics, date, aggregation_period, user_id, created_at,
                 updated_at, completed)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10::text::jsonb, $11::text::date, $12, $13,
                 $14, $15, $16)
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
        ))
        .await?;
    let mut stored = Vec::with_capacity(rows.len());
    for row in rows {
        let (tokens, models, date) = (
            row.token_metrics.to_string(),
            row.model_metrics.to_string(),
            row.date.iso(),
        );
        let back = client
            .query_one(
                &statement,
                &[
                    &row.id,
                    &row.agent_runs_count,
                    &row.team_runs_count,
                    &row.workflow_runs_count,
                    &row.agent_sessions_count,
                    &row.team_sessions_count,
                    &row.workflow_sessions_count,
                    &row.users_count,
                    &tokens,
                    &models,
                    &date,
                    &row.aggregation_period,
                    &row.user_id,
                    &row.created_at,
                    &row.updated_at,
                    &row.completed,
                ],
            )
            .await?;
        stored.push(decode(&back)?);
    }
    Ok(stored)
}

/// The rows `query` asks for, and the latest `updated_at` of its owner's.
pub(super) async fn read(
    client: &impl GenericClient,
    query: &MetricsQuery,
) -> Result<(Vec<MetricsRow>, Option<i64>), DbError> {
    let from = query.from.map(Day::iso);
    let to = query.to.map(Day::iso);
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM agno_metrics
                 WHERE ($1::text IS NULL OR date >= $1::text::date) AND ($2::text IS NULL OR date <= $2::text::date)
                   AND ($3::text IS NULL OR user_id = $3)
                 ORDER BY date, user_id"
            ),
            &[&from, &to, &query.user_id],
        )
        .await?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    if rows.is_empty() {
        return Ok((rows, None));
    }
    let latest: Option<i64> = client
        .query_one(
            "SELECT max(updated_at) FROM agno_metrics WHERE $1::text IS NULL OR user_id = $1",
            &[&query.user_id],
        )
        .await?
        .get(0);
    Ok((rows, latest))
}

/// One stored row.
fn decode(row: &Row) -> Result<MetricsRow, DbError> {
    let id: String = row.get(0);
    let json = |i: usize| -> Value {
        row.get::<_, Option<String>>(i)
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    };
    let date: String = row.get(10);
    let day = Day::parse(&date).ok_or_else(|| {
        DbError::Internal(format!(
            "agno_metrics row {id} has a date that is not one: {date:?}"
        ))
    })?;
    Ok(MetricsRow {
        agent_runs_count: row.get(1),
        team_runs_count: row.get(2),
        workflow_runs_count: row.get(3),
        agent_sessions_count: row.get(4),
        team_sessions_count: row.get(5),
        workflow_sessions_count: row.get(6),
        users_count: row.get(7),
        token_metrics: json(8),
        model_metrics: json(9),
        date: day,
        aggregation_period: row.get(11),
        user_id: row.get(12),
        created_at: row.get(13),
        updated_at: row.get(14),
        completed: row.get(15),
        id,
    })
}

impl MetricsStore for PostgresDb {
    fn metrics_progress(&self) -> DbFuture<'_, MetricsProgress> {
        Box::pin(async move { self::progress(&self.client().await?).await })
    }

    fn metrics_groups(
        &self,
        from: i64,
        to: i64,
    ) -> DbFuture<'_, (Vec<SessionGroup>, Vec<RunGroup>)> {
        Box::pin(async move { self::groups(&self.client().await?, from, to).await })
    }

    fn upsert_metrics(&self, rows: Vec<MetricsRow>) -> DbFuture<'_, Vec<MetricsRow>> {
        Box::pin(async move {
            self.in_transaction(async |tx| self::upsert(tx, &rows).await)
                .await
        })
    }

    fn read_metrics(&self, query: MetricsQuery) -> DbFuture<'_, (Vec<MetricsRow>, Option<i64>)> {
        Box::pin(async move { self::read(&self.client().await?, &query).await })
    }
}
