//! The sessions routes: list, read, rename and delete sessions and read
//! their runs, in Agno's shapes.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hooks_core::RunOutput;
use serde::Deserialize;

use crate::db::{Db, SessionQuery};
use crate::os::caller::Caller;
use crate::os::error::{ApiError, ApiResult};
use crate::os::extract::{ApiJson, ApiQuery};
use crate::os::form;
use crate::os::runs_body;
use crate::os::state::AppState;
use crate::os::wire::{PageInfo, RunSchema, SessionDetail, SessionPage, SessionSummary};

/// The most runs `GET /sessions/{id}/runs` answers at once (Agno has no
/// limit: a long session of large runs was one body of hundreds of MB).
pub const MAX_RUNS_PAGE: usize = 1000;

/// `?limit=&page=&db_id=` of `GET /sessions/{id}/runs`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsParams {
    /// Runs per page (1 to [`MAX_RUNS_PAGE`], default the most).
    pub limit: Option<usize>,
    /// The page, from 1 (default 1): runs in order, oldest first.
    pub page: Option<usize>,
    /// The store to use (the first one when absent).
    pub db_id: Option<String>,
    /// Only when the session is this user's (else 404, as Agno).
    pub user_id: Option<String>,
}

/// `?db_id=&user_id=` on every sessions route.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DbParam {
    /// The store to use (the first one when absent).
    pub db_id: Option<String>,
    /// Only this user's session (another user's answers 404, as if it did
    /// not exist; as Agno scopes it).
    pub user_id: Option<String>,
}

/// Whether `session` is visible to a caller that named `user_id` (none
/// named: every session is).
fn visible(session: &crate::db::SessionRecord, user_id: Option<&str>) -> bool {
    user_id.is_none_or(|user| session.user_id.as_deref() == Some(user))
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

fn run(run: &RunOutput) -> RunSchema<'_> {
    RunSchema::from(run)
}

/// `GET /sessions`: filters `type`, `component_id`, `user_id`,
/// `session_name`; paging `limit`, `page`; `sort_by`, `sort_order`.
#[utoipa::path(get, path = "/sessions", tag = "Sessions", summary = "List sessions",
    params(
        ("type" = Option<String>, Query, description = "agent, team or workflow (default agent)"),
        ("component_id" = Option<String>, Query, description = "Only this agent's sessions"),
        ("session_name" = Option<String>, Query, description = "Names containing this text"),
        ("limit" = Option<u32>, Query, description = "Sessions per page (default 20, at most 1000)"),
        ("page" = Option<u32>, Query, description = "The page, from 1"),
        ("sort_by" = Option<String>, Query, description = "created_at, updated_at (default) or session_name"),
        ("sort_order" = Option<String>, Query, description = "asc or desc (default)"),
        DbParam),
    responses((status = 200, description = "A page of sessions", body = SessionPage)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<DbParam>,
    ApiQuery(mut filters): ApiQuery<SessionQuery>,
) -> ApiResult<Json<SessionPage>> {
    filters.user_id = caller.scope(filters.user_id)?;
    let started = std::time::Instant::now();
    let page = db(&state, &params)?.list_sessions(filters).await?;
    Ok(Json(SessionPage {
        data: page.sessions.iter().map(SessionSummary::from).collect(),
        meta: PageInfo::new(
            page.page.into(),
            page.limit.into(),
            page.total_count,
            started,
        ),
    }))
}

/// The body of `DELETE /sessions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DeleteSessions {
    /// The sessions to delete.
    pub session_ids: Vec<String>,
}

/// `DELETE /sessions`: deletes the listed sessions and their runs.
#[utoipa::path(delete, path = "/sessions", tag = "Sessions", summary = "Delete sessions and their runs",
    params(DbParam), request_body = DeleteSessions,
    responses((status = 204, description = "Deleted")))]
pub async fn delete_many(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(mut params): ApiQuery<DbParam>,
    ApiJson(request): ApiJson<DeleteSessions>,
) -> ApiResult<StatusCode> {
    params.user_id = caller.scope(params.user_id)?;
    let ids = request
        .session_ids
        .into_iter()
        .map(checked_id)
        .collect::<ApiResult<Vec<_>>>()?;
    db(&state, &params)?
        .delete_sessions(ids, params.user_id.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /sessions/{id}`.
#[utoipa::path(get, path = "/sessions/{session_id}", tag = "Sessions", summary = "One session with its history",
    params(("session_id" = String, Path, description = "The session's id"), DbParam),
    responses((status = 200, description = "Agno's AgentSessionDetailSchema", body = SessionDetail)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<String>,
    ApiQuery(mut params): ApiQuery<DbParam>,
) -> ApiResult<Response> {
    params.user_id = caller.scope(params.user_id)?;
    let session_id = checked_id(session_id)?;
    let db = db(&state, &params)?;
    let session = db
        .get_session(&session_id)
        .await?
        .filter(|s| visible(s, params.user_id.as_deref()))
        .ok_or_else(|| session_not_found(&session_id))?;
    detail(db, &session)
}

/// The detail of `session` as a response, its chat history streamed
/// from the store a few runs at a time (see `os/runs_body.rs`).
fn detail(db: &Arc<dyn Db>, session: &crate::db::SessionRecord) -> ApiResult<Response> {
    let head = SessionDetail::new(session, &[]);
    let body = runs_body::session_detail(db.clone(), session.session_id.clone(), &head)
        .map_err(|e| ApiError::internal(&e))?;
    Ok(json_response(body))
}

/// A 200 with a JSON `body`.
fn json_response(body: axum::body::Body) -> Response {
    ([(http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `DELETE /sessions/{id}`.
#[utoipa::path(delete, path = "/sessions/{session_id}", tag = "Sessions", summary = "Delete a session and its runs",
    params(("session_id" = String, Path, description = "The session's id"), DbParam),
    responses((status = 204, description = "Deleted")))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<String>,
    ApiQuery(mut params): ApiQuery<DbParam>,
) -> ApiResult<StatusCode> {
    params.user_id = caller.scope(params.user_id)?;
    let session_id = checked_id(session_id)?;
    if db(&state, &params)?
        .delete_session(&session_id, params.user_id.as_deref())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(session_not_found(&session_id))
    }
}

/// `GET /sessions/{id}/runs`.
#[utoipa::path(get, path = "/sessions/{session_id}/runs", tag = "Sessions", summary = "A session's runs, oldest first",
    params(("session_id" = String, Path, description = "The session's id"), RunsParams),
    responses((status = 200, description = "Agno's RunSchema for each run of the page", body = Vec<RunSchema>)))]
pub async fn runs(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<String>,
    ApiQuery(mut params): ApiQuery<RunsParams>,
) -> ApiResult<Response> {
    params.user_id = caller.scope(params.user_id)?;
    let session_id = checked_id(session_id)?;
    let limit = params.limit.unwrap_or(MAX_RUNS_PAGE);
    if !(1..=MAX_RUNS_PAGE).contains(&limit) || params.page == Some(0) {
        return Err(ApiError::bad_request(format!(
            "limit must be between 1 and {MAX_RUNS_PAGE}, and page at least 1"
        )));
    }
    let db = state.db(params.db_id.as_deref())?;
    let found = db.get_session(&session_id).await?;
    if !found.is_some_and(|s| visible(&s, params.user_id.as_deref())) {
        // Agno's words on this route.
        return Err(ApiError::not_found(format!(
            "Session with ID {session_id} not found"
        )));
    }
    let page = params.page.unwrap_or(1);
    let offset = (limit as u64).saturating_mul(page as u64 - 1);
    Ok(json_response(runs_body::runs_array(
        db.clone(),
        session_id,
        offset,
        limit,
    )))
}

/// `GET /sessions/{id}/runs/{run_id}`.
#[utoipa::path(get, path = "/sessions/{session_id}/runs/{run_id}", tag = "Sessions", summary = "One run of a session",
    params(("session_id" = String, Path, description = "The session's id"),
        ("run_id" = String, Path, description = "The run's id"), DbParam),
    responses((status = 200, description = "Agno's RunSchema", body = RunSchema)))]
pub async fn get_run(
    State(state): State<AppState>,
    caller: Caller,
    Path((session_id, run_id)): Path<(String, String)>,
    ApiQuery(mut params): ApiQuery<DbParam>,
) -> ApiResult<Response> {
    params.user_id = caller.scope(params.user_id)?;
    let session_id = checked_id(session_id)?;
    let db = db(&state, &params)?;
    if let Some(user_id) = params.user_id.as_deref() {
        let found = db.get_session(&session_id).await?;
        if !found.is_some_and(|s| visible(&s, Some(user_id))) {
            return Err(ApiError::not_found(format!(
                "Session with ID {session_id} not found"
            )));
        }
    }
    match db.get_run(&run_id).await? {
        Some(found) if found.session_id.as_deref() == Some(session_id.as_str()) => {
            Ok(Json(run(&found)).into_response())
        }
        _ => Err(ApiError::not_found(format!(
            "Run with id '{run_id}' not found in session '{session_id}'"
        ))),
    }
}

/// The body of `POST /sessions/{id}/rename`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Rename {
    /// The new name.
    pub session_name: String,
}

/// `POST /sessions/{id}/rename`: returns the renamed session.
#[utoipa::path(post, path = "/sessions/{session_id}/rename", tag = "Sessions", summary = "Rename a session",
    params(("session_id" = String, Path, description = "The session's id"), DbParam),
    request_body = Rename,
    responses((status = 200, description = "The renamed session", body = SessionDetail)))]
pub async fn rename(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<String>,
    ApiQuery(mut params): ApiQuery<DbParam>,
    ApiJson(request): ApiJson<Rename>,
) -> ApiResult<Response> {
    params.user_id = caller.scope(params.user_id)?;
    let session_id = checked_id(session_id)?;
    if request.session_name.trim().is_empty() || request.session_name.len() > 1024 {
        return Err(ApiError::bad_request(
            "session_name must be between 1 and 1024 bytes",
        ));
    }
    let db = db(&state, &params)?;
    let session = db
        .rename_session(
            &session_id,
            &request.session_name,
            params.user_id.as_deref(),
        )
        .await?
        .ok_or_else(|| session_not_found(&session_id))?;
    detail(db, &session)
}
