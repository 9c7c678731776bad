//! The routes' extractors, in axum's idiom: each rejects with the API's
//! own error (`{"detail": ...}` and the right 4xx), so a handler takes
//! its inputs by type and never converts a rejection by hand.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::form::{self, RunForm};
use super::limits::Reservation;
use super::state::AppState;

/// A query string as `T`, or 400 with axum's reason.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// A JSON body as `T`: read whole first, at most
/// [`Limits::max_json_body_bytes`](super::Limits::max_json_body_bytes)
/// (else 413) within the body timeout (else 408), its bytes charged to
/// the shared budget while they arrive (else 503); then parsed as axum's
/// `Json` does (415 without a JSON content type, 400 or 422 for a bad
/// body).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let json = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == mime::APPLICATION
                    && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Expected request with `Content-Type: application/json`",
            ));
        }
        let limits = &state.limits;
        let mut reservation = Reservation::new(&state.body_budget);
        let read = form::read_body(
            request.into_body(),
            limits.max_json_body_bytes,
            limits,
            &mut reservation,
        );
        let bytes = tokio::time::timeout(limits.body_read_timeout, read)
            .await
            .map_err(|_| form::body_timeout(limits))??;
        Json::<T>::from_bytes(&bytes)
            .map(|Json(body)| ApiJson(body))
            .map_err(|rejection: JsonRejection| {
                ApiError::new(rejection.status(), rejection.body_text())
            })
    }
}

/// The form of `POST /agents/{id}/runs` (multipart or urlencoded), read
/// within the body timeout and the shared byte budget (see `form.rs`).
#[derive(Debug, Clone)]
pub(crate) struct RunFormBody(pub(crate) RunForm);

impl FromRequest<AppState> for RunFormBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        form::read_run_form(request, &state.limits, &state.body_budget)
            .await
            .map(RunFormBody)
    }
}

/// The agent a run route names (`{agent_id}` in the path), resolved
/// before the body is read: an unknown agent is 404, and a server that
/// is shutting down answers 503, whatever the body.
#[derive(Debug, Clone)]
pub(crate) struct RunTarget(pub(crate) crate::agent::Agent);

impl FromRequestParts<AppState> for RunTarget {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let axum::extract::Path(path) = axum::extract::Path::<
            std::collections::HashMap<String, String>,
        >::from_request_parts(parts, state)
        .await
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
        let id = path.get("agent_id").map(String::as_str).unwrap_or_default();
        let agent = state.agent(id)?.clone();
        if state.is_shutting_down() {
            return Err(ApiError::unavailable("the server is shutting down"));
        }
        Ok(RunTarget(agent))
    }
}
