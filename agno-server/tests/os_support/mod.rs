//! Shared helpers of the AgentOS HTTP tests: a server on an ephemeral
//! loopback port, a gate background hooks wait on, form bodies and an SSE
//! frame reader.
#![allow(dead_code)]

use std::sync::Arc;

use agno_server::{AgentOS, AnyPhase, FromHookArgs, HookArgs, HookError, ShutdownReport};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

/// A gate hooks wait on (`open`) and a channel they report through
/// (`events`), reached as a hook argument (`gate: &Gate`).
#[derive(Clone)]
pub struct Gate {
    pub open: Arc<Semaphore>,
    pub events: mpsc::UnboundedSender<String>,
}

impl Gate {
    /// A closed gate and the receiver of what hooks report.
    pub fn new() -> (Gate, mpsc::UnboundedReceiver<String>) {
        let (events, rx) = mpsc::unbounded_channel();
        (
            Gate {
                open: Arc::new(Semaphore::new(0)),
                events,
            },
            rx,
        )
    }

    /// Waits until the test lets one hook through.
    pub async fn pass(&self) {
        self.open.acquire().await.expect("gate closed").forget();
    }

    /// Reports `what`.
    pub fn report(&self, what: impl Into<String>) {
        let _ = self.events.send(what.into());
    }
}

impl<'a> FromHookArgs<'a> for &'a Gate {
    type Available = AnyPhase;
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.extension::<Gate>()
            .ok_or_else(|| HookError::msg("no Gate registered"))
    }
}

/// A running server and how to stop it.
pub struct Server {
    pub base: String,
    /// The agents served (their job workers' counters).
    pub agents: Vec<agno_server::Agent>,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<ShutdownReport>>,
}

impl Server {
    /// Serves `agent` alone (no security key, whatever the environment
    /// says) on 127.0.0.1, an ephemeral port.
    pub async fn agent(agent: agno_server::Agent) -> Server {
        let os = AgentOS::builder()
            .agent(agent)
            .ignore_env_security_key()
            .build()
            .unwrap();
        Server::start(os).await
    }

    /// Serves `os` on 127.0.0.1, an ephemeral port.
    pub async fn start(os: AgentOS) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let agents = os.agents().to_vec();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            os.serve_with_shutdown(listener, async {
                let _ = stopped.await;
            })
            .await
        });
        Server {
            base,
            agents,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            stop: Some(stop),
            task,
        }
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs a multipart form of `fields` to `path`.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        self.client
            .post(self.url(path))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// POSTs a multipart form and reads the answer as `(status, JSON)`.
    pub async fn post_json(&self, path: &str, fields: &[(&str, &str)]) -> (u16, serde_json::Value) {
        json(self.post_form(path, fields).await).await
    }

    /// POSTs a raw body with `content_type`.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Triggers graceful shutdown; returns its report.
    pub async fn shutdown(mut self) -> ShutdownReport {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap()
    }
}

/// `(status, JSON body)` of a response.
pub async fn json(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not JSON ({e}), status {status}: {text:?}"));
    (status, body)
}

/// Splits an SSE body into `(event, data)` frames, checking Agno's framing:
/// exactly `event: <Name>\ndata: <one-line JSON>\n\n` per frame.
pub fn frames(body: &str) -> Vec<(String, serde_json::Value)> {
    assert!(body.ends_with("\n\n"), "the stream ends with a whole frame");
    body.trim_end_matches("\n\n")
        .split("\n\n")
        .map(|frame| {
            let lines: Vec<&str> = frame.split('\n').collect();
            assert_eq!(lines.len(), 2, "two lines per frame: {frame:?}");
            let name = lines[0].strip_prefix("event: ").expect("event line");
            let data = lines[1].strip_prefix("data: ").expect("data line");
            let data: serde_json::Value = serde_json::from_str(data).unwrap();
            assert_eq!(data["event"], name, "data.event names the frame");
            (name.to_owned(), data)
        })
        .collect()
}

/// A multipart body written by hand, for malformed variants.
pub fn multipart_body(boundary: &str, fields: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

/// Every log line a test's `tracing` subscriber writes, kept in memory
/// (`.with_writer(move || captured.clone())`); `text()` reads them.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// What was written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// A plain-text subscriber (INFO and above) that writes here.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
    }

    /// Captures this thread's log lines until the guard is dropped.
    pub fn on_this_thread() -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let guard = tracing::subscriber::set_default(captured.subscriber());
        (captured, guard)
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
