//! Agno's trace payloads (`agno/os/routers/traces/schemas.py`): a trace's
//! summary, its detail with the tree of its spans, a session's stats, a
//! page of them. Fields that are `None` are left out, as Agno does.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::db::{SessionStatsRow, SpanRow, TraceRow};

/// A stored time (`…+00:00`) as Agno answers it (`…Z`, microseconds only
/// when there are some).
pub fn time(stored: &str) -> String {
    let base = stored.strip_suffix("+00:00").unwrap_or(stored);
    let base = base.strip_suffix(".000000").unwrap_or(base);
    if base.ends_with('Z') {
        base.to_owned()
    } else {
        format!("{base}Z")
    }
}

/// Agno's `format_duration_ms`: `97ms` below a second, else `1.25s`.
pub fn duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{:.2}s", ms as f64 / 1000.0)
    }
}

/// `TraceSummary`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TraceSummary {
    /// 32 hex digits.
    pub trace_id: String,
    /// The root span's name.
    pub name: String,
    /// `OK` or `ERROR`.
    pub status: String,
    /// `97ms`, `1.25s`.
    pub duration: String,
    /// ISO start.
    pub start_time: String,
    /// ISO end.
    pub end_time: String,
    /// Its spans.
    pub total_spans: i64,
    /// Its spans that failed.
    pub error_count: i64,
    /// The root span's input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// The team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// The workflow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// When first stored.
    pub created_at: String,
}

impl From<&TraceRow> for TraceSummary {
    fn from(t: &TraceRow) -> Self {
        Self {
            trace_id: t.trace_id.clone(),
            name: t.name.clone(),
            status: t.status.clone(),
            duration: duration(t.duration_ms),
            start_time: time(&t.start_time),
            end_time: time(&t.end_time),
            total_spans: t.total_spans,
            error_count: t.error_count,
            input: t.input.clone(),
            run_id: t.run_id.clone(),
            session_id: t.session_id.clone(),
            user_id: t.user_id.clone(),
            agent_id: t.agent_id.clone(),
            team_id: t.team_id.clone(),
            workflow_id: t.workflow_id.clone(),
            created_at: time(&t.created_at),
        }
    }
}

/// `TraceNode`: a span and its children.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TraceNode {
    /// The span's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `AGENT`, `LLM`, `TOOL`, `HOOK` (ours), …
    #[serde(rename = "type")]
    pub kind: String,
    /// `97ms`, `1.25s`.
    pub duration: String,
    /// ISO start.
    pub start_time: String,
    /// ISO end.
    pub end_time: String,
    /// `OK`, `ERROR`, `UNSET`.
    pub status: String,
    /// `input.value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// `output.value` (none on an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its children, by start.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub spans: Option<Vec<TraceNode>>,
    /// Per kind: an agent's `run_id`, an LLM's `model` and tokens, a hook's
    /// name, phase and mode; `session_id` and `user_id` where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
}

/// `TraceDetail`: the summary, the root's input, output and error, and
/// the tree.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TraceDetail {
    /// The summary's fields.
    #[serde(flatten)]
    pub summary: TraceSummary,
    /// The root span's output (none on an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Why the root failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The root spans, each with its children.
    pub tree: Vec<TraceNode>,
}

fn attr(span: &SpanRow, key: &str) -> Option<Value> {
    span.attributes.get(key).cloned().filter(|v| !v.is_null())
}

fn text(span: &SpanRow, key: &str) -> Option<String> {
    attr(span, key).map(|v| match v {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// Agno's `_derive_span_type`.
fn kind(span: &SpanRow) -> String {
    let kind = text(span, "openinference.span.kind").unwrap_or_else(|| "UNKNOWN".into());
    match kind.as_str() {
        "CHAIN" => "WORKFLOW".into(),
        "AGENT" if attr(span, "agno.team.id").is_some() || attr(span, "team.id").is_some() => {
            "TEAM".into()
        }
        _ => kind,
    }
}

/// A span's node (Agno's `TraceNode.from_span`).
pub fn node(span: &SpanRow, spans: Option<Vec<TraceNode>>) -> TraceNode {
    let mut metadata = Map::new();
    let kind_raw = text(span, "openinference.span.kind").unwrap_or_default();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            metadata.insert(key.into(), value);
        }
    };
    match kind_raw.as_str() {
        "AGENT" => put("run_id", attr(span, "agno.run.id")),
        "LLM" => {
            put("model", attr(span, "llm.model_name"));
            put("input_tokens", attr(span, "llm.token_count.prompt"));
            put("output_tokens", attr(span, "llm.token_count.completion"));
        }
        "TOOL" => {
            put("tool_name", attr(span, "tool.name"));
            put("parameters", attr(span, "tool.parameters"));
        }
        "HOOK" => {
            put("hook_name", attr(span, "agno.hook.name"));
            put("phase", attr(span, "agno.hook.phase"));
            put("mode", attr(span, "agno.hook.mode"));
        }
        _ => {}
    }
    put("session_id", attr(span, "session.id"));
    put("user_id", attr(span, "user.id"));
    let failed = span.status_code == "ERROR";
    TraceNode {
        id: span.span_id.clone(),
        name: span.name.clone(),
        kind: kind(span),
        duration: duration(span.duration_ms),
        start_time: time(&span.start_time),
        end_time: time(&span.end_time),
        status: span.status_code.clone(),
        input: text(span, "input.value"),
        output: if failed {
            None
        } else {
            text(span, "output.value")
        },
        error: failed
            .then(|| {
                span.status_message
                    .clone()
                    .or_else(|| text(span, "exception.message"))
            })
            .flatten(),
        spans,
        metadata: (!metadata.is_empty()).then_some(Value::Object(metadata)),
    }
}

/// Agno's `TraceDetail.from_trace_and_spans`.
pub fn detail(trace: &TraceRow, spans: &[SpanRow]) -> TraceDetail {
    let root = spans.iter().find(|s| s.parent_span_id.is_none());
    let (mut output, mut error) = (None, None);
    if let Some(root) = root {
        if trace.status == "ERROR" || root.status_code == "ERROR" {
            error = root
                .status_message
                .clone()
                .or_else(|| text(root, "exception.message"));
        } else {
            output = text(root, "output.value");
        }
    }
    let (mut input_tokens, mut output_tokens) = (0i64, 0i64);
    for span in spans
        .iter()
        .filter(|s| text(s, "openinference.span.kind").as_deref() == Some("LLM"))
    {
        input_tokens += attr(span, "llm.token_count.prompt")
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        output_tokens += attr(span, "llm.token_count.completion")
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
    }
    fn children(spans: &[SpanRow], parent: &str) -> Option<Vec<TraceNode>> {
        let mut kids: Vec<&SpanRow> = spans
            .iter()
            .filter(|s| s.parent_span_id.as_deref() == Some(parent))
            .collect();
        kids.sort_by(|a, b| a.start_time.cmp(&b.start_time));
        (!kids.is_empty()).then(|| {
            kids.into_iter()
                .map(|k| node(k, children(spans, &k.span_id)))
                .collect()
        })
    }
    let mut roots: Vec<&SpanRow> = spans
        .iter()
        .filter(|s| s.parent_span_id.is_none())
        .collect();
    roots.sort_by(|a, b| a.start_time.cmp(&b.start_time));
    let tree = roots
        .into_iter()
        .map(|root| {
            let mut metadata = Map::new();
            if input_tokens > 0 {
                metadata.insert("total_input_tokens".into(), input_tokens.into());
            }
            if output_tokens > 0 {
                metadata.insert("total_output_tokens".into(), output_tokens.into());
            }
            TraceNode {
                id: root.span_id.clone(),
                name: root.name.clone(),
                kind: kind(root),
                duration: duration(trace.duration_ms),
                start_time: time(&trace.start_time),
                end_time: time(&trace.end_time),
                status: root.status_code.clone(),
                input: None,
                output: None,
                error: None,
                spans: children(spans, &root.span_id),
                metadata: (!metadata.is_empty()).then_some(Value::Object(metadata)),
            }
        })
        .collect();
    TraceDetail {
        summary: TraceSummary {
            input: root.and_then(|r| text(r, "input.value")),
            ..TraceSummary::from(trace)
        },
        output,
        error,
        tree,
    }
}

/// `TraceSessionStats`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TraceSessionStats {
    /// The session.
    pub session_id: String,
    /// Its user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Its agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Its team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// Its workflow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// How many traces.
    pub total_traces: i64,
    /// The first one's `created_at`.
    pub first_trace_at: String,
    /// The last one's.
    pub last_trace_at: String,
}

impl From<SessionStatsRow> for TraceSessionStats {
    fn from(r: SessionStatsRow) -> Self {
        Self {
            session_id: r.session_id,
            user_id: r.user_id,
            agent_id: r.agent_id,
            team_id: r.team_id,
            workflow_id: r.workflow_id,
            total_traces: r.total_traces,
            first_trace_at: time(&r.first_trace_at),
            last_trace_at: time(&r.last_trace_at),
        }
    }
}

/// A page's `meta`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PageMeta {
    /// The page.
    pub page: u32,
    /// Per page.
    pub limit: u32,
    /// `ceil(total_count / limit)`.
    pub total_pages: u64,
    /// How many match.
    pub total_count: u64,
    /// How long the read took.
    pub search_time_ms: f64,
}

/// A page: `{"data": [...], "meta": {...}}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TracePage<T: utoipa::ToSchema> {
    /// The items.
    pub data: Vec<T>,
    /// Where they are among all.
    pub meta: PageMeta,
}

impl PageMeta {
    /// The meta of page `page` of `limit` among `total`, read in `ms`.
    pub fn new(page: u32, limit: u32, total: u64, ms: f64) -> Self {
        Self {
            page,
            limit,
            total_pages: total.div_ceil(u64::from(limit.max(1))),
            total_count: total,
            search_time_ms: (ms * 100.0).round() / 100.0,
        }
    }
}
