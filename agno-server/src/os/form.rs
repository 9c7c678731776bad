//! The form of `POST /agents/{id}/runs`, multipart or urlencoded, read
//! strictly: every malformed input is a 4xx with a `detail` that says what
//! is wrong, never a panic and never a guess.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};

use crate::db::{MAX_JSON_DEPTH, json_depth};

use super::error::ApiError;
use super::limits::{BodyBudget, Limits, Reservation};
use crate::agent::RunRequest;

/// Longest accepted `session_id` / `user_id`, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// A run request as the form gave it.
#[derive(Debug, Clone)]
pub struct RunForm {
    /// Whether to answer with an event stream (default `true`, as Agno).
    pub stream: bool,
    /// Whether to queue the run and answer 202 at once (Agno's
    /// `background`, default `false`).
    pub background: bool,
    /// What the agent runs.
    pub request: RunRequest,
}

/// Reads the form of a run request, within [`Limits::body_read_timeout`]
/// (else 408), holding its bytes of `budget` while they arrive (past the
/// budget: 503).
pub async fn read_run_form(
    request: Request,
    limits: &Limits,
    budget: &BodyBudget,
) -> Result<RunForm, ApiError> {
    let mut reservation = Reservation::new(budget);
    let fields = tokio::time::timeout(
        limits.body_read_timeout,
        read_fields(request, limits, &mut reservation),
    )
    .await
    .map_err(|_| body_timeout(limits))??;
    RunForm::from_fields(fields)
}

/// One raw field: its name and bytes.
pub type RawField = (String, Vec<u8>);

/// Reads the raw fields of a multipart or urlencoded body.
async fn read_fields(
    request: Request,
    limits: &Limits,
    reservation: &mut Reservation,
) -> Result<Vec<RawField>, ApiError> {
    if let Some(length) = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > limits.max_body_bytes as u64
    {
        return Err(body_too_large(limits));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok());
    match content_type {
        Some(m) if m.type_() == mime::MULTIPART && m.subtype() == mime::FORM_DATA => {
            read_multipart(request, limits, reservation).await
        }
        Some(m) if m.type_() == mime::APPLICATION && m.subtype() == mime::WWW_FORM_URLENCODED => {
            read_urlencoded(request.into_body(), limits, reservation).await
        }
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected a form: Content-Type multipart/form-data or application/x-www-form-urlencoded",
        )),
    }
}

fn body_too_large(limits: &Limits) -> ApiError {
    ApiError::too_large(format!(
        "request body is larger than the limit of {} bytes",
        limits.max_body_bytes
    ))
}

fn too_many_fields(limits: &Limits) -> ApiError {
    ApiError::too_large(format!("more than {} form fields", limits.max_fields))
}

fn field_too_large(name: &str, limits: &Limits) -> ApiError {
    ApiError::too_large(format!(
        "form field '{name}' is larger than the limit of {} bytes",
        limits.max_field_bytes
    ))
}

async fn read_multipart(
    request: Request,
    limits: &Limits,
    reservation: &mut Reservation,
) -> Result<Vec<RawField>, ApiError> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|rejection| {
            ApiError::bad_request(format!(
                "malformed multipart form: {}",
                rejection.body_text()
            ))
        })?;
    let mut fields = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => return Err(multipart_error(error.status(), error.body_text(), limits)),
        };
        if fields.len() == limits.max_fields {
            return Err(too_many_fields(limits));
        }
        let Some(name) = field.name().map(str::to_owned) else {
            return Err(ApiError::bad_request(
                "malformed multipart form: a part has no field name",
            ));
        };
        if field.file_name().is_some() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "form field '{name}' is a file upload; this server does not accept files yet"
                ),
            ));
        }
        let mut field = field;
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > limits.max_field_bytes {
                        return Err(field_too_large(&name, limits));
                    }
                    reservation.take(chunk.len())?;
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => {
                    return Err(multipart_error(error.status(), error.body_text(), limits));
                }
            }
        }
        fields.push((name, bytes));
    }
    Ok(fields)
}

fn multipart_error(status: StatusCode, text: String, limits: &Limits) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        body_too_large(limits)
    } else {
        ApiError::bad_request(format!("malformed multipart form: {text}"))
    }
}

async fn read_urlencoded(
    body: Body,
    limits: &Limits,
    reservation: &mut Reservation,
) -> Result<Vec<RawField>, ApiError> {
    let bytes = read_body(body, limits.max_body_bytes, limits, reservation).await?;
    parse_urlencoded(&bytes, limits)
}

/// A whole body of at most `max_bytes` (else 413), its bytes taken from
/// `reservation` as they arrive (past the shared budget: 503). The caller
/// bounds the time it takes.
pub(crate) async fn read_body(
    mut body: Body,
    max_bytes: usize,
    limits: &Limits,
    reservation: &mut Reservation,
) -> Result<Vec<u8>, ApiError> {
    use http_body_util::BodyExt;
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        // A broken body (a malformed chunk size, a connection cut mid-body)
        // is the client's error, not a size.
        let frame = frame.map_err(|error| body_error(&error, limits))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > max_bytes {
                return Err(ApiError::too_large(format!(
                    "request body is larger than the limit of {max_bytes} bytes"
                )));
            }
            reservation.take(data.len())?;
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// The answer to a body that broke off: 408 when it stalled past the body
/// timeout, else 400 (a malformed chunk size, a connection cut mid-body:
/// the client's error, not a size).
fn body_error(error: &(dyn std::error::Error + 'static), limits: &Limits) -> ApiError {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return body_timeout(limits);
        }
        next = e.source();
    }
    ApiError::bad_request(format!("could not read the request body: {error}"))
}

pub(crate) fn body_timeout(limits: &Limits) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "the request body did not arrive within {} s",
            limits.body_read_timeout.as_secs_f64()
        ),
    )
}

/// Splits an `application/x-www-form-urlencoded` body into raw fields
/// (names must be UTF-8; values are checked later, by field).
pub fn parse_urlencoded(bytes: &[u8], limits: &Limits) -> Result<Vec<RawField>, ApiError> {
    let mut fields = Vec::new();
    for pair in bytes.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        if fields.len() == limits.max_fields {
            return Err(too_many_fields(limits));
        }
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &[][..]),
        };
        let name = String::from_utf8(decode(name))
            .map_err(|_| ApiError::bad_request("a form field name is not valid UTF-8"))?;
        let value = decode(value);
        if value.len() > limits.max_field_bytes {
            return Err(field_too_large(&name, limits));
        }
        fields.push((name, value));
    }
    Ok(fields)
}

/// Decodes one urlencoded component: `+` is a space, `%XX` a byte.
fn decode(component: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = component
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&spaced).collect()
}

impl RunForm {
    /// Builds the run request from raw fields: `message` (required),
    /// `stream`, `session_id`, `user_id`, `session_state`, `dependencies`,
    /// `metadata` (JSON objects); any other field goes to hooks as an extra
    /// field, `"true"`/`"false"` as booleans.
    pub fn from_fields(fields: Vec<(String, Vec<u8>)>) -> Result<Self, ApiError> {
        let mut seen = std::collections::HashSet::new();
        let mut message = None;
        let mut stream = true;
        let mut background = false;
        let mut request = RunRequest::default();
        for (name, bytes) in fields {
            if !seen.insert(name.clone()) {
                return Err(ApiError::bad_request(format!(
                    "form field '{name}' is given more than once"
                )));
            }
            let value = String::from_utf8(bytes).map_err(|_| {
                ApiError::bad_request(format!("form field '{name}' is not valid UTF-8"))
            })?;
            match name.as_str() {
                "message" => message = Some(value),
                "stream" => stream = parse_bool(&name, &value)?,
                "session_id" => request.session_id = non_empty(session_id(value)?),
                "user_id" => request.user_id = non_empty(id(&name, value)?),
                "session_state" => request.session_state = json_object(&name, &value)?,
                "dependencies" => request.dependencies = json_object(&name, &value)?,
                "metadata" => request.metadata = json_object(&name, &value)?,
                "background" => background = parse_bool(&name, &value)?,
                "" => return Err(ApiError::bad_request("a form field has an empty name")),
                _ => {
                    let value = match value.as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        _ => Value::String(value),
                    };
                    request.extra.insert(name, value);
                }
            }
        }
        match message {
            Some(message) if !message.is_empty() => request.message = message,
            _ => return Err(ApiError::missing_field("message")),
        }
        Ok(Self {
            stream,
            background,
            request,
        })
    }
}

fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "form field '{name}' must be true or false, not {value:?}"
        ))),
    }
}

/// Checks an id: at most [`MAX_ID_BYTES`], no control characters.
pub fn id(name: &str, value: String) -> Result<String, ApiError> {
    if value.len() > MAX_ID_BYTES {
        return Err(ApiError::bad_request(format!(
            "'{name}' is longer than {MAX_ID_BYTES} bytes"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "'{name}' contains control characters"
        )));
    }
    Ok(value)
}

/// Checks a session id: an id (as `id` checks it) made only of ASCII
/// letters, digits and `- _ . : @ + =`, without `..`. Session ids appear in URLs and logs; a
/// narrow alphabet keeps them safe to print, route and compare (UUIDs and
/// ids like `user@example.com:chat-1` fit).
pub fn session_id(value: String) -> Result<String, ApiError> {
    let value = id("session_id", value)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:@+=".contains(c);
    if !value.chars().all(allowed) || value.contains("..") {
        return Err(ApiError::bad_request(
            "'session_id' may only contain ASCII letters, digits and - _ . : @ + = (and no '..')",
        ));
    }
    Ok(value)
}

fn json_object(name: &str, value: &str) -> Result<Map<String, Value>, ApiError> {
    if value.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Object(map)) => {
            let depth = 1 + map.values().map(json_depth).max().unwrap_or(0);
            if depth > MAX_JSON_DEPTH {
                return Err(ApiError::bad_request(format!(
                    "form field '{name}' nests {depth} levels deep; at most {MAX_JSON_DEPTH} are accepted"
                )));
            }
            Ok(map)
        }
        Ok(_) => Err(ApiError::bad_request(format!(
            "form field '{name}' must be a JSON object"
        ))),
        Err(error) => Err(ApiError::bad_request(format!(
            "form field '{name}' is not valid JSON: {error}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<RawField> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn reads_every_known_field_and_passes_the_rest_to_hooks() {
        let form = RunForm::from_fields(fields(&[
            ("message", "Hello"),
            ("stream", "false"),
            ("session_id", "s-1"),
            ("user_id", "ada"),
            ("session_state", r#"{"n": 1}"#),
            ("metadata", r#"{"source": "test"}"#),
            ("priority", "high"),
            ("urgent", "true"),
        ]))
        .unwrap();
        assert!(!form.stream);
        let r = form.request;
        assert_eq!(r.message, "Hello");
        assert_eq!(r.session_id.as_deref(), Some("s-1"));
        assert_eq!(r.user_id.as_deref(), Some("ada"));
        assert_eq!(r.session_state["n"], 1);
        assert_eq!(r.metadata["source"], "test");
        assert_eq!(r.extra["priority"], "high");
        assert_eq!(r.extra["urgent"], true);
    }

    #[test]
    fn stream_defaults_to_true() {
        assert!(
            RunForm::from_fields(fields(&[("message", "hi")]))
                .unwrap()
                .stream
        );
    }

    #[test]
    fn a_missing_or_empty_message_is_fastapis_422() {
        for f in [fields(&[]), fields(&[("message", "")])] {
            let error = RunForm::from_fields(f).unwrap_err();
            assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(error.detail[0]["loc"][1], "message");
        }
    }

    #[test]
    fn bad_fields_are_400_with_the_field_named() {
        for (pairs, needle) in [
            (vec![("message", "a"), ("message", "b")], "more than once"),
            (
                vec![("message", "a"), ("metadata", "{nope")],
                "not valid JSON",
            ),
            (
                vec![("message", "a"), ("session_state", "[1]")],
                "JSON object",
            ),
            (vec![("message", "a"), ("stream", "maybe")], "true or false"),
            (vec![("message", "a"), ("session_id", "a\u{0}b")], "control"),
        ] {
            let error = RunForm::from_fields(fields(&pairs)).unwrap_err();
            assert_eq!(error.status, StatusCode::BAD_REQUEST, "{pairs:?}");
            assert!(error.detail.as_str().unwrap().contains(needle), "{error}");
        }
        let error = RunForm::from_fields(vec![("message".into(), vec![0xff, 0xfe])]).unwrap_err();
        assert!(error.detail.as_str().unwrap().contains("UTF-8"));
    }

    /// A small fuzz: random bytes, and random mixes of the form's own
    /// tokens, never panic and always give a form or a 4xx.
    #[test]
    fn random_bodies_never_panic_and_answer_4xx_or_a_form() {
        let limits = Limits {
            max_body_bytes: 4096,
            max_field_bytes: 512,
            max_fields: 32,
            ..Limits::default()
        };
        let tokens: [&[u8]; 16] = [
            b"message",
            b"stream",
            b"session_id",
            b"metadata",
            b"session_state",
            b"=",
            b"&",
            b"%",
            b"%FF",
            b"%7B",
            b"+",
            b"true",
            b"{\"a\":1}",
            b"..",
            b"\x00",
            b"\xc3",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20_000 {
            let len = (next() % 64) as usize;
            let body: Vec<u8> = if round % 2 == 0 {
                (0..len).map(|_| next() as u8).collect()
            } else {
                (0..len)
                    .flat_map(|_| tokens[(next() % tokens.len() as u64) as usize].to_vec())
                    .collect()
            };
            match parse_urlencoded(&body, &limits).and_then(RunForm::from_fields) {
                Ok(form) => assert!(!form.request.message.is_empty()),
                Err(error) => assert!(error.status.is_client_error(), "{body:?}: {error}"),
            }
        }
    }

    #[test]
    fn urlencoded_components_decode_plus_and_percent() {
        assert_eq!(decode(b"Hello%2C+how+are+you%3F"), b"Hello, how are you?");
        assert_eq!(decode(b"%ff"), vec![0xff]);
    }
}
