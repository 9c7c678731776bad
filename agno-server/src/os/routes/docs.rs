//! `GET /openapi.json` (the document, made once when the router is) and
//! `GET /docs` (Swagger UI reading it, its files served from the binary:
//! no CDN; feature `docs`, on by default).

use std::sync::Arc;

use axum::Extension;
use axum::response::{IntoResponse, Response};

/// The OpenAPI document as JSON, given to the route by the router.
#[derive(Clone)]
pub(crate) struct OpenApiJson(pub(crate) Arc<str>);

/// `GET /openapi.json`: this document.
#[utoipa::path(get, path = "/openapi.json", tag = "Core", summary = "This document",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = serde_json::Value)))]
pub async fn openapi(Extension(OpenApiJson(json)): Extension<OpenApiJson>) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json.to_string(),
    )
        .into_response()
}

/// `GET /docs`: Swagger UI reading `/openapi.json`.
#[cfg(feature = "docs")]
pub(crate) fn swagger_ui() -> axum::Router<crate::os::state::AppState> {
    utoipa_swagger_ui::SwaggerUi::new("/docs")
        .config(utoipa_swagger_ui::Config::from("/openapi.json"))
        .into()
}
