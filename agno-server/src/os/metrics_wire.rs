//! Agno's metrics payloads (`agno/os/routers/metrics/schemas.py`): what
//! `GET /metrics` and `POST /metrics/refresh` answer, field for field.

use serde::Serialize;
use serde_json::Value;

use crate::db::MetricsRow;

/// `DayAggregatedMetrics`: one day (and, for one owner's read, one owner).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DayAggregatedMetrics {
    /// `"{date}_daily"`, or `"{date}_{user}_daily"` for one owner's read.
    pub id: String,
    /// Agent runs of the day's sessions.
    pub agent_runs_count: i64,
    /// Agent sessions created that day.
    pub agent_sessions_count: i64,
    /// Team runs (none here).
    pub team_runs_count: i64,
    /// Team sessions (none here).
    pub team_sessions_count: i64,
    /// Workflow runs (none here).
    pub workflow_runs_count: i64,
    /// Workflow sessions (none here).
    pub workflow_sessions_count: i64,
    /// Distinct users.
    pub users_count: i64,
    /// The nine token counts.
    #[schema(value_type = Object)]
    pub token_metrics: Value,
    /// Runs per model: `[{"model_id", "model_provider", "count"}]`.
    #[schema(value_type = Vec<Object>)]
    pub model_metrics: Value,
    /// The day, at midnight UTC (`2026-12-06T00:00:00Z`).
    pub date: String,
    /// When first computed.
    pub created_at: String,
    /// When last computed.
    pub updated_at: String,
}

impl From<MetricsRow> for DayAggregatedMetrics {
    fn from(row: MetricsRow) -> Self {
        let created_at = iso(row.created_at);
        Self {
            id: row.id,
            agent_runs_count: row.agent_runs_count,
            agent_sessions_count: row.agent_sessions_count,
            team_runs_count: row.team_runs_count,
            team_sessions_count: row.team_sessions_count,
            workflow_runs_count: row.workflow_runs_count,
            workflow_sessions_count: row.workflow_sessions_count,
            users_count: row.users_count,
            token_metrics: row.token_metrics,
            model_metrics: if row.model_metrics.is_array() {
                row.model_metrics
            } else {
                Value::Array(Vec::new())
            },
            date: iso(row.date.start()),
            updated_at: row.updated_at.map_or_else(|| created_at.clone(), iso),
            created_at,
        }
    }
}

/// `MetricsResponse`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MetricsResponse {
    /// The days asked for, oldest first.
    pub metrics: Vec<DayAggregatedMetrics>,
    /// The latest `updated_at` of the rows read (of the owner's, for one
    /// owner), whatever the dates; `null` when there are none.
    pub updated_at: Option<String>,
}

/// `MetricsRefreshResponse`: a refresh started, or one already running.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MetricsRefreshResponse {
    /// `started` or `already_running`.
    pub status: &'static str,
    /// What happened.
    pub message: &'static str,
}

/// `MetricsRefreshStatusResponse`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MetricsRefreshStatus {
    /// `idle`, `running`, `completed` or `failed`.
    pub status: &'static str,
    /// When the latest refresh started.
    pub started_at: Option<String>,
    /// When it finished.
    pub finished_at: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Epoch seconds as Agno's datetimes (`2026-12-06T21:28:53Z`).
pub fn iso(epoch_secs: i64) -> String {
    iso_ms(epoch_secs.saturating_mul(1000))
}

/// Epoch milliseconds as an ISO datetime; whole seconds without a
/// fraction (`…:53Z`), else with microseconds (`…:53.120000Z`), as
/// pydantic prints a datetime.
pub fn iso_ms(epoch_ms: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(epoch_ms) * 1_000_000)
    else {
        return String::from("1970-01-01T00:00:00Z");
    };
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match t.millisecond() {
        0 => format!("{base}Z"),
        ms => format!("{base}.{:06}Z", u32::from(ms) * 1000),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn datetimes_as_pydantic_prints_them() {
        assert_eq!(super::iso(1_796_592_533), "2026-12-06T21:28:53Z");
        assert_eq!(
            super::iso_ms(1_796_592_533_120),
            "2026-12-06T21:28:53.120000Z"
        );
        assert_eq!(super::iso(0), "1970-01-01T00:00:00Z");
    }
}
