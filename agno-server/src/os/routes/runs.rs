//! `POST /agents/{id}/runs`: run an agent, answering JSON or SSE.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::os::error::{ApiError, ApiResult};
use crate::os::form::read_run_form;
use crate::os::sse;
use crate::os::state::AppState;

/// `POST /agents/{id}/runs`.
///
/// The run is carried out on its own task: a client that leaves does not
/// cut it short, and the stored session is always whole. Background hooks
/// never delay the answer: the JSON is sent (or the stream ends) when the
/// inline hooks are done.
pub async fn create(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
    request: Request,
) -> ApiResult<Response> {
    let agent = state.agent(&agent_id)?.clone();
    if state.is_shutting_down() {
        return Err(ApiError::unavailable("the server is shutting down"));
    }
    let form = read_run_form(request, &state.limits, &state.body_budget).await?;
    tracing::info!(agent = ?agent_id, stream = form.stream, "run requested");
    if form.stream {
        let events = agent.run_stream_tracked(form.request, &state.runs);
        return Ok(sse::response(events).into_response());
    }
    let run = state
        .runs
        .spawn(async move { agent.run(form.request).await }.in_current_span());
    let output = run.await.map_err(|e| ApiError::internal(&e))??;
    tracing::info!(run_id = %output.run_id, status = %output.status.as_str(), "run finished");
    Ok(Json(output).into_response())
}
