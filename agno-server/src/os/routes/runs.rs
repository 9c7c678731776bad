//! `POST /agents/{id}/runs`: run an agent, answering JSON or SSE.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::os::caller::Caller;
use crate::os::error::{ApiError, ApiResult};
use crate::os::extract::{RunFormBody, RunTarget};
use crate::os::sse;
use crate::os::state::AppState;
use crate::os::wire::{Accepted, Empty, ErrorBody, RunFormFields};

/// `POST /agents/{id}/runs`.
///
/// The run is carried out on its own task: a client that leaves does not
/// cut it short, and the stored session is always whole. Background hooks
/// never delay the answer: the JSON is sent (or the stream ends) when the
/// inline hooks are done. With a JWT, the run is the token's user's and
/// its hooks see the token's identity (`&Identity`).
#[utoipa::path(post, path = "/agents/{agent_id}/runs", tag = "Agents", summary = "Run an agent",
    params(("agent_id" = String, Path, description = "The agent's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "With background=true: the same key gives the same run (at most 512 characters)")),
    request_body(content(
        (RunFormFields = "multipart/form-data"),
        (RunFormFields = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The run (Agno's RunOutput) with stream=false, or its events with stream=true", content(
            (hooks_core::RunOutput = "application/json"),
            ("text/event-stream"))),
        (status = 202, description = "background=true: accepted; poll GET /agents/{agent_id}/runs/{run_id}", body = Accepted),
        (status = 429, description = "background=true: the queue is full", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    RunTarget(agent): RunTarget,
    headers: HeaderMap,
    RunFormBody(mut form): RunFormBody,
) -> ApiResult<Response> {
    let user_id = caller.run_user(form.request.user_id.take())?;
    form.request.identity = caller.identity(user_id.clone());
    form.request.user_id = user_id;
    let agent_id = agent.id();
    // One line per run at the default level, when it ends (an access
    // log's worth); this one only for debugging (a line costs a run about
    // 10 k instructions to format).
    tracing::debug!(agent = ?agent_id, stream = form.stream, background = form.background, "run requested");
    if form.background {
        if form.stream {
            return Err(ApiError::bad_request(
                "background=true with stream=true (a resumable stream) is not supported by this server: \
                 send stream=false, then poll GET /agents/{agent_id}/runs/{run_id}",
            ));
        }
        let idempotency_key = idempotency_key(headers.get("idempotency-key"))?;
        let submitted = agent.submit(form.request, idempotency_key).await?;
        tracing::info!(run_id = %submitted.run_id, "background run accepted");
        return Ok((StatusCode::ACCEPTED, Json(Accepted::from(submitted))).into_response());
    }
    if form.stream {
        // Refused with a status before the stream starts (its 200 would be
        // sent already when the run's own check refuses it).
        agent.admit().await?;
        agent.check_session_writable(&form.request).await?;
        let events = agent.run_stream_tracked(form.request, &state.runs);
        return Ok(sse::response(events).into_response());
    }
    // Boxed: the task then holds a pointer, not the run's whole state
    // machine (kilobytes, copied at every move into and within the task).
    let run = state.runs.spawn(Box::pin(
        async move { agent.run(form.request).await }.in_current_span(),
    ));
    let output = run.await.map_err(|e| ApiError::internal(&e))??;
    tracing::info!(agent = ?output.agent_id, run_id = %output.run_id, status = %output.status.as_str(), "run finished");
    Ok(Json(output).into_response())
}

/// The most characters of an `Idempotency-Key` (Agno's limit).
pub const MAX_IDEMPOTENCY_KEY: usize = 512;

/// A background run's `Idempotency-Key` header, if any (empty: none);
/// over 512 characters, or not text, is Agno's 422. Agno reads it only
/// for `background=true`: a plain run ignores it.
fn idempotency_key(value: Option<&http::HeaderValue>) -> ApiResult<Option<String>> {
    let Some(value) = value else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Idempotency-Key must be text",
        )
    })?;
    if key.chars().count() > MAX_IDEMPOTENCY_KEY {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters"),
        ));
    }
    Ok((!key.is_empty()).then(|| key.to_owned()))
}

/// `POST /agents/{id}/runs/{run_id}/cancel`: a queued background run is
/// cancelled at once; a run under way in this process stops at its next
/// step and ends `CANCELLED`. Always 200 `{}`, as Agno answers (also for
/// a finished or unknown run), except under user isolation: a run that is
/// not the caller's (or not known to be) is 404 `Run not found`.
#[utoipa::path(post, path = "/agents/{agent_id}/runs/{run_id}/cancel", tag = "Agents", summary = "Cancel a run",
    params(("agent_id" = String, Path, description = "The agent's id"),
        ("run_id" = String, Path, description = "The run's id")),
    responses((status = 200, description = "Always `{}`, as Agno answers", body = Empty)))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path((agent_id, run_id)): Path<(String, String)>,
) -> ApiResult<Json<Empty>> {
    let agent = state.agent(&agent_id)?;
    let found = match caller.scope(None)? {
        None => agent.cancel(&run_id).await?,
        Some(user) => agent
            .cancel_for(&run_id, &user)
            .await?
            .ok_or_else(|| ApiError::not_found("Run not found"))?,
    };
    tracing::info!(run_id = %run_id.escape_debug(), found, "cancel requested");
    Ok(Json(Empty {}))
}
