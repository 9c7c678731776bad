//! The sessions routes: list, read, rename and delete sessions and read
//! their runs, in Agno's shapes.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hooks_core::RunOutput;
use serde::Deserialize;
use serde_json::{Value, json};

use super::query;
use crate::db::{Db, SessionQuery, SessionRecord};
use crate::os::error::{ApiError, ApiResult};
use crate::os::form;
use crate::os::state::AppState;

/// The most runs `GET /sessions/{id}/runs` answers at once (Agno has no
/// limit: a long session of large runs was one body of hundreds of MB).
pub const MAX_RUNS_PAGE: usize = 1000;

/// `?limit=&page=&db_id=` of `GET /sessions/{id}/runs`.
#[derive(Debug, Default, Deserialize)]
pub struct RunsParams {
    /// Runs per page (1 to [`MAX_RUNS_PAGE`], default the most).
    pub limit: Option<usize>,
    /// The page, from 1 (default 1): runs in order, oldest first.
    pub page: Option<usize>,
    /// The store to use (the first one when absent).
    pub db_id: Option<String>,
}

/// `?db_id=` on every sessions route.
#[derive(Debug, Default, Deserialize)]
pub struct DbParam {
    /// The store to use (the first one when absent).
    pub db_id: Option<String>,
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    body.map(|Json(b)| b)
        .map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))
}

fn db<'a>(state: &'a AppState, params: &DbParam) -> ApiResult<&'a Arc<dyn Db>> {
    state.db(params.db_id.as_deref())
}

fn checked_id(session_id: String) -> ApiResult<String> {
    form::session_id(session_id)
}

fn session_not_found(session_id: &str) -> ApiError {
    ApiError::not_found(format!("Session with id '{session_id}' not found"))
}

/// A session as Agno's `SessionSchema` (list entries).
fn summary(session: &SessionRecord) -> Value {
    json!({
        "session_id": session.session_id,
        "session_name": session.session_name.clone().unwrap_or_default(),
        "session_state": session.session_state,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
    })
}

/// A session as Agno's `AgentSessionDetailSchema`.
fn detail(session: &SessionRecord, runs: &[RunOutput]) -> Value {
    let total_tokens: u64 = runs
        .iter()
        .filter_map(|r| r.metrics.as_ref())
        .map(|m| m.total_tokens)
        .sum();
    let chat_history: Vec<&hooks_core::Message> = runs
        .iter()
        .flat_map(|r| r.messages.iter())
        .filter(|m| !m.from_history)
        .collect();
    json!({
        "user_id": session.user_id,
        "agent_session_id": session.session_id,
        "session_id": session.session_id,
        "session_type": session.session_type,
        "session_name": session.session_name.clone().unwrap_or_default(),
        "session_summary": session.summary,
        "session_state": session.session_state,
        "agent_id": session.agent_id,
        "total_tokens": total_tokens,
        "agent_data": session.agent_data,
        "metadata": session.metadata,
        "chat_history": chat_history,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
    })
}

/// A run as Agno's `RunSchema`: the stored run plus `run_input`.
fn run(run: &RunOutput) -> ApiResult<Value> {
    let mut value = serde_json::to_value(run).map_err(|e| ApiError::internal(&e))?;
    if let (Some(map), Some(input)) = (value.as_object_mut(), &run.input) {
        map.insert("run_input".into(), input.input_content.clone().into());
    }
    Ok(value)
}

/// `GET /sessions`: filters `type`, `component_id`, `user_id`,
/// `session_name`; paging `limit`, `page`; `sort_by`, `sort_order`.
pub async fn list(
    State(state): State<AppState>,
    params: Result<Query<DbParam>, QueryRejection>,
    filters: Result<Query<SessionQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let params = query(params)?;
    let filters = query(filters)?;
    let page = db(&state, &params)?.list_sessions(filters).await?;
    Ok(Json(json!({
        "data": page.sessions.iter().map(summary).collect::<Vec<_>>(),
        "meta": {
            "page": page.page,
            "limit": page.limit,
            "total_pages": page.total_pages,
            "total_count": page.total_count,
        },
    })))
}

/// The body of `DELETE /sessions`.
#[derive(Debug, Deserialize)]
pub struct DeleteSessions {
    /// The sessions to delete.
    pub session_ids: Vec<String>,
}

/// `DELETE /sessions`: deletes the listed sessions and their runs.
pub async fn delete_many(
    State(state): State<AppState>,
    params: Result<Query<DbParam>, QueryRejection>,
    request: Result<Json<DeleteSessions>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let params = query(params)?;
    let request = body(request)?;
    let ids = request
        .session_ids
        .into_iter()
        .map(checked_id)
        .collect::<ApiResult<Vec<_>>>()?;
    db(&state, &params)?.delete_sessions(ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /sessions/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    params: Result<Query<DbParam>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let params = query(params)?;
    let session_id = checked_id(session_id)?;
    let db = db(&state, &params)?;
    let session = db
        .get_session(&session_id)
        .await?
        .ok_or_else(|| session_not_found(&session_id))?;
    let runs = db.get_runs(&session_id).await?;
    Ok(Json(detail(&session, &runs)))
}

/// `DELETE /sessions/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    params: Result<Query<DbParam>, QueryRejection>,
) -> ApiResult<StatusCode> {
    let params = query(params)?;
    let session_id = checked_id(session_id)?;
    if db(&state, &params)?.delete_session(&session_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(session_not_found(&session_id))
    }
}

/// `GET /sessions/{id}/runs`.
pub async fn runs(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    params: Result<Query<RunsParams>, QueryRejection>,
) -> ApiResult<Json<Vec<Value>>> {
    let params = query(params)?;
    let session_id = checked_id(session_id)?;
    let limit = params.limit.unwrap_or(MAX_RUNS_PAGE);
    if !(1..=MAX_RUNS_PAGE).contains(&limit) || params.page == Some(0) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_RUNS_PAGE}, and page at least 1"
        )));
    }
    let db = state.db(params.db_id.as_deref())?;
    if db.get_session(&session_id).await?.is_none() {
        return Err(session_not_found(&session_id));
    }
    let runs = db
        .get_runs_page(&session_id, limit, params.page.unwrap_or(1))
        .await?;
    Ok(Json(runs.iter().map(run).collect::<ApiResult<_>>()?))
}

/// `GET /sessions/{id}/runs/{run_id}`.
pub async fn get_run(
    State(state): State<AppState>,
    Path((session_id, run_id)): Path<(String, String)>,
    params: Result<Query<DbParam>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let params = query(params)?;
    let session_id = checked_id(session_id)?;
    match db(&state, &params)?.get_run(&run_id).await? {
        Some(found) if found.session_id.as_deref() == Some(session_id.as_str()) => {
            Ok(Json(run(&found)?))
        }
        _ => Err(ApiError::not_found(format!(
            "Run with id '{run_id}' not found in session '{session_id}'"
        ))),
    }
}

/// The body of `POST /sessions/{id}/rename`.
#[derive(Debug, Deserialize)]
pub struct Rename {
    /// The new name.
    pub session_name: String,
}

/// `POST /sessions/{id}/rename`: returns the renamed session.
pub async fn rename(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    params: Result<Query<DbParam>, QueryRejection>,
    request: Result<Json<Rename>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let params = query(params)?;
    let session_id = checked_id(session_id)?;
    let request = body(request)?;
    if request.session_name.trim().is_empty() || request.session_name.len() > 1024 {
        return Err(ApiError::bad_request(
            "session_name must be between 1 and 1024 bytes",
        ));
    }
    let db = db(&state, &params)?;
    let session = db
        .rename_session(&session_id, &request.session_name)
        .await?
        .ok_or_else(|| session_not_found(&session_id))?;
    let runs = db.get_runs(&session_id).await?;
    Ok(Json(detail(&session, &runs)))
}
