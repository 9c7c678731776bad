//! `GET /metrics`: Prometheus's exposition for a client that asks for it
//! by `Accept` (Prometheus does), Agno's JSON for the others.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::os::error::ApiError;
use crate::os::prometheus::{self, Format};
use crate::os::state::AppState;

/// `GET /metrics`: with `Accept: application/openmetrics-text` or
/// `text/plain` (what Prometheus sends), the Prometheus exposition
/// (OpenMetrics text: requests, runs, model calls, hooks, durable jobs,
/// the store); otherwise Agno's daily aggregates as JSON.
#[utoipa::path(get, path = "/metrics", tag = "Metrics", summary = "Metrics: Prometheus's exposition, or Agno's daily aggregates",
    responses(
        (status = 200, description = "The Prometheus exposition (OpenMetrics text), when Accept asks for it", content_type = "application/openmetrics-text", body = String),
        (status = 406, description = "Agno's JSON metrics are not served yet"),
    ))]
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(format) = Format::wanted(headers.get(header::ACCEPT)) {
        let text = prometheus::render(&state, format);
        return ([(header::CONTENT_TYPE, format.content_type())], text).into_response();
    }
    ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "GET /metrics serves the Prometheus exposition: send Accept: text/plain or application/openmetrics-text",
    )
    .into_response()
}
