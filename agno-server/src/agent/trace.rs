//! A run's trace in Agno's stored layout (`AgentOS(tracing=True)`): the
//! agent's span (`{Agent}.arun`, OpenInference's `AGENT`), its model call
//! (`{Model}.ainvoke`, `LLM`) and its inline hooks (ours: `HOOK`, Agno has
//! no hook spans), recorded as the run goes from the points it already
//! times, and handed whole to the [`TraceWriter`] when the run ends: no
//! `tracing` subscriber decides whether a trace is stored, and nothing is
//! written on the run's path.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hooks_core::{Phase, RunOutput, RunStatus};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::db::stored_time_of;
use crate::db::{Db, SpanRow, TraceRow};

/// How many finished traces may wait for the writer; past it a trace is
/// dropped (counted), never waited for.
const QUEUE: usize = 16_384;
/// The most traces written in one transaction.
const BATCH: usize = 256;

/// Epoch nanoseconds now.
fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// Epoch nanoseconds as Agno's stored times (`2026-12-07T06:44:51.123456+00:00`).
fn iso(ns: i128) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ns).map_or_else(
        |_| "1970-01-01T00:00:00.000000+00:00".into(),
        stored_time_of,
    )
}

fn span_id() -> String {
    format!("{:016x}", fastrand::u64(1..))
}

/// A span being recorded.
struct Open {
    id: String,
    parent: Option<String>,
    name: String,
    start: i128,
    attributes: Map<String, Value>,
}

/// One run's trace, as it goes.
pub(crate) struct RunTrace {
    trace_id: String,
    root: Open,
    spans: Vec<SpanRow>,
    /// Inline hooks started and not yet completed, by (name, phase).
    hooks: HashMap<(String, Phase), Open>,
    writer: Arc<TraceWriter>,
}

impl RunTrace {
    /// Starts the trace of run `run_id` of the agent named `agent_name`
    /// (`None`: Agno's `Agent`).
    pub(crate) fn start(
        writer: Arc<TraceWriter>,
        agent_id: &str,
        agent_name: Option<&str>,
        run_id: &str,
        session_id: &str,
        user_id: Option<&str>,
        input: &str,
    ) -> RunTrace {
        let shown = agent_name.unwrap_or("Agent").replace([' ', '-'], "_");
        let mut attributes = Map::new();
        for (key, value) in [
            ("openinference.span.kind", Some("AGENT")),
            ("graph.node.name", Some(shown.as_str())),
            ("agent.name", agent_name.or(Some("Agent"))),
            ("agno.agent.id", Some(agent_id)),
            ("agno.agent", agent_name.or(Some(agent_id))),
            ("session.id", Some(session_id)),
            ("user.id", user_id),
            ("agno.run.id", Some(run_id)),
            ("input.value", Some(input)),
        ] {
            if let Some(value) = value {
                attributes.insert(key.into(), json!(value));
            }
        }
        RunTrace {
            trace_id: format!("{:032x}", fastrand::u128(1..)),
            root: Open {
                id: span_id(),
                parent: None,
                name: format!("{shown}.arun"),
                start: now_ns(),
                attributes,
            },
            spans: Vec::new(),
            hooks: HashMap::new(),
            writer,
        }
    }

    fn close(&mut self, open: Open, status: &str, message: Option<String>) {
        let end = now_ns();
        self.spans.push(SpanRow {
            span_id: open.id,
            trace_id: self.trace_id.clone(),
            parent_span_id: open.parent,
            name: open.name,
            span_kind: "INTERNAL".into(),
            status_code: status.into(),
            status_message: message,
            start_time: iso(open.start),
            end_time: iso(end),
            duration_ms: ((end - open.start) / 1_000_000) as i64,
            attributes: Value::Object(open.attributes),
            created_at: iso(end),
        });
    }

    /// An inline hook started.
    pub(crate) fn hook_started(&mut self, name: &str, phase: Phase) {
        let mut attributes = Map::new();
        attributes.insert("openinference.span.kind".into(), json!("HOOK"));
        attributes.insert("agno.hook.name".into(), json!(name));
        attributes.insert("agno.hook.phase".into(), json!(phase.as_str()));
        attributes.insert("agno.hook.mode".into(), json!("inline"));
        let open = Open {
            id: span_id(),
            parent: Some(self.root.id.clone()),
            name: name.to_owned(),
            start: now_ns(),
            attributes,
        };
        self.hooks.insert((name.to_owned(), phase), open);
    }

    /// An inline hook completed (a hook that stopped the run never
    /// completes: its span ends with the run, as an error).
    pub(crate) fn hook_completed(&mut self, name: &str, phase: Phase) {
        if let Some(open) = self.hooks.remove(&(name.to_owned(), phase)) {
            self.close(open, "OK", None);
        }
    }

    /// The model call, from `start` (epoch ns, [`RunTrace::now`]) to now.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn model_call(
        &mut self,
        start: i128,
        model: &str,
        provider: &str,
        input: Value,
        output: Option<&str>,
        tokens: Option<(u64, u64)>,
        error: Option<String>,
    ) {
        let mut attributes = Map::new();
        attributes.insert("openinference.span.kind".into(), json!("LLM"));
        attributes.insert("llm.model_name".into(), json!(model));
        attributes.insert("llm.provider".into(), json!(provider));
        attributes.insert("llm.system".into(), json!(provider.to_lowercase()));
        attributes.insert("input.mime_type".into(), json!("application/json"));
        attributes.insert("input.value".into(), json!(input.to_string()));
        if let Some((prompt, completion)) = tokens {
            if prompt > 0 {
                attributes.insert("llm.token_count.prompt".into(), json!(prompt));
            }
            if completion > 0 {
                attributes.insert("llm.token_count.completion".into(), json!(completion));
            }
            attributes.insert("llm.token_count.total".into(), json!(prompt + completion));
        }
        if let Some(output) = output {
            attributes.insert("output.value".into(), json!(output));
        }
        let open = Open {
            id: span_id(),
            parent: Some(self.root.id.clone()),
            name: format!("{provider}.ainvoke"),
            start,
            attributes,
        };
        match error {
            None => self.close(open, "OK", None),
            Some(e) => self.close(open, "ERROR", Some(e)),
        }
    }

    /// Epoch nanoseconds now, for a span's start.
    pub(crate) fn now() -> i128 {
        now_ns()
    }

    /// The run ended with `output`: the root closes, and the trace goes to
    /// the writer.
    pub(crate) fn finish(mut self, output: &RunOutput) {
        let failed = output.status == RunStatus::Error;
        for (_, open) in std::mem::take(&mut self.hooks) {
            let message = failed.then(|| output.content.clone().unwrap_or_default());
            self.close(open, if failed { "ERROR" } else { "OK" }, message);
        }
        let mut root = std::mem::replace(
            &mut self.root,
            Open {
                id: String::new(),
                parent: None,
                name: String::new(),
                start: 0,
                attributes: Map::new(),
            },
        );
        if let Some(content) = &output.content {
            root.attributes
                .insert("output.value".into(), json!(content));
            root.attributes
                .insert("output.mime_type".into(), json!("text/plain"));
        }
        let root_id = root.id.clone();
        let (status, message) = if failed {
            (
                "ERROR",
                Some(format!(
                    "run status: error: {}",
                    output.content.clone().unwrap_or_default()
                )),
            )
        } else {
            ("OK", None)
        };
        self.close(root, status, message);
        let root = self.spans.iter().find(|s| s.span_id == root_id).cloned();
        let Some(root) = root else { return };
        let any_error = self.spans.iter().any(|s| s.status_code == "ERROR");
        let text = |key: &str| {
            root.attributes
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let trace = TraceRow {
            trace_id: self.trace_id.clone(),
            name: root.name.clone(),
            status: if any_error { "ERROR" } else { "OK" }.into(),
            start_time: self
                .spans
                .iter()
                .map(|s| s.start_time.clone())
                .min()
                .unwrap_or_default(),
            end_time: self
                .spans
                .iter()
                .map(|s| s.end_time.clone())
                .max()
                .unwrap_or_default(),
            duration_ms: root.duration_ms,
            run_id: text("agno.run.id"),
            session_id: text("session.id"),
            user_id: text("user.id"),
            agent_id: text("agno.agent.id"),
            team_id: None,
            workflow_id: None,
            created_at: root.created_at.clone(),
            ..TraceRow::default()
        };
        let spans = std::mem::take(&mut self.spans);
        self.writer.send(trace, spans);
    }
}

/// What the writer's task is sent.
enum Message {
    Trace(Box<TraceRow>, Vec<SpanRow>),
    /// Answered once every trace sent before is written.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// The writer's channel and store, until its task takes them.
type Idle = (mpsc::Receiver<Message>, Arc<dyn Db>);

/// Writes finished traces to a store in batches, on a task of its own.
pub(crate) struct TraceWriter {
    tx: mpsc::Sender<Message>,
    rx: std::sync::Mutex<Option<Idle>>,
    dropped: std::sync::atomic::AtomicU64,
}

impl TraceWriter {
    /// A writer into `db`; its task starts with the first trace.
    pub(crate) fn new(db: Arc<dyn Db>) -> Arc<TraceWriter> {
        let (tx, rx) = mpsc::channel(QUEUE);
        Arc::new(TraceWriter {
            tx,
            rx: std::sync::Mutex::new(Some((rx, db))),
            dropped: Default::default(),
        })
    }

    /// Traces dropped because the writer was behind.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn started(&self) {
        if let Some((rx, db)) = self.rx.lock().unwrap_or_else(|e| e.into_inner()).take() {
            tokio::spawn(write_loop(rx, db));
        }
    }

    fn send(&self, trace: TraceRow, spans: Vec<SpanRow>) {
        self.started();
        if self
            .tx
            .try_send(Message::Trace(Box::new(trace), spans))
            .is_err()
        {
            let n = self
                .dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n.is_power_of_two() {
                tracing::warn!(dropped = n + 1, "traces dropped: the store is behind");
            }
        }
    }

    /// Waits until every trace sent so far is written.
    pub(crate) async fn flush(&self) {
        self.started();
        let (done, written) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }
}

async fn write_loop(mut rx: mpsc::Receiver<Message>, db: Arc<dyn Db>) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut traces = Vec::with_capacity(batch.len());
        let mut flushes = Vec::new();
        for message in batch.drain(..) {
            match message {
                Message::Trace(trace, spans) => traces.push((*trace, spans)),
                Message::Flush(done) => flushes.push(done),
            }
        }
        if !traces.is_empty()
            && let Err(error) = db.write_traces(traces).await
        {
            tracing::warn!(%error, "writing traces failed: they are lost");
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
