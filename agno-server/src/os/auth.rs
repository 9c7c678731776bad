//! The auth middleware: the security key (`OS_SECURITY_KEY`), or JWTs
//! with scopes, as AgentOS does them (which one: [`Auth`] in the state).
//! What it verified reaches the routes as a [`Caller`] in the request's
//! extensions.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth_mode::Auth;
use super::caller::Caller;
use super::error::ApiError;
use super::jwt::{JwtVerifier, TokenSource};
use super::scopes::{self, Needs};
use super::security_key::SecurityKey;
use super::state::AppState;

/// Routes that never need the key, as in Agno.
pub const PUBLIC_PATHS: [&str; 4] = ["/", "/health", "/docs", "/openapi.json"];

/// Whether `path` never needs the key: [`PUBLIC_PATHS`], and the files of
/// the `/docs` page.
pub fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path) || path.starts_with("/docs/")
}

/// Middleware: every route but [`PUBLIC_PATHS`] needs the key or a valid
/// token (with the scopes the route needs).
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if is_public(request.uri().path()) || *request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    if state.open_metrics
        && request.uri().path() == "/metrics"
        && super::prometheus::Format::wanted(request.headers().get(header::ACCEPT)).is_some()
    {
        return next.run(request).await;
    }
    match &state.auth {
        Auth::Open => next.run(request).await,
        Auth::Key(key) => match check_key(key, request.headers()) {
            Ok(()) => next.run(request).await,
            Err(error) => unauthorized(error),
        },
        Auth::Jwt(verifier) => {
            let caller = match verify(verifier, request.headers()) {
                Ok(caller) => caller,
                Err(error) => return unauthorized(error),
            };
            if let Err(error) = allow(&caller, request.method(), request.uri().path()) {
                return error.into_response();
            }
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
    }
}

/// A 401 says how to authenticate (RFC 9110 §11.6.1).
fn unauthorized(error: ApiError) -> Response {
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn check_key(key: &SecurityKey, headers: &HeaderMap) -> Result<(), ApiError> {
    // As FastAPI's `HTTPBearer` reads it: no header, or a scheme other
    // than `Bearer` (any case, RFC 9110 §11.1), is "required".
    let token = one_authorization(headers)?
        .and_then(|value| bearer_token(value.as_bytes()))
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "Authorization header required"))?;
    if key.matches(token) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Invalid authentication token",
        ))
    }
}

/// The request's one `Authorization` header, if any: two are refused
/// (which one a proxy or the app reads would differ).
fn one_authorization(headers: &HeaderMap) -> Result<Option<&HeaderValue>, ApiError> {
    let mut all = headers.get_all(header::AUTHORIZATION).iter();
    match (all.next(), all.next()) {
        (_, Some(_)) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "Ambiguous Authorization header",
        )),
        (one, None) => Ok(one),
    }
}

/// The caller a request's token names, or Agno's 401.
fn verify(verifier: &JwtVerifier, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let config = verifier.config();
    let token = read_token(headers, config.token_source, &config.cookie_name)?;
    let verified = verifier.verify(&token).map_err(|refused| {
        tracing::warn!(reason = %refused.0, "a token was refused");
        ApiError::new(StatusCode::UNAUTHORIZED, refused.0)
    })?;
    Ok(Caller::verified(
        verified.user_id,
        verified.scopes,
        &config.admin_scope,
        config.check_scopes,
        config.user_isolation,
    ))
}

/// The token of a request, where `source` says it is.
fn read_token(headers: &HeaderMap, source: TokenSource, cookie: &str) -> Result<String, ApiError> {
    let from_header = || -> Result<Option<String>, ApiError> {
        Ok(one_authorization(headers)?.map(|value| {
            let bytes = value.as_bytes();
            // `Bearer <token>`; anything else is read as a token (and
            // refused as one).
            let token = bearer_token(bytes).unwrap_or(bytes);
            String::from_utf8_lossy(token).into_owned()
        }))
    };
    let from_cookie = || cookie_value(headers, cookie);
    let missing = |detail: String| ApiError::new(StatusCode::UNAUTHORIZED, detail);
    match source {
        TokenSource::Header => {
            from_header()?.ok_or_else(|| missing("Authorization header missing".into()))
        }
        TokenSource::Cookie => {
            from_cookie().ok_or_else(|| missing(format!("JWT cookie '{cookie}' missing")))
        }
        TokenSource::Both => from_header()?.or_else(from_cookie).ok_or_else(|| {
            missing(format!(
                "JWT token missing from both Authorization header and '{cookie}' cookie"
            ))
        }),
    }
}

/// The value of cookie `name` (RFC 6265 §5.4: `a=1; b=2`, over one or
/// several `Cookie` headers).
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

/// Whether `caller` may call `method path`: Agno's 403 if not.
fn allow(caller: &Caller, method: &Method, path: &str) -> Result<(), ApiError> {
    let forbidden = |detail: String| Err(ApiError::new(StatusCode::FORBIDDEN, detail));
    match scopes::needs(method, path) {
        // The job queue is every user's: admins only, scopes checked or
        // not (as Agno).
        Needs::Admin if !caller.is_admin() => {
            forbidden("Job queue operations require an admin scope".into())
        }
        Needs::Admin | Needs::Token => Ok(()),
        Needs::AgentListing => match caller.readable_agents() {
            Some(ids) if ids.is_empty() => {
                forbidden("Insufficient permissions. Required scope(s): agents:read".into())
            }
            _ => Ok(()),
        },
        Needs::All(needed) => {
            let missing = caller.missing(&needed);
            if missing.is_empty() {
                Ok(())
            } else {
                tracing::info!(%method, path, "a token without the scopes a route needs was refused");
                forbidden(scopes::insufficient(&missing))
            }
        }
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
    use super::*;

    #[test]
    fn the_bearer_scheme_in_any_case_and_nothing_else() {
        assert_eq!(bearer_token(b"Bearer k"), Some(&b"k"[..]));
        assert_eq!(bearer_token(b"bearer k"), Some(&b"k"[..]));
        assert_eq!(bearer_token(b"BEARER  k"), Some(&b"k"[..]));
        assert_eq!(bearer_token(b"k"), None);
        assert_eq!(bearer_token(b"Basic k"), None);
        assert_eq!(bearer_token(b"Bearerk"), None);
    }

    #[test]
    fn a_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; access_token=t.k.n"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(
            cookie_value(&headers, "access_token").as_deref(),
            Some("t.k.n")
        );
        assert_eq!(cookie_value(&headers, "b").as_deref(), Some("2"));
        assert_eq!(cookie_value(&headers, "token"), None);
    }

    #[test]
    fn two_authorization_headers_are_refused() {
        let mut headers = HeaderMap::new();
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        headers.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        let error = read_token(&headers, TokenSource::Header, "access_token").unwrap_err();
        assert_eq!(error.detail, "Ambiguous Authorization header");
    }
}
