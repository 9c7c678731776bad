//! Agno's stored traces (`agno_traces`, `agno_spans`): the rows, the
//! queries the `/traces` routes make, and their SQL once for both stores
//! (a placeholder function gives each dialect its own).

use serde_json::Value;

use super::DbFuture;

/// A time as the trace tables keep it (Agno's): UTC, microseconds,
/// `2026-12-07T06:44:51.123456+00:00`, so that text order is time order.
pub fn stored_time_of(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// A span as Agno stores it: times as ISO text (`…+00:00`), attributes as
/// JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRow {
    /// 16 hex digits.
    pub span_id: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// The parent's id; `None` for the trace's root.
    pub parent_span_id: Option<String>,
    /// `{Agent}.arun`, `{Model}.ainvoke`, a hook's name.
    pub name: String,
    /// OpenTelemetry's kind (`INTERNAL`).
    pub span_kind: String,
    /// `OK`, `ERROR` or `UNSET`.
    pub status_code: String,
    /// Why it failed.
    pub status_message: Option<String>,
    /// ISO start.
    pub start_time: String,
    /// ISO end.
    pub end_time: String,
    /// Its length in whole milliseconds.
    pub duration_ms: i64,
    /// OpenInference's attributes (`openinference.span.kind`, `input.value`, …).
    pub attributes: Value,
    /// When written (ISO).
    pub created_at: String,
}

/// A trace as Agno stores it, with the counts every read computes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceRow {
    /// 32 hex digits.
    pub trace_id: String,
    /// Its root span's name.
    pub name: String,
    /// `OK` or `ERROR`.
    pub status: String,
    /// ISO start.
    pub start_time: String,
    /// ISO end.
    pub end_time: String,
    /// Milliseconds.
    pub duration_ms: i64,
    /// The run it traces.
    pub run_id: Option<String>,
    /// Its session.
    pub session_id: Option<String>,
    /// Its user.
    pub user_id: Option<String>,
    /// Its agent.
    pub agent_id: Option<String>,
    /// Its team (none here).
    pub team_id: Option<String>,
    /// Its workflow (none here).
    pub workflow_id: Option<String>,
    /// When first written (ISO).
    pub created_at: String,
    /// Its spans (read side).
    pub total_spans: i64,
    /// Its spans with `status_code = 'ERROR'` (read side).
    pub error_count: i64,
    /// The root span's `input.value` (read side, lists).
    pub input: Option<String>,
}

/// `GET /traces`' filters and page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceQuery {
    /// Equality filters on the trace's columns.
    pub run_id: Option<String>,
    /// See `run_id`.
    pub session_id: Option<String>,
    /// See `run_id`.
    pub user_id: Option<String>,
    /// See `run_id`.
    pub agent_id: Option<String>,
    /// See `run_id`.
    pub team_id: Option<String>,
    /// See `run_id`.
    pub workflow_id: Option<String>,
    /// `OK` or `ERROR`.
    pub status: Option<String>,
    /// Traces starting at or after (ISO, as stored).
    pub start_time: Option<String>,
    /// Traces ending at or before (ISO, as stored).
    pub end_time: Option<String>,
    /// A search's expression (`POST /traces/search`), AND-ed with the rest.
    pub filter: Option<TraceFilter>,
    /// From 1.
    pub page: u32,
    /// Per page.
    pub limit: u32,
}

/// A column of `agno_traces` a search may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceColumn {
    /// `status`.
    Status,
    /// `user_id`.
    UserId,
    /// `agent_id`.
    AgentId,
    /// `team_id`.
    TeamId,
    /// `workflow_id`.
    WorkflowId,
    /// `session_id`.
    SessionId,
    /// `run_id`.
    RunId,
    /// `trace_id`.
    TraceId,
    /// `name`.
    Name,
    /// `duration_ms` (a number).
    DurationMs,
    /// `start_time` (ISO, as stored).
    StartTime,
    /// `end_time`.
    EndTime,
    /// `created_at`.
    CreatedAt,
}

impl TraceColumn {
    /// Every column, in Agno's filter schema's order.
    pub const ALL: [TraceColumn; 13] = [
        TraceColumn::Status,
        TraceColumn::UserId,
        TraceColumn::AgentId,
        TraceColumn::TeamId,
        TraceColumn::WorkflowId,
        TraceColumn::SessionId,
        TraceColumn::RunId,
        TraceColumn::Name,
        TraceColumn::TraceId,
        TraceColumn::DurationMs,
        TraceColumn::StartTime,
        TraceColumn::EndTime,
        TraceColumn::CreatedAt,
    ];

    /// The column's name.
    pub fn name(self) -> &'static str {
        match self {
            TraceColumn::Status => "status",
            TraceColumn::UserId => "user_id",
            TraceColumn::AgentId => "agent_id",
            TraceColumn::TeamId => "team_id",
            TraceColumn::WorkflowId => "workflow_id",
            TraceColumn::SessionId => "session_id",
            TraceColumn::RunId => "run_id",
            TraceColumn::TraceId => "trace_id",
            TraceColumn::Name => "name",
            TraceColumn::DurationMs => "duration_ms",
            TraceColumn::StartTime => "start_time",
            TraceColumn::EndTime => "end_time",
            TraceColumn::CreatedAt => "created_at",
        }
    }

    /// The column named `name`.
    pub fn named(name: &str) -> Option<TraceColumn> {
        TraceColumn::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// A comparison of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `=`.
    Eq,
    /// `<>`.
    Neq,
    /// `>`.
    Gt,
    /// `>=`.
    Gte,
    /// `<`.
    Lt,
    /// `<=`.
    Lte,
}

impl Compare {
    fn sql(self) -> &'static str {
        match self {
            Compare::Eq => "=",
            Compare::Neq => "<>",
            Compare::Gt => ">",
            Compare::Gte => ">=",
            Compare::Lt => "<",
            Compare::Lte => "<=",
        }
    }
}

/// A search's expression over the trace's columns (Agno's `FilterExpr`),
/// checked before it gets here: text columns take text, `duration_ms` a
/// number, times are as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceFilter {
    /// A text column compared with a value.
    Text(TraceColumn, Compare, String),
    /// `duration_ms` compared with a number.
    Number(TraceColumn, Compare, i64),
    /// A column among values.
    In(TraceColumn, Vec<String>),
    /// A column holding the text, whatever its case.
    Contains(TraceColumn, String),
    /// A column starting with the text, whatever its case.
    StartsWith(TraceColumn, String),
    /// All of them (none: true).
    And(Vec<TraceFilter>),
    /// One of them (none: false).
    Or(Vec<TraceFilter>),
    /// Not it.
    Not(Box<TraceFilter>),
}

/// `text` for a `LIKE … ESCAPE '\'`, its wildcards taken literally.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The SQL of a search's expression on trace `t`.
fn filter_sql(
    filter: &TraceFilter,
    placeholder: &dyn Fn(usize) -> String,
    args: &mut Vec<Option<String>>,
) -> String {
    let bind = |value: String, args: &mut Vec<Option<String>>| {
        args.push(Some(value));
        placeholder(args.len())
    };
    match filter {
        TraceFilter::Text(column, op, value) => {
            format!(
                "t.{} {} {}",
                column.name(),
                op.sql(),
                bind(value.clone(), args)
            )
        }
        TraceFilter::Number(column, op, value) => {
            format!("t.{} {} {value}", column.name(), op.sql())
        }
        TraceFilter::In(_, values) if values.is_empty() => "1 = 0".into(),
        TraceFilter::In(column, values) => {
            let list: Vec<String> = values.iter().map(|v| bind(v.clone(), args)).collect();
            format!("t.{} IN ({})", column.name(), list.join(", "))
        }
        TraceFilter::Contains(column, value) => format!(
            "lower(t.{}) LIKE {} ESCAPE '\\'",
            column.name(),
            bind(format!("%{}%", like_escaped(&value.to_lowercase())), args)
        ),
        TraceFilter::StartsWith(column, value) => format!(
            "lower(t.{}) LIKE {} ESCAPE '\\'",
            column.name(),
            bind(format!("{}%", like_escaped(&value.to_lowercase())), args)
        ),
        TraceFilter::And(all) if all.is_empty() => "1 = 1".into(),
        TraceFilter::Or(any) if any.is_empty() => "1 = 0".into(),
        TraceFilter::And(all) => {
            let parts: Vec<String> = all
                .iter()
                .map(|f| filter_sql(f, placeholder, args))
                .collect();
            format!("({})", parts.join(" AND "))
        }
        TraceFilter::Or(any) => {
            let parts: Vec<String> = any
                .iter()
                .map(|f| filter_sql(f, placeholder, args))
                .collect();
            format!("({})", parts.join(" OR "))
        }
        TraceFilter::Not(inner) => format!("NOT ({})", filter_sql(inner, placeholder, args)),
    }
}

/// `GET /trace_session_stats`' filters and page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionStatsQuery {
    /// Equality filters.
    pub user_id: Option<String>,
    /// See `user_id`.
    pub agent_id: Option<String>,
    /// See `user_id`.
    pub team_id: Option<String>,
    /// See `user_id`.
    pub workflow_id: Option<String>,
    /// Traces created at or after (ISO).
    pub start_time: Option<String>,
    /// Traces created at or before (ISO).
    pub end_time: Option<String>,
    /// A search's expression (`POST /traces/search`), AND-ed with the rest.
    pub filter: Option<TraceFilter>,
    /// From 1.
    pub page: u32,
    /// Per page.
    pub limit: u32,
}

/// One session's traces, summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatsRow {
    /// The session.
    pub session_id: String,
    /// Its user (MAX over its traces).
    pub user_id: Option<String>,
    /// Its agent.
    pub agent_id: Option<String>,
    /// Its team.
    pub team_id: Option<String>,
    /// Its workflow.
    pub workflow_id: Option<String>,
    /// How many traces.
    pub total_traces: i64,
    /// The first one's `created_at`.
    pub first_trace_at: String,
    /// The last one's `created_at`.
    pub last_trace_at: String,
}

/// Where Agno's traces are kept. Object-safe.
pub trait TraceStore: Send + Sync + 'static {
    /// Writes traces with their spans in one transaction: a trace already
    /// stored keeps its ids and `created_at` and widens to the new spans;
    /// a span already stored is left.
    fn write_traces(&self, traces: Vec<(TraceRow, Vec<SpanRow>)>) -> DbFuture<'_, ()>;

    /// A page of traces (newest first) and how many match.
    fn list_traces(&self, query: TraceQuery) -> DbFuture<'_, (Vec<TraceRow>, u64)>;

    /// A trace and its spans (by start).
    fn get_trace(&self, trace_id: &str) -> DbFuture<'_, Option<(TraceRow, Vec<SpanRow>)>>;

    /// A page of sessions with traces (latest first) and how many.
    fn trace_session_stats(
        &self,
        query: SessionStatsQuery,
    ) -> DbFuture<'_, (Vec<SessionStatsRow>, u64)>;
}

/// A statement and its text arguments.
pub(crate) struct Sql {
    /// The SQL, placeholders in the dialect's form.
    pub text: String,
    /// The arguments, in order.
    pub args: Vec<Option<String>>,
}

/// The `WHERE` of a trace list: equality on the columns, the time bounds.
fn trace_filter(
    query: &TraceQuery,
    placeholder: &dyn Fn(usize) -> String,
    args: &mut Vec<Option<String>>,
) -> String {
    let mut clauses = Vec::new();
    let mut bind = |clause: &str, value: &Option<String>, args: &mut Vec<Option<String>>| {
        if let Some(value) = value {
            args.push(Some(value.clone()));
            clauses.push(clause.replace('?', &placeholder(args.len())));
        }
    };
    bind("t.run_id = ?", &query.run_id, args);
    bind("t.session_id = ?", &query.session_id, args);
    bind("t.user_id = ?", &query.user_id, args);
    bind("t.agent_id = ?", &query.agent_id, args);
    bind("t.team_id = ?", &query.team_id, args);
    bind("t.workflow_id = ?", &query.workflow_id, args);
    bind("t.status = ?", &query.status, args);
    bind("t.start_time >= ?", &query.start_time, args);
    bind("t.end_time <= ?", &query.end_time, args);
    if let Some(filter) = &query.filter {
        clauses.push(filter_sql(filter, placeholder, args));
    }
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}

/// The columns every trace read takes, with the span counts and the
/// root's input (`input` is the dialect's expression for an attribute).
fn trace_columns(input: &str) -> String {
    format!(
        "t.trace_id, t.name, t.status, t.start_time, t.end_time, t.duration_ms, t.run_id, \
         t.session_id, t.user_id, t.agent_id, t.team_id, t.workflow_id, t.created_at, \
         (SELECT count(*) FROM agno_spans s WHERE s.trace_id = t.trace_id), \
         (SELECT count(*) FROM agno_spans s WHERE s.trace_id = t.trace_id AND s.status_code = 'ERROR'), \
         (SELECT {input} FROM agno_spans r WHERE r.trace_id = t.trace_id AND r.parent_span_id IS NULL \
          ORDER BY r.start_time LIMIT 1)"
    )
}

/// A page of traces and the count, for a dialect (`input`: the root
/// input's expression on span `r`).
pub(crate) fn list_traces(
    query: &TraceQuery,
    placeholder: &dyn Fn(usize) -> String,
    input: &str,
) -> (Sql, Sql) {
    let mut args = Vec::new();
    let filter = trace_filter(query, placeholder, &mut args);
    let count = Sql {
        text: format!("SELECT count(*) FROM agno_traces t {filter}"),
        args: args.clone(),
    };
    let limit = query.limit.max(1);
    let offset = (query.page.max(1) - 1) as u64 * u64::from(limit);
    let page = Sql {
        text: format!(
            "SELECT {} FROM agno_traces t {filter} ORDER BY t.start_time DESC, t.trace_id LIMIT {limit} OFFSET {offset}",
            trace_columns(input)
        ),
        args,
    };
    (page, count)
}

/// One trace's row, for a dialect.
pub(crate) fn get_trace(trace_id: &str, placeholder: &dyn Fn(usize) -> String, input: &str) -> Sql {
    Sql {
        text: format!(
            "SELECT {} FROM agno_traces t WHERE t.trace_id = {}",
            trace_columns(input),
            placeholder(1)
        ),
        args: vec![Some(trace_id.to_owned())],
    }
}

/// The session stats' page and count, for a dialect.
pub(crate) fn session_stats(
    query: &SessionStatsQuery,
    placeholder: &dyn Fn(usize) -> String,
) -> (Sql, Sql) {
    let mut args: Vec<Option<String>> = Vec::new();
    let mut clauses = vec!["t.session_id IS NOT NULL".to_owned()];
    for (clause, value) in [
        ("t.user_id = ?", &query.user_id),
        ("t.agent_id = ?", &query.agent_id),
        ("t.team_id = ?", &query.team_id),
        ("t.workflow_id = ?", &query.workflow_id),
        ("t.created_at >= ?", &query.start_time),
        ("t.created_at <= ?", &query.end_time),
    ] {
        if let Some(value) = value {
            args.push(Some(value.clone()));
            clauses.push(clause.replace('?', &placeholder(args.len())));
        }
    }
    if let Some(filter) = &query.filter {
        clauses.push(filter_sql(filter, placeholder, &mut args));
    }
    let filter = format!("WHERE {}", clauses.join(" AND "));
    let count = Sql {
        text: format!("SELECT count(DISTINCT t.session_id) FROM agno_traces t {filter}"),
        args: args.clone(),
    };
    let limit = query.limit.max(1);
    let offset = (query.page.max(1) - 1) as u64 * u64::from(limit);
    let page = Sql {
        text: format!(
            "SELECT t.session_id, max(t.user_id), max(t.agent_id), max(t.team_id), max(t.workflow_id), \
             count(*), min(t.created_at), max(t.created_at) FROM agno_traces t {filter} \
             GROUP BY t.session_id ORDER BY max(t.created_at) DESC, t.session_id LIMIT {limit} OFFSET {offset}"
        ),
        args,
    };
    (page, count)
}

/// The upsert of a trace row (`excluded` is the new row), for a dialect
/// whose placeholders `placeholder` makes: its 13 arguments in the
/// columns' order (the duration a number).
pub(crate) fn upsert_trace(placeholder: &dyn Fn(usize) -> String) -> String {
    let p: Vec<String> = (1..=13).map(placeholder).collect();
    format!(
        "INSERT INTO agno_traces (trace_id, name, status, start_time, end_time, duration_ms, run_id, \
         session_id, user_id, agent_id, team_id, workflow_id, created_at) \
         VALUES ({}) \
         ON CONFLICT (trace_id) DO UPDATE SET \
           start_time = CASE WHEN excluded.start_time < agno_traces.start_time THEN excluded.start_time ELSE agno_traces.start_time END, \
           end_time = CASE WHEN excluded.end_time > agno_traces.end_time THEN excluded.end_time ELSE agno_traces.end_time END, \
           duration_ms = CASE WHEN excluded.duration_ms > agno_traces.duration_ms THEN excluded.duration_ms ELSE agno_traces.duration_ms END, \
           status = excluded.status, \
           run_id = coalesce(agno_traces.run_id, excluded.run_id), \
           session_id = coalesce(agno_traces.session_id, excluded.session_id), \
           user_id = coalesce(agno_traces.user_id, excluded.user_id), \
           agent_id = coalesce(agno_traces.agent_id, excluded.agent_id), \
           team_id = coalesce(agno_traces.team_id, excluded.team_id), \
           workflow_id = coalesce(agno_traces.workflow_id, excluded.workflow_id)",
        p.join(", ")
    )
}
