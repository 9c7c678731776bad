//! The errors a route answers with: a status and Agno's `{"detail": ...}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::agent::AgentError;
use crate::db::DbError;

/// An HTTP error with Agno's body, `{"detail": ...}`.
///
/// `detail` is a string for most errors and FastAPI's validation list for
/// a missing required field, as Agno answers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status}: {detail}")]
pub struct ApiError {
    /// The status code.
    pub status: StatusCode,
    /// The body's `detail`.
    pub detail: Value,
    /// Seconds a client should wait before it tries again
    /// (`Retry-After`), for a 503 or 429 that will pass.
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// An error with a text detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: Value::String(detail.into()),
            retry_after: None,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 413 Payload Too Large.
    pub fn too_large(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, detail)
    }

    /// 422 with FastAPI's "Field required" entry, as Agno answers a form
    /// without `field`.
    pub fn missing_field(field: &str) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: json!([{
                "type": "missing",
                "loc": ["body", field],
                "msg": "Field required",
                "input": null,
            }]),
            retry_after: None,
        }
    }

    /// 503 Service Unavailable (the server is shutting down).
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, detail)
    }

    /// The same error, asking the client to try again in `seconds`
    /// (`Retry-After`).
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 500, with a message that names no internal detail; the cause is
    /// logged.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::InvalidQuery(message) | DbError::InvalidInput(message) => {
                ApiError::bad_request(message)
            }
            too_large @ DbError::StateTooLarge { .. } => ApiError::too_large(too_large.to_string()),
            // A database that is down: a client or load balancer retries.
            DbError::Unavailable(reason) | DbError::Conflict(reason) => {
                tracing::warn!(%reason, "the database is unavailable");
                ApiError::unavailable("the database is unavailable; try again in a moment")
                    .retry_after(1)
            }
            // As Agno answers it: whose session it is stays unsaid.
            DbError::NotOwner { session_id } => {
                tracing::warn!(session_id = %session_id.escape_debug(), "refused a write into a session another user owns");
                ApiError::not_found("Session not found")
            }
            other => ApiError::internal(&other),
        }
    }
}

/// The one mapping of an agent's errors to HTTP (Agno's statuses).
impl From<AgentError> for ApiError {
    fn from(error: AgentError) -> Self {
        match error {
            AgentError::Db(db) => db.into(),
            // Agno's 400.
            AgentError::BackgroundWithoutStore { .. } => ApiError::bad_request(error.to_string()),
            // Agno's 429.
            AgentError::QueueFull { .. } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, error.to_string())
            }
            // Pushed back: a load balancer or client retries.
            AgentError::Backlogged { .. } => {
                ApiError::unavailable(error.to_string()).retry_after(5)
            }
            // Agno's 409.
            AgentError::IdempotencyConflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, error.to_string())
            }
            other => ApiError::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = super::wire::ErrorBody {
            detail: self.detail,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        response
    }
}

/// A route's result.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_that_is_down_is_a_503_to_retry() {
        let response =
            ApiError::from(DbError::Unavailable("connection refused".into())).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "1");
    }
}
