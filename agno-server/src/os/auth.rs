//! Bearer-key authentication (`OS_SECURITY_KEY`), as AgentOS does it.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::AppState;

/// Routes that never need the key, as in Agno.
pub const PUBLIC_PATHS: [&str; 4] = ["/", "/health", "/docs", "/openapi.json"];

/// Whether `path` never needs the key: [`PUBLIC_PATHS`], and the files of
/// the `/docs` page.
pub fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path) || path.starts_with("/docs/")
}

/// Middleware: with a key set, every route but [`PUBLIC_PATHS`] needs
/// `Authorization: Bearer <key>`.
pub async fn require_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(key) = &state.security_key else {
        return next.run(request).await;
    };
    if is_public(request.uri().path()) {
        return next.run(request).await;
    }
    // As FastAPI's `HTTPBearer` reads it: no header, or a scheme other
    // than `Bearer` (any case, RFC 9110 §11.1), is "required".
    let Some(token) = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| bearer_token(value.as_bytes()))
    else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "Authorization header required")
            .into_response();
    };
    if key.matches(token) {
        next.run(request).await
    } else {
        ApiError::new(StatusCode::UNAUTHORIZED, "Invalid authentication token").into_response()
    }
}

/// The token of `Bearer <token>`, the scheme in any case; `None` for
/// another scheme or none.
fn bearer_token(value: &[u8]) -> Option<&[u8]> {
    let space = value.iter().position(|b| *b == b' ')?;
    let (scheme, rest) = value.split_at(space);
    scheme
        .eq_ignore_ascii_case(b"bearer")
        .then(|| rest.trim_ascii_start())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_in_any_case_and_nothing_else() {
        assert_eq!(bearer_token(b"Bearer k"), Some(&b"k"[..]));
        assert_eq!(bearer_token(b"bearer k"), Some(&b"k"[..]));
        assert_eq!(bearer_token(b"BEARER  k"), Some(&b"k"[..]));
        assert_eq!(bearer_token(b"k"), None);
        assert_eq!(bearer_token(b"Basic k"), None);
        assert_eq!(bearer_token(b"Bearerk"), None);
    }
}
