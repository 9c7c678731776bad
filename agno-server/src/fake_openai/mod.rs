//! A fake OpenAI API over real HTTP on 127.0.0.1, for tests and benchmarks.
//!
//! It answers `POST /v1/responses` (Responses API) and
//! `POST /v1/chat/completions` (Chat Completions), as JSON or, when the body
//! has `"stream": true`, as server-sent events. The answer is
//! `"Fake answer to: <last user text>"` (or a fixed text), with word counts
//! as token usage. Faults can be scripted: error statuses (with
//! `Retry-After`), malformed bodies, hanging, connection resets, stream
//! errors. `POST /v1/moderations` flags the categories named in the text
//! (`flag:violence`). `GET /v1/_requests` lists the requests recorded so
//! far.
//!
//! ```
//! use agno_server::fake_openai::{FakeConfig, FakeFault, FakeOpenAi};
//! use agno_server::model::{Model, ModelRequest, OpenAIResponses};
//! use agno_server::Message;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeOpenAi::start(FakeConfig::default().with_script(vec![FakeFault::status(500)]))
//!     .await
//!     .unwrap();
//! let model = OpenAIResponses::new("gpt-5.2")
//!     .api_key("sk-test")
//!     .base_url(fake.base_url())
//!     .retry_base_delay(std::time::Duration::from_millis(1));
//! let request = ModelRequest::new(vec![Message::new("user", "hi")]);
//! let response = model.invoke(&request).await.unwrap(); // 500, retried, then answered
//! assert_eq!(response.content, "Fake answer to: hi");
//! assert_eq!(fake.requests().len(), 2);
//! fake.shutdown().await;
//! # });
//! ```

mod answer;
mod listener;
mod moderation;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use answer::Api;
use listener::{Conn, KillableListener};

/// How the fake server behaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Wait before answering each request (default none).
    pub delay: Duration,
    /// Faults for the first requests, one per request, in order; requests
    /// after the script get [`FakeConfig::fault`] or a normal answer.
    pub script: Vec<FakeFault>,
    /// A fault for every request after the script (default none).
    pub fault: Option<FakeFault>,
    /// A fixed answer instead of `"Fake answer to: <last user text>"`.
    pub answer: Option<String>,
    /// Keep each request for [`FakeOpenAiHandle::requests`] (default true;
    /// turn off for load tests).
    pub record_requests: bool,
    /// When set, requests without `Authorization: Bearer <this>` get 401.
    pub expected_api_key: Option<String>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            delay: Duration::ZERO,
            script: Vec::new(),
            fault: None,
            answer: None,
            record_requests: true,
            expected_api_key: None,
        }
    }
}

impl FakeConfig {
    /// Waits `delay` before each answer.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Answers the first requests with these faults, in order.
    pub fn with_script(mut self, script: Vec<FakeFault>) -> Self {
        self.script = script;
        self
    }

    /// Answers every request (after the script) with this fault.
    pub fn with_fault(mut self, fault: FakeFault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// Always answers this text.
    pub fn with_answer(mut self, answer: impl Into<String>) -> Self {
        self.answer = Some(answer.into());
        self
    }

    /// Whether to keep requests for [`FakeOpenAiHandle::requests`].
    pub fn with_record_requests(mut self, record: bool) -> Self {
        self.record_requests = record;
        self
    }

    /// Requires `Authorization: Bearer <key>` (401 otherwise).
    pub fn with_expected_api_key(mut self, key: impl Into<String>) -> Self {
        self.expected_api_key = Some(key.into());
        self
    }
}

/// A way for the fake to misbehave on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeFault {
    /// Answer this status, with an optional `Retry-After` header value and
    /// body (default `{"error":{"message":"fake error <status>",...}}`).
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` header value, e.g. `"1"`.
        retry_after: Option<String>,
        /// The body, sent as JSON.
        body: Option<String>,
    },
    /// Answer 200 with a body (or events) that is not valid JSON.
    Malformed,
    /// Never answer (until the server shuts down).
    Hang,
    /// Close the connection with a TCP reset instead of answering.
    Reset,
    /// Streaming: send one delta, then an error event with this message.
    /// Not streaming: answer 500 with this message.
    StreamError {
        /// The error's message.
        message: String,
    },
}

impl FakeFault {
    /// `status` with the default body.
    pub fn status(status: u16) -> Self {
        FakeFault::Status {
            status,
            retry_after: None,
            body: None,
        }
    }

    /// `status` with a `Retry-After` header (e.g. `"1"`).
    pub fn status_retry_after(status: u16, retry_after: impl Into<String>) -> Self {
        FakeFault::Status {
            status,
            retry_after: Some(retry_after.into()),
            body: None,
        }
    }

    /// `status` with the body `{"error":{"message":<message>}}`.
    pub fn error(status: u16, message: &str) -> Self {
        FakeFault::Status {
            status,
            retry_after: None,
            body: Some(answer::error_body(message, "invalid_request_error")),
        }
    }
}

/// One request the fake received (also served as JSON by
/// `GET /v1/_requests`, for scripts that drive the `fake-openai` binary).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecordedRequest {
    /// The path, e.g. `/v1/responses`.
    pub path: String,
    /// The `Authorization` header, e.g. `Bearer sk-test`.
    pub authorization: Option<String>,
    /// The JSON body (a JSON string holding the raw text if it was not JSON).
    pub body: Value,
}

/// Starts fake OpenAI servers.
#[derive(Debug, Clone, Copy)]
pub struct FakeOpenAi;

impl FakeOpenAi {
    /// Starts a fake on `127.0.0.1` at a free port; it runs on the current
    /// Tokio runtime until [`FakeOpenAiHandle::shutdown`] or drop.
    pub async fn start(config: FakeConfig) -> io::Result<FakeOpenAiHandle> {
        Self::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
    }

    /// Starts a fake on `addr` (port 0: a free one).
    pub async fn start_on(addr: SocketAddr, config: FakeConfig) -> io::Result<FakeOpenAiHandle> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let _entered = runtime.enter();
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.set_nodelay(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(1024)?;
        let local = listener.local_addr()?;

        let cancel = CancellationToken::new();
        let shared = Arc::new(Shared {
            config,
            next: AtomicUsize::new(0),
            ids: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
            conversations: Mutex::new(Default::default()),
            cancel: cancel.clone(),
        });
        let app = Router::new()
            .route("/v1/responses", post(responses))
            .route("/v1/chat/completions", post(chat_completions))
            .route("/v1/moderations", post(moderations))
            .route("/v1/_requests", get(recorded_requests))
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(shared.clone());
        let serve = axum::serve(
            KillableListener::new(listener),
            app.into_make_service_with_connect_info::<Conn>(),
        )
        .with_graceful_shutdown(cancel.clone().cancelled_owned());
        let task = runtime.spawn(async move {
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "fake OpenAI server failed");
            }
        });
        tracing::debug!(%local, "fake OpenAI server listening");
        Ok(FakeOpenAiHandle {
            addr: local,
            shared,
            cancel,
            task: Some(task),
        })
    }
}

/// A running fake; dropping it stops the server too (without waiting).
#[derive(Debug)]
pub struct FakeOpenAiHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl FakeOpenAiHandle {
    /// The base URL to give a client, e.g. `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests received so far, in order (empty when recording is off).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many requests arrived (counted even when recording is off).
    pub fn request_count(&self) -> usize {
        self.shared.next.load(Ordering::Relaxed)
    }

    /// Stops accepting, ends hanging requests, waits (up to 5 s) for open
    /// requests to finish.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for FakeOpenAiHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[derive(Debug)]
struct Shared {
    config: FakeConfig,
    next: AtomicUsize,
    ids: AtomicU64,
    requests: Mutex<Vec<RecordedRequest>>,
    cancel: CancellationToken,
    /// Responses that called tools, by id: the input they answered and
    /// their calls, for a request that continues one with
    /// `previous_response_id` (as Agno's Responses model does) instead of
    /// replaying the context. Only those, so a load test keeps nothing.
    conversations: Mutex<std::collections::HashMap<String, Vec<Value>>>,
}

async fn responses(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, &conn, Api::Responses, &headers, &body).await
}

/// `GET /v1/_requests`: the requests recorded so far, oldest first (an
/// empty list when recording is off).
async fn recorded_requests(State(shared): State<Arc<Shared>>) -> Json<Vec<RecordedRequest>> {
    Json(
        shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
    )
}

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, &conn, Api::Chat, &headers, &body).await
}

/// What every route does first: counts and records the request, waits the
/// configured delay, checks the key, parses the body. `Err` is the answer
/// to send instead (an error, or shutting down).
async fn admit(
    shared: &Shared,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(usize, Value), Response> {
    let n = shared.next.fetch_add(1, Ordering::Relaxed);
    let config = &shared.config;
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if config.record_requests {
        let recorded = RecordedRequest {
            path: path.to_owned(),
            authorization: authorization.map(str::to_owned),
            body: parsed
                .clone()
                .unwrap_or_else(|| Value::String(String::from_utf8_lossy(body).into_owned())),
        };
        shared
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(recorded);
    }

    if !config.delay.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(config.delay) => {}
            () = shared.cancel.cancelled() => return Err(shutting_down()),
        }
    }

    if let Some(expected) = &config.expected_api_key {
        let ok = authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .is_some_and(|k| k == expected);
        if !ok {
            return Err(json_response(
                StatusCode::UNAUTHORIZED,
                answer::error_body("Incorrect API key provided.", "invalid_request_error"),
            ));
        }
    }

    let Some(request) = parsed else {
        return Err(json_response(
            StatusCode::BAD_REQUEST,
            answer::error_body(
                "We could not parse the JSON body of your request.",
                "invalid_request_error",
            ),
        ));
    };
    Ok((n, request))
}

/// The scripted fault for request `n`, if any.
fn fault(config: &FakeConfig, n: usize) -> Option<&FakeFault> {
    config.script.get(n).or(config.fault.as_ref())
}

/// The answer to the faults every route plays the same way: a status, a
/// hang until shutdown, a reset connection.
async fn common_fault(shared: &Shared, conn: &Conn, fault: &FakeFault) -> Response {
    match fault {
        FakeFault::Status {
            status,
            retry_after,
            body,
        } => status_fault(*status, retry_after.as_deref(), body.as_ref()),
        FakeFault::Hang => {
            shared.cancel.cancelled().await;
            shutting_down()
        }
        FakeFault::Reset => {
            conn.reset();
            StatusCode::OK.into_response()
        }
        // Each route answers these in its own format before coming here.
        FakeFault::Malformed | FakeFault::StreamError { .. } => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            answer::error_body("fault not played by this route", "server_error"),
        ),
    }
}

/// The answer to a [`FakeFault::Status`].
fn status_fault(status: u16, retry_after: Option<&str>, body: Option<&String>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = body.cloned().unwrap_or_else(|| {
        answer::error_body(&format!("fake error {}", status.as_u16()), "server_error")
    });
    let mut response = json_response(status, body);
    if let Some(after) = retry_after.and_then(|v| v.parse().ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, after);
    }
    response
}

async fn handle(
    shared: &Shared,
    conn: &Conn,
    api: Api,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let (n, request) = match admit(shared, api.path(), headers, body).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let config = &shared.config;
    let stream = request.get("stream").and_then(Value::as_bool) == Some(true);

    match fault(config, n) {
        None => {}
        Some(FakeFault::Malformed) => {
            return if stream {
                sse_response(answer::malformed_sse(api))
            } else {
                json_response(StatusCode::OK, answer::malformed_json(api))
            };
        }
        Some(FakeFault::StreamError { message }) => {
            if !stream {
                return json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    answer::error_body(message, "server_error"),
                );
            }
            let id = shared.ids.fetch_add(1, Ordering::Relaxed);
            return sse_response(answer::stream_error(api, id, message));
        }
        Some(common) => return common_fault(shared, conn, common).await,
    }

    let id = shared.ids.fetch_add(1, Ordering::Relaxed);
    let request = match api {
        Api::Responses => continued(shared, request),
        Api::Chat => request,
    };
    let reply = answer::Reply::new(api, &request, config.answer.as_deref(), id);
    if let (Api::Responses, Some(calls)) = (api, reply.call_items()) {
        let mut input = match request.get("input") {
            Some(Value::Array(items)) => items.clone(),
            Some(other) => vec![serde_json::json!({"role": "user", "content": other})],
            None => Vec::new(),
        };
        input.extend(calls);
        let mut conversations = shared
            .conversations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Bounded: a load test with tools keeps the most recent ones.
        if conversations.len() >= MAX_CONVERSATIONS {
            conversations.clear();
        }
        conversations.insert(reply.id().to_owned(), input);
    }
    if stream {
        sse_response(reply.sse(&request))
    } else {
        json_response(StatusCode::OK, reply.json())
    }
}

/// How many tool-calling responses the fake keeps for `previous_response_id`.
const MAX_CONVERSATIONS: usize = 10_000;

/// A Responses request with a `previous_response_id` the fake knows, its
/// input put after that response's input and calls (what OpenAI does with
/// a stored response).
fn continued(shared: &Shared, mut request: Value) -> Value {
    let Some(previous) = request.get("previous_response_id").and_then(Value::as_str) else {
        return request;
    };
    let Some(mut input) = shared
        .conversations
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(previous)
        .cloned()
    else {
        return request;
    };
    match request.get_mut("input").map(Value::take) {
        Some(Value::Array(items)) => input.extend(items),
        Some(Value::Null) | None => {}
        Some(other) => input.push(serde_json::json!({"role": "user", "content": other})),
    }
    request["input"] = Value::Array(input);
    request
}

/// `POST /v1/moderations`: flags each category `C` whose marker
/// `flag:C` is in the input text (e.g. `flag:violence`,
/// `flag:self-harm/intent`); see [`moderation::answer`]. Scripted faults
/// apply as on the other routes (a malformed answer is cut JSON).
async fn moderations(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (n, request) = match admit(&shared, "/v1/moderations", &headers, &body).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    match fault(&shared.config, n) {
        None => {}
        Some(FakeFault::Malformed | FakeFault::StreamError { .. }) => {
            return json_response(StatusCode::OK, r#"{"results":[{"flagged""#.to_owned());
        }
        Some(common) => return common_fault(&shared, &conn, common).await,
    }
    let id = shared.ids.fetch_add(1, Ordering::Relaxed);
    json_response(StatusCode::OK, moderation::answer(&request, id))
}

fn shutting_down() -> Response {
    json_response(
        StatusCode::SERVICE_UNAVAILABLE,
        answer::error_body("the fake server is shutting down", "server_error"),
    )
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn sse_response(body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
