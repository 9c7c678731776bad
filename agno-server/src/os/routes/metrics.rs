//! `GET /metrics` (Prometheus's exposition for a client that asks for it
//! by `Accept`, Agno's daily aggregates for the others),
//! `POST /metrics/refresh` and `GET /metrics/refresh/status`, as Agno
//! 3.1.10 serves them (`agno/os/routers/metrics/metrics.py`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::db::{
    Day, Db, DbError, METRICS_TABLE, MetricsQuery, MetricsRow, aggregate_by_date, identify_by_owner,
};
use crate::os::caller::Caller;
use crate::os::error::ApiError;
use crate::os::extract::ApiQuery;
use crate::os::metrics_wire::{
    DayAggregatedMetrics, MetricsRefreshResponse, MetricsRefreshStatus, MetricsResponse, iso,
};
use crate::os::prometheus::{self, Format};
use crate::os::state::AppState;

/// `?starting_date=&ending_date=&user_id=&db_id=&table=` of `GET /metrics`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsParams {
    /// The first day (`YYYY-MM-DD`, inclusive).
    pub starting_date: Option<String>,
    /// The last day (`YYYY-MM-DD`, inclusive).
    pub ending_date: Option<String>,
    /// One owner's rows (empty: the sessions without an owner); under
    /// JWT isolation, always the token's user.
    pub user_id: Option<String>,
    /// The store (required when the OS has several).
    pub db_id: Option<String>,
    /// The table (`agno_metrics`; needs `db_id`).
    pub table: Option<String>,
}

/// `?db_id=&table=&user_id=&background=` of `POST /metrics/refresh`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RefreshParams {
    /// The store (required when the OS has several).
    pub db_id: Option<String>,
    /// The table (`agno_metrics`; needs `db_id`).
    pub table: Option<String>,
    /// Answer only this owner's rows.
    pub user_id: Option<String>,
    /// Refresh in the background and answer 202 at once.
    #[serde(default)]
    pub background: bool,
}

/// `?db_id=&table=` of `GET /metrics/refresh/status`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusParams {
    /// The store (required when the OS has several).
    pub db_id: Option<String>,
    /// The table (`agno_metrics`; needs `db_id`).
    pub table: Option<String>,
}

/// `GET /metrics`: with `Accept: application/openmetrics-text` or
/// `text/plain` (what Prometheus sends), the Prometheus exposition
/// (requests, runs, model calls, hooks, durable jobs, the store);
/// otherwise Agno's daily aggregates (refreshed first when this process
/// has not computed them for a minute).
#[utoipa::path(get, path = "/metrics", tag = "Metrics", summary = "Metrics: Agno's daily aggregates, or Prometheus's exposition",
    params(MetricsParams),
    responses(
        (status = 200, description = "Agno's daily aggregates (JSON), or the Prometheus exposition (OpenMetrics or text 0.0.4) when Accept asks for it", body = MetricsResponse),
        (status = 400, description = "A table without db_id, or db_id missing with several stores"),
        (status = 404, description = "No such store or table"),
        (status = 422, description = "A date that is not YYYY-MM-DD"),
    ))]
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    ApiQuery(params): ApiQuery<MetricsParams>,
) -> Response {
    if let Some(format) = Format::wanted(headers.get(header::ACCEPT)) {
        let text = prometheus::render(&state, format);
        return ([(header::CONTENT_TYPE, format.content_type())], text).into_response();
    }
    match daily(&state, &caller, params).await {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn daily(
    state: &AppState,
    caller: &Caller,
    params: MetricsParams,
) -> Result<MetricsResponse, ApiError> {
    let from = date("starting_date", params.starting_date.as_deref())?;
    let to = date("ending_date", params.ending_date.as_deref())?;
    let user = caller.scope(params.user_id)?;
    let (db_id, db) = metrics_db(state, params.db_id.as_deref(), params.table.as_deref())?;
    state.metrics_refreshes.lazily(&db_id, &db).await;
    let query = MetricsQuery {
        from,
        to,
        user_id: user.clone(),
    };
    let (rows, updated_at) = db
        .read_metrics(query)
        .await
        .map_err(|e| failed("Error getting metrics", e))?;
    Ok(MetricsResponse {
        metrics: shaped(rows, user.as_deref()),
        updated_at: updated_at.map(iso),
    })
}

/// `POST /metrics/refresh`: recomputes every day Agno would and answers
/// the rows written (summed per day, or one owner's); with
/// `background=true`, 202 at once. One refresh per store at a time.
#[utoipa::path(post, path = "/metrics/refresh", tag = "Metrics", summary = "Recompute the daily metrics",
    params(RefreshParams),
    responses(
        (status = 200, description = "The rows written (or already_running)", body = Vec<DayAggregatedMetrics>),
        (status = 202, description = "Started in the background (or already_running)", body = MetricsRefreshResponse),
        (status = 400, description = "A table without db_id, or db_id missing with several stores"),
        (status = 404, description = "No such store or table"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<RefreshParams>,
) -> Response {
    let user = match caller.scope(params.user_id) {
        Ok(user) => user,
        Err(error) => return error.into_response(),
    };
    let (db_id, db) = match metrics_db(&state, params.db_id.as_deref(), params.table.as_deref()) {
        Ok(found) => found,
        Err(error) => return error.into_response(),
    };
    let refreshes = state.metrics_refreshes.clone();
    let already = || MetricsRefreshResponse {
        status: "already_running",
        message: "A metrics refresh is already in progress for this database",
    };
    if params.background {
        if !refreshes.begin(&db_id) {
            return (StatusCode::ACCEPTED, Json(already())).into_response();
        }
        state.runs.spawn(async move {
            if let Err(error) = refreshes.run(&db_id, &db).await {
                tracing::error!(db_id, %error, "metrics refresh failed");
            }
        });
        let started = MetricsRefreshResponse {
            status: "started",
            message: "Metrics refresh started in background",
        };
        return (StatusCode::ACCEPTED, Json(started)).into_response();
    }
    if !refreshes.begin(&db_id) {
        return Json(already()).into_response();
    }
    match refreshes.run(&db_id, &db).await {
        Ok(rows) => {
            let rows = match &user {
                Some(user) => rows.into_iter().filter(|r| &r.user_id == user).collect(),
                None => rows,
            };
            Json(shaped(rows, user.as_deref())).into_response()
        }
        Err(error) => failed("Error refreshing metrics", error).into_response(),
    }
}

/// `GET /metrics/refresh/status`: the latest refresh this process ran
/// for the store (`idle` before any).
#[utoipa::path(get, path = "/metrics/refresh/status", tag = "Metrics", summary = "The latest metrics refresh",
    params(StatusParams),
    responses(
        (status = 200, description = "idle, running, completed or failed", body = MetricsRefreshStatus),
        (status = 400, description = "A table without db_id, or db_id missing with several stores"),
        (status = 404, description = "No such store or table"),
    ))]
pub async fn refresh_status(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<StatusParams>,
) -> Result<Json<MetricsRefreshStatus>, ApiError> {
    let (db_id, _) = metrics_db(&state, params.db_id.as_deref(), params.table.as_deref())?;
    Ok(Json(state.metrics_refreshes.status(&db_id)))
}

/// Agno's shapes: every owner's rows summed per day, or one owner's with
/// their owner-named ids (the unowned bucket: `user_id=`).
fn shaped(rows: Vec<MetricsRow>, user: Option<&str>) -> Vec<DayAggregatedMetrics> {
    let rows = match user {
        None => aggregate_by_date(rows),
        Some(user) => identify_by_owner(rows, user),
    };
    rows.into_iter().map(DayAggregatedMetrics::from).collect()
}

/// A query's date, or FastAPI's 422.
fn date(name: &str, value: Option<&str>) -> Result<Option<Day>, ApiError> {
    match value {
        None | Some("") => Ok(None),
        Some(text) => Day::parse(text).map(Some).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{name}: input should be a valid date (YYYY-MM-DD), got {text:?}"),
            )
        }),
    }
}

/// The store a metrics route names, with Agno's refusals.
fn metrics_db(
    state: &AppState,
    db_id: Option<&str>,
    table: Option<&str>,
) -> Result<(String, Arc<dyn Db>), ApiError> {
    if table.is_some() && db_id.is_none() {
        return Err(ApiError::bad_request(
            "The db_id query parameter is required when passing a table",
        ));
    }
    let (id, db) = match db_id {
        Some(id) => state
            .dbs
            .iter()
            .find(|(known, _)| known == id)
            .ok_or_else(|| ApiError::not_found(format!("No database found with id '{id}'")))?,
        None => match state.dbs.as_slice() {
            [] => {
                return Err(ApiError::bad_request(
                    "No database is configured on this AgentOS",
                ));
            }
            [one] => one,
            _ => {
                return Err(ApiError::bad_request(
                    "The db_id query parameter is required when using multiple databases",
                ));
            }
        },
    };
    if let Some(table) = table
        && table != METRICS_TABLE
    {
        return Err(ApiError::not_found(format!(
            "No database with id '{id}' has table '{table}'"
        )));
    }
    Ok((id.clone(), db.clone()))
}

/// A store that failed: down is a 503 (with Retry-After), else Agno's 500.
fn failed(what: &str, error: DbError) -> ApiError {
    match error {
        down @ (DbError::Unavailable(_) | DbError::Conflict(_)) => ApiError::from(down),
        other => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{what}: {other}"),
        ),
    }
}
