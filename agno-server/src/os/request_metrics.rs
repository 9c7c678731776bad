//! Middleware: every request counted and timed by method, route template
//! and status (a bounded set: the template, never the path's ids).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::state::AppState;

/// Records the request in the OS's metrics, if it keeps them: the time to
/// the response's head (for a stream, its first byte).
pub(crate) async fn record(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(metrics) = state.metrics.clone() else {
        return next.run(request).await;
    };
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let started = Instant::now();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    metrics.http(
        &method,
        route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
