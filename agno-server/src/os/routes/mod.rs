//! The router: every route, its fallback and the layers around them.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth;
use super::error::ApiError;
use super::openapi;
use super::request_metrics;
use super::state::AppState;

pub mod agents;
pub mod config;
pub mod docs;
pub mod health;
pub mod hooks;
pub mod metrics;
pub mod queue;
pub mod runs;
pub mod sessions;
pub mod traces;

/// Every route, with its description for the OpenAPI document: the one
/// list of what this server serves (the router and the document are both
/// made from it).
pub(crate) fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::root))
        .routes(routes!(health::health))
        .routes(routes!(config::config))
        .routes(routes!(docs::openapi))
        .routes(routes!(hooks::hooks))
        .routes(routes!(metrics::metrics))
        .routes(routes!(metrics::refresh))
        .routes(routes!(metrics::refresh_status))
        .routes(routes!(queue::list))
        .routes(routes!(queue::get))
        .routes(routes!(queue::requeue))
        .routes(routes!(queue::requeue_many))
        .routes(routes!(queue::stats))
        .routes(routes!(agents::list))
        .routes(routes!(agents::get))
        .routes(routes!(runs::create))
        .routes(routes!(agents::get_run))
        .routes(routes!(runs::cancel))
        .routes(routes!(sessions::list))
        .routes(routes!(sessions::get))
        .routes(routes!(sessions::delete))
        .routes(routes!(sessions::runs))
        .routes(routes!(sessions::get_run))
        .routes(routes!(sessions::delete_many))
        .routes(routes!(sessions::rename))
        .routes(routes!(traces::list))
        .routes(routes!(traces::filter_schema))
        .routes(routes!(traces::search))
        .routes(routes!(traces::get))
        .routes(routes!(traces::session_stats))
}

/// The OpenAPI document: every operation of [`api`], with what they all
/// share (the bearer key, the error answers).
pub(crate) fn document() -> utoipa::openapi::OpenApi {
    let (_, doc) = api().split_for_parts();
    openapi::finish(doc)
}

/// The document as JSON, made once (it depends on the routes only).
static DOCUMENT: std::sync::LazyLock<std::sync::Arc<str>> = std::sync::LazyLock::new(|| {
    document()
        .to_json()
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        .into()
});

/// Builds the app: routes, auth, limits, request ids, request logs, panic
/// catching and (if given) CORS.
pub fn router(state: AppState, cors: Option<CorsLayer>) -> Router {
    let body_limit = state.limits.max_body_bytes;
    let (routes, _) = api().split_for_parts();
    #[cfg(feature = "docs")]
    let routes = routes.merge(docs::swagger_ui());
    let routes = routes.layer(axum::Extension(docs::OpenApiJson(DOCUMENT.clone())));
    let routes = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_metrics::record,
        ))
        .with_state(state);
    let routes = match cors {
        Some(cors) => routes.layer(cors),
        None => routes,
    };
    routes
        .layer(CatchPanicLayer::custom(panicked))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::map_request(drop_unusable_request_id))
        .layer(middleware::from_fn(require_one_host))
}

/// The longest `x-request-id` a client may set (a UUID is 36).
pub const MAX_REQUEST_ID_BYTES: usize = 128;

/// A client's `x-request-id` is kept (echoed and logged) only when it is at
/// most [`MAX_REQUEST_ID_BYTES`] of letters, digits and `-_.:/+=`;
/// otherwise the server makes its own. An attacker cannot fill the log
/// with long ids, nor forge log lines with control characters.
async fn drop_unusable_request_id(
    mut request: axum::http::Request<axum::body::Body>,
) -> axum::http::Request<axum::body::Body> {
    let usable = |v: &axum::http::HeaderValue| {
        let bytes = v.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID_BYTES
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(b))
    };
    let headers = request.headers_mut();
    let ids = headers.get_all("x-request-id");
    let mut iter = ids.iter();
    let keep = matches!((iter.next(), iter.next()), (Some(v), None) if usable(v));
    if !keep {
        headers.remove("x-request-id");
    }
    request
}

/// HTTP/1.1 needs exactly one `Host` header (RFC 9112 §3.2): none or
/// several is a 400.
async fn require_one_host(
    request: axum::http::Request<axum::body::Body>,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if request.version() == axum::http::Version::HTTP_11
        && request
            .headers()
            .get_all(axum::http::header::HOST)
            .iter()
            .count()
            != 1
    {
        return ApiError::bad_request("HTTP/1.1 needs exactly one Host header").into_response();
    }
    next.run(request).await
}

fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    tracing::error!("a request handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response()
}
