//! The values the store reads and writes: sessions, list queries and pages.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::DbError;

/// What kind of component a session belongs to (Agno's `session_type`
/// column: `"agent"`, `"team"` or `"workflow"`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionType {
    /// A session of an agent.
    #[default]
    Agent,
    /// A session of a team.
    Team,
    /// A session of a workflow.
    Workflow,
}

impl SessionType {
    /// The name stored in the `session_type` column (`"agent"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionType::Agent => "agent",
            SessionType::Team => "team",
            SessionType::Workflow => "workflow",
        }
    }

    /// The `agno_sessions` / `agno_runs` column holding the component's id
    /// for this session type (`agent_id`, `team_id` or `workflow_id`).
    pub(crate) fn component_column(self) -> &'static str {
        match self {
            SessionType::Agent => "agent_id",
            SessionType::Team => "team_id",
            SessionType::Workflow => "workflow_id",
        }
    }
}

impl fmt::Display for SessionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionType {
    type Err = DbError;

    /// Parses `"agent"`, `"team"` or `"workflow"` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "agent" => Ok(SessionType::Agent),
            "team" => Ok(SessionType::Team),
            "workflow" => Ok(SessionType::Workflow),
            other => Err(DbError::InvalidQuery(format!(
                "unknown session type {other:?} (expected agent, team or workflow)"
            ))),
        }
    }
}

/// How many bytes `value` takes as compact JSON (serde's), counted
/// without writing it: the one measure of a session state's size, before
/// a run and in both stores.
pub fn json_len(value: &impl Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; a map of JSON values always serialises.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// The SQL `LIMIT` and `OFFSET` of page `page` (from 1) of `limit` rows,
/// for both stores; a `limit` or `page` of 0 is
/// [`DbError::InvalidQuery`].
pub(crate) fn page_offset(limit: usize, page: usize) -> Result<(i64, i64), DbError> {
    if limit == 0 || page == 0 {
        return Err(DbError::InvalidQuery(
            "limit and page must be at least 1 (pages are 1-based)".into(),
        ));
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let offset = i64::try_from(page - 1)
        .unwrap_or(i64::MAX)
        .saturating_mul(limit);
    Ok((limit, offset))
}

/// The direction of a sorted list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Smallest first.
    Asc,
    /// Largest first (the default).
    #[default]
    Desc,
}

impl SortOrder {
    /// `"ASC"` or `"DESC"`, as written in SQL.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        }
    }
}

impl FromStr for SortOrder {
    type Err = DbError;

    /// Parses `"asc"` or `"desc"` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "asc" => Ok(SortOrder::Asc),
            "desc" => Ok(SortOrder::Desc),
            other => Err(DbError::InvalidQuery(format!(
                "unknown sort order {other:?} (expected asc or desc)"
            ))),
        }
    }
}

/// One row of `agno_sessions`: a conversation and its state.
///
/// Writing a record replaces the stored row's values (the store keeps the
/// row's original `created_at`, and any keys of `session_data` it does not
/// know, such as `session_metrics`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The session's id (primary key).
    pub session_id: String,
    /// Agent, team or workflow.
    pub session_type: SessionType,
    /// The id of the component the session belongs to. Stored in the
    /// `agent_id` column for agent sessions (`team_id` for teams,
    /// `workflow_id` for workflows).
    pub agent_id: Option<String>,
    /// The user the session belongs to.
    pub user_id: Option<String>,
    /// A human-readable name (`session_data.session_name`).
    pub session_name: Option<String>,
    /// The session state (`session_data.session_state`).
    #[serde(default)]
    pub session_state: Map<String, Value>,
    /// The component's description (`agent_data`: name, id, model).
    pub agent_data: Option<Value>,
    /// Free-form metadata (`metadata`).
    pub metadata: Option<Map<String, Value>>,
    /// A summary of the session (`summary`).
    pub summary: Option<Value>,
    /// The tokens of all the session's runs
    /// (`session_data.session_metrics.total_tokens`), as read. The store
    /// keeps this total itself as runs are written; a value given here is
    /// not written.
    #[serde(default)]
    pub total_tokens: u64,
    /// Epoch seconds when the session was created.
    pub created_at: i64,
    /// Epoch seconds when the session was last written.
    pub updated_at: i64,
    /// For a run's write ([`SessionStore::save_run`](super::SessionStore::save_run)): the most
    /// bytes (as JSON) the session's state may take once the run's keys
    /// are set on the state as stored at that moment; past it the write
    /// is refused ([`DbError::StateTooLarge`]), so runs in flight at once
    /// cannot grow it past the ceiling together. `None`: no ceiling. Not
    /// stored (a record read back has `None`).
    #[serde(skip)]
    pub max_state_bytes: Option<usize>,
}

impl SessionRecord {
    /// Refuses a state of `bytes` past [`SessionRecord::max_state_bytes`].
    pub(crate) fn check_state_size(&self, bytes: usize) -> Result<(), DbError> {
        match self.max_state_bytes {
            Some(limit) if bytes > limit => Err(DbError::StateTooLarge {
                session_id: self.session_id.clone(),
                bytes,
                limit,
            }),
            _ => Ok(()),
        }
    }
}

/// The `session_data` column a store writes for `session`, as Agno lays
/// it out: the state, the name and, when given, the token totals
/// (`session_metrics`). One type for both stores.
#[derive(Debug, Serialize)]
pub(crate) struct SessionData<'a> {
    session_state: &'a Map<String, Value>,
    session_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_metrics: Option<SessionMetrics>,
}

/// `session_data.session_metrics`.
#[derive(Debug, Serialize)]
struct SessionMetrics {
    input_tokens: i64,
    output_tokens: i64,
    total_tokens: i64,
}

impl<'a> SessionData<'a> {
    /// The column for `session`, with the token totals `tokens` (input,
    /// output, total) when given.
    pub(crate) fn of(session: &'a SessionRecord, tokens: Option<[i64; 3]>) -> Self {
        Self {
            session_state: &session.session_state,
            session_name: session.session_name.as_deref(),
            session_metrics: tokens.map(|[input_tokens, output_tokens, total_tokens]| {
                SessionMetrics {
                    input_tokens,
                    output_tokens,
                    total_tokens,
                }
            }),
        }
    }
}

/// What a session row says of the agent it belongs to (`agent_data`), as
/// Agno writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentData {
    /// The agent's id.
    pub agent_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its model.
    pub model: ModelInfo,
}

/// An agent's model as Agno's `Model.to_dict()` describes it (in a
/// session's `agent_data`; `GET /agents` answers it renamed, see
/// `os::wire::ModelResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The model's id, e.g. `gpt-5.2`.
    pub id: String,
    /// Its provider, e.g. `OpenAI`.
    pub provider: String,
    /// Agno's model class name; the provider here (a Rust model has no
    /// class).
    pub name: String,
}

impl ModelInfo {
    /// The description of `model`.
    pub fn of(model: &dyn crate::model::Model) -> Self {
        Self {
            id: model.id().to_owned(),
            provider: model.provider().to_owned(),
            name: model.provider().to_owned(),
        }
    }
}

/// How deeply a session's JSON (its state, metadata, summary, agent data)
/// may nest. The store refuses a deeper one ([`DbError::InvalidInput`]),
/// so that what it writes it can always read back: `serde_json` reads at
/// most 128 levels, and the state is stored inside `session_data`.
pub const MAX_JSON_DEPTH: usize = 64;

/// How many levels of arrays and objects `value` nests (a scalar is 0).
pub fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl SessionRecord {
    /// Refuses a session the store could not read back: an empty id, or
    /// JSON nested deeper than [`MAX_JSON_DEPTH`].
    pub(crate) fn check_writable(&self) -> Result<(), DbError> {
        if self.session_id.is_empty() {
            return Err(DbError::InvalidInput("session_id is empty".into()));
        }
        let map_depth = |m: &Map<String, Value>| 1 + m.values().map(json_depth).max().unwrap_or(0);
        let fields = [
            ("session_state", map_depth(&self.session_state)),
            ("metadata", self.metadata.as_ref().map_or(0, map_depth)),
            ("summary", self.summary.as_ref().map_or(0, json_depth)),
            ("agent_data", self.agent_data.as_ref().map_or(0, json_depth)),
        ];
        for (field, depth) in fields {
            if depth > MAX_JSON_DEPTH {
                return Err(DbError::InvalidInput(format!(
                    "{field} nests {depth} levels deep; at most {MAX_JSON_DEPTH} are stored"
                )));
            }
        }
        Ok(())
    }

    /// An empty session `session_id` of type `session_type`, created and
    /// updated now.
    pub fn new(session_id: impl Into<String>, session_type: SessionType) -> Self {
        let now = crate::clock::now_secs();
        Self {
            session_id: session_id.into(),
            session_type,
            created_at: now,
            updated_at: now,
            ..Self::default()
        }
    }
}

/// A session row as a store read it, its JSON columns parsed but not yet
/// checked: each store reads its columns its own way (SQLite's JSON text,
/// Postgres's JSONB), and [`StoredSession::decode`] turns either into a
/// [`SessionRecord`], naming the row and column that cannot be read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct StoredSession {
    pub(crate) session_id: String,
    pub(crate) session_type: String,
    pub(crate) agent_id: Option<String>,
    pub(crate) team_id: Option<String>,
    pub(crate) workflow_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) session_data: Option<Value>,
    pub(crate) agent_data: Option<Value>,
    pub(crate) metadata: Option<Value>,
    pub(crate) summary: Option<Value>,
    pub(crate) created_at: Option<i64>,
    pub(crate) updated_at: Option<i64>,
}

impl StoredSession {
    /// The record, or [`DbError::Corrupt`] naming what cannot be read.
    pub(crate) fn decode(self) -> Result<SessionRecord, DbError> {
        let id = self.session_id;
        let corrupt = |column: &'static str, reason: String| {
            DbError::corrupt(super::SESSIONS_TABLE, id.clone(), column, reason)
        };
        let session_type: SessionType = self
            .session_type
            .parse()
            .map_err(|_| corrupt("session_type", format!("unknown {:?}", self.session_type)))?;
        let agent_id = match session_type {
            SessionType::Agent => self.agent_id,
            SessionType::Team => self.team_id,
            SessionType::Workflow => self.workflow_id,
        };
        let mut data = match self.session_data {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(corrupt("session_data", format!("not an object: {other}")));
            }
        };
        let session_state = match data.remove("session_state") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(corrupt(
                    "session_data",
                    format!("session_state is not an object: {other}"),
                ));
            }
        };
        let session_name = match data.remove("session_name") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name),
            Some(other) => {
                return Err(corrupt(
                    "session_data",
                    format!("session_name is not a string: {other}"),
                ));
            }
        };
        let metadata = match self.metadata {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map),
            Some(other) => {
                return Err(corrupt("metadata", format!("not an object: {other}")));
            }
        };
        let total_tokens = data
            .get("session_metrics")
            .and_then(|m| m.get("total_tokens"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let created_at = self.created_at.unwrap_or(0);
        Ok(SessionRecord {
            total_tokens,
            session_id: id,
            session_type,
            agent_id,
            user_id: self.user_id,
            session_name,
            session_state,
            agent_data: self.agent_data,
            metadata,
            summary: self.summary,
            created_at,
            updated_at: self.updated_at.unwrap_or(created_at),
            max_state_bytes: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_type_serialises_lowercase() {
        assert_eq!(
            serde_json::to_string(&SessionType::Agent).unwrap(),
            "\"agent\""
        );
        assert_eq!(
            serde_json::from_str::<SessionType>("\"workflow\"").unwrap(),
            SessionType::Workflow
        );
        assert_eq!("TEAM".parse::<SessionType>().unwrap(), SessionType::Team);
        assert!(matches!(
            "robot".parse::<SessionType>(),
            Err(DbError::InvalidQuery(_))
        ));
    }

    #[test]
    fn sort_order_parses() {
        assert_eq!("asc".parse::<SortOrder>().unwrap(), SortOrder::Asc);
        assert_eq!("DESC".parse::<SortOrder>().unwrap(), SortOrder::Desc);
        assert_eq!(SortOrder::default(), SortOrder::Desc);
        assert!("up".parse::<SortOrder>().is_err());
    }

    #[test]
    fn record_round_trips_through_json() {
        let mut record = SessionRecord::new("s1", SessionType::Agent);
        record.session_state.insert("count".into(), 3.into());
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["session_type"], "agent");
        let back: SessionRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
    }
}
