//! `GET /traces`, `GET /traces/{trace_id}`, `GET /trace_session_stats`:
//! the traces `AgentOS::builder().tracing(true)` stores, in Agno's shapes
//! (`agno/os/routers/traces/traces.py`).

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::db::{Compare, SessionStatsQuery, TraceColumn, TraceFilter, TraceQuery};
use crate::os::caller::Caller;
use crate::os::error::ApiError;
use crate::os::extract::{ApiJson, ApiQuery};
use crate::os::state::AppState;
use crate::os::trace_filter::{self, FilterSchema};
use crate::os::traces_wire::{
    PageMeta, TraceDetail, TraceNode, TracePage, TraceSessionStats, TraceSummary, detail, node,
};

/// The most items a page holds.
const MAX_LIMIT: u32 = 1000;

/// `GET /traces`' query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TracesParams {
    /// Traces of this run.
    pub run_id: Option<String>,
    /// Of this session.
    pub session_id: Option<String>,
    /// Of this user (under JWT isolation, always the token's).
    pub user_id: Option<String>,
    /// Of this agent.
    pub agent_id: Option<String>,
    /// Of this team.
    pub team_id: Option<String>,
    /// Of this workflow.
    pub workflow_id: Option<String>,
    /// `OK` or `ERROR`.
    pub status: Option<String>,
    /// Starting at or after (ISO 8601).
    pub start_time: Option<String>,
    /// Ending at or before (ISO 8601).
    pub end_time: Option<String>,
    /// From 1 (default 1).
    pub page: Option<u32>,
    /// Per page (default 20, at most 1000).
    pub limit: Option<u32>,
    /// The store (the first one when absent).
    pub db_id: Option<String>,
}

/// `GET /traces/{trace_id}`'s query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TraceParams {
    /// One span of the trace, without its children (Agno's `run_id` is
    /// read only without a trace id, so never: it is not taken here).
    pub span_id: Option<String>,
    /// The store.
    pub db_id: Option<String>,
}

/// `GET /trace_session_stats`' query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// Of this user (under JWT isolation, always the token's).
    pub user_id: Option<String>,
    /// Of this agent.
    pub agent_id: Option<String>,
    /// Of this team.
    pub team_id: Option<String>,
    /// Of this workflow.
    pub workflow_id: Option<String>,
    /// Traces created at or after (ISO 8601).
    pub start_time: Option<String>,
    /// Traces created at or before (ISO 8601).
    pub end_time: Option<String>,
    /// From 1.
    pub page: Option<u32>,
    /// Per page (default 20, at most 1000).
    pub limit: Option<u32>,
    /// The store.
    pub db_id: Option<String>,
}

/// An ISO 8601 time as stored; Agno answers a bad one with a 500 (its
/// bug), here a 400 with Agno's words.
fn stored_time(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    trace_filter::stored_time(&value).map(Some).ok_or_else(|| {
        ApiError::bad_request(format!(
            "Invalid {name} format. Use ISO 8601 format (e.g., '2025-11-19T10:00:00Z' or '2025-11-19T15:30:00+05:30')"
        ))
    })
}

fn paging(page: Option<u32>, limit: Option<u32>) -> Result<(u32, u32), ApiError> {
    let limit = limit.unwrap_or(20);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    // Agno takes page 0 as page 1.
    Ok((page.unwrap_or(1).max(1), limit))
}

fn store_failed(error: crate::db::DbError) -> ApiError {
    ApiError::from(error)
}

/// `GET /traces`: the traces, newest first.
#[utoipa::path(get, path = "/traces", tag = "Traces", summary = "List traces",
    params(TracesParams),
    responses(
        (status = 200, description = "A page of traces", body = TracePage<TraceSummary>),
        (status = 400, description = "A time that is not ISO 8601"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<TracesParams>,
) -> Result<Json<TracePage<TraceSummary>>, ApiError> {
    let started = Instant::now();
    let (page, limit) = paging(params.page, params.limit)?;
    let query = TraceQuery {
        run_id: params.run_id,
        session_id: params.session_id,
        user_id: caller.scope(params.user_id)?,
        agent_id: params.agent_id,
        team_id: params.team_id,
        workflow_id: params.workflow_id,
        status: params.status,
        start_time: stored_time("start_time", params.start_time)?,
        end_time: stored_time("end_time", params.end_time)?,
        filter: None,
        page,
        limit,
    };
    let db = state.db(params.db_id.as_deref())?;
    let (rows, total) = db.list_traces(query).await.map_err(store_failed)?;
    Ok(Json(TracePage {
        data: rows.iter().map(TraceSummary::from).collect(),
        meta: PageMeta::new(page, limit, total, started.elapsed().as_secs_f64() * 1000.0),
    }))
}

/// A trace's detail, or one of its spans.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum TraceAnswer {
    /// The trace and its tree.
    Trace(Box<TraceDetail>),
    /// One span (`?span_id=`), without its children.
    Span(Box<TraceNode>),
}

/// `GET /traces/{trace_id}`: the trace with its tree of spans, or one span.
#[utoipa::path(get, path = "/traces/{trace_id}", tag = "Traces", summary = "Get a trace",
    params(("trace_id" = String, Path, description = "The trace"), TraceParams),
    responses(
        (status = 200, description = "The trace (or the span asked for)", body = TraceAnswer),
        (status = 404, description = "Trace not found, Span not found"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(trace_id): Path<String>,
    ApiQuery(params): ApiQuery<TraceParams>,
) -> Result<Json<TraceAnswer>, ApiError> {
    let user = caller.scope(None)?;
    let db = state.db(params.db_id.as_deref())?;
    let not_found = || ApiError::not_found("Trace not found");
    let (trace, spans) = db
        .get_trace(&trace_id)
        .await
        .map_err(store_failed)?
        .ok_or_else(not_found)?;
    // Under isolation another user's trace does not exist.
    if user.is_some() && trace.user_id != user {
        return Err(not_found());
    }
    if let Some(span_id) = params.span_id {
        let span = spans
            .iter()
            .find(|s| s.span_id == span_id)
            .ok_or_else(|| ApiError::not_found("Span not found"))?;
        return Ok(Json(TraceAnswer::Span(Box::new(node(span, None)))));
    }
    Ok(Json(TraceAnswer::Trace(Box::new(detail(&trace, &spans)))))
}

/// `GET /trace_session_stats`: sessions with traces, latest first.
#[utoipa::path(get, path = "/trace_session_stats", tag = "Traces", summary = "Trace statistics by session",
    params(StatsParams),
    responses(
        (status = 200, description = "A page of sessions", body = TracePage<TraceSessionStats>),
        (status = 400, description = "A time that is not ISO 8601"),
    ))]
pub async fn session_stats(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<StatsParams>,
) -> Result<Json<TracePage<TraceSessionStats>>, ApiError> {
    let started = Instant::now();
    let (page, limit) = paging(params.page, params.limit)?;
    let query = SessionStatsQuery {
        user_id: caller.scope(params.user_id)?,
        agent_id: params.agent_id,
        team_id: params.team_id,
        workflow_id: params.workflow_id,
        start_time: stored_time("start_time", params.start_time)?,
        end_time: stored_time("end_time", params.end_time)?,
        filter: None,
        page,
        limit,
    };
    let db = state.db(params.db_id.as_deref())?;
    let (rows, total) = db.trace_session_stats(query).await.map_err(store_failed)?;
    Ok(Json(TracePage {
        data: rows.into_iter().map(TraceSessionStats::from).collect(),
        meta: PageMeta::new(page, limit, total, started.elapsed().as_secs_f64() * 1000.0),
    }))
}

/// `GET /traces/filter-schema`: the fields a search may name, for Agno's
/// filter bar.
#[utoipa::path(get, path = "/traces/filter-schema", tag = "Traces", summary = "Get Trace Filter Schema",
    responses((status = 200, description = "The fields, their operators and values", body = FilterSchema)))]
pub async fn filter_schema() -> Json<FilterSchema> {
    Json(trace_filter::schema())
}

/// How `POST /traces/search` groups what it finds.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// Each trace with its tree (`TraceDetail`).
    #[default]
    Run,
    /// Each session's stats (`TraceSessionStats`).
    Session,
}

/// `POST /traces/search`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SearchRequest {
    /// Agno's `FilterExpr` as JSON (`{"op":"EQ","key":"status","value":"OK"}`,
    /// `AND`/`OR` with `conditions`, `NOT` with `condition`, `IN` with `values`).
    #[serde(default)]
    pub filter: Option<serde_json::Value>,
    /// `run` (default) or `session`.
    #[serde(default)]
    pub group_by: GroupBy,
    /// From 1.
    #[serde(default)]
    pub page: Option<i64>,
    /// 1 to 100 (default 20).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// `POST /traces/search`'s query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The store.
    pub db_id: Option<String>,
}

/// What a search finds, by its grouping.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SearchAnswer {
    /// `group_by: run`.
    Runs(TracePage<TraceDetail>),
    /// `group_by: session`.
    Sessions(TracePage<TraceSessionStats>),
}

/// The most a search's page holds (Agno's).
const MAX_SEARCH_LIMIT: i64 = 100;

/// `POST /traces/search`: traces (with their trees) or sessions matching
/// an expression over the trace's columns.
#[utoipa::path(post, path = "/traces/search", tag = "Traces", summary = "Search traces",
    params(SearchParams),
    request_body = SearchRequest,
    responses(
        (status = 200, description = "A page of traces or sessions", body = SearchAnswer),
        (status = 400, description = "Invalid filter expression: why"),
        (status = 422, description = "A page below 1, a limit outside 1 to 100"),
    ))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<SearchParams>,
    ApiJson(body): ApiJson<SearchRequest>,
) -> Result<Json<SearchAnswer>, ApiError> {
    let started = Instant::now();
    let page = body.page.unwrap_or(1);
    let limit = body.limit.unwrap_or(20);
    if page < 1 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "page must be at least 1",
        ));
    }
    if !(1..=MAX_SEARCH_LIMIT).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("limit must be between 1 and {MAX_SEARCH_LIMIT}"),
        ));
    }
    let (page, limit) = (u32::try_from(page).unwrap_or(u32::MAX), limit as u32);
    let mut filter = match body.filter.as_ref().filter(|f| !f.is_null()) {
        Some(expr) => Some(
            trace_filter::parse(expr)
                .map_err(|e| ApiError::bad_request(format!("Invalid filter expression: {e}")))?,
        ),
        None => None,
    };
    // A scoped caller sees only the token's user's traces.
    if let Some(user) = caller.scope(None)? {
        let mine = TraceFilter::Text(TraceColumn::UserId, Compare::Eq, user);
        filter = Some(match filter {
            Some(f) => TraceFilter::And(vec![f, mine]),
            None => mine,
        });
    }
    let db = state.db(params.db_id.as_deref())?;
    let meta = |total| PageMeta::new(page, limit, total, started.elapsed().as_secs_f64() * 1000.0);
    match body.group_by {
        GroupBy::Session => {
            let query = SessionStatsQuery {
                filter,
                page,
                limit,
                ..SessionStatsQuery::default()
            };
            let (rows, total) = db.trace_session_stats(query).await.map_err(store_failed)?;
            Ok(Json(SearchAnswer::Sessions(TracePage {
                data: rows.into_iter().map(TraceSessionStats::from).collect(),
                meta: meta(total),
            })))
        }
        GroupBy::Run => {
            let query = TraceQuery {
                filter,
                page,
                limit,
                ..TraceQuery::default()
            };
            let (rows, total) = db.list_traces(query).await.map_err(store_failed)?;
            let mut data = Vec::with_capacity(rows.len());
            for row in rows {
                // A trace deleted between the two reads is left out.
                if let Some((trace, spans)) =
                    db.get_trace(&row.trace_id).await.map_err(store_failed)?
                {
                    data.push(detail(&trace, &spans));
                }
            }
            Ok(Json(SearchAnswer::Runs(TracePage {
                data,
                meta: meta(total),
            })))
        }
    }
}
