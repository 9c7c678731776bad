//! Stored rows read back on SQLite: a session's or a run's columns
//! decoded, a row that cannot be read named in the error (never a panic).

use hooks_core::RunOutput;
use rusqlite::Row;
use rusqlite::types::Value as SqlValue;
use serde_json::Value;

use crate::db::records::StoredSession;
use crate::db::{DbError, RUNS_TABLE, SESSIONS_TABLE, SessionRecord};

/// `(run_id, run_data)` as stored.
pub(super) fn read_run_row(row: &Row<'_>) -> rusqlite::Result<(String, SqlValue)> {
    Ok((row.get(0)?, row.get(1)?))
}

/// A run from its stored `(run_id, run_data)`.
pub(super) fn decode_run((run_id, data): (String, SqlValue)) -> Result<RunOutput, DbError> {
    let bytes = match &data {
        SqlValue::Text(text) => text.as_bytes(),
        SqlValue::Blob(blob) => blob.as_slice(),
        SqlValue::Null => {
            return Err(DbError::corrupt(RUNS_TABLE, run_id, "run_data", "NULL"));
        }
        other => {
            return Err(DbError::corrupt(
                RUNS_TABLE,
                run_id,
                "run_data",
                format!("not a JSON object: {other:?}"),
            ));
        }
    };
    serde_json::from_slice(bytes).map_err(|e| DbError::corrupt(RUNS_TABLE, run_id, "run_data", e))
}

/// A session row as stored, before its JSON columns are parsed (parsing
/// happens outside rusqlite's row callback so failures name the row).
pub(super) struct RawSession {
    pub(super) session_id: String,
    session_type: String,
    agent_id: Option<String>,
    team_id: Option<String>,
    workflow_id: Option<String>,
    user_id: Option<String>,
    session_data: SqlValue,
    agent_data: SqlValue,
    metadata: SqlValue,
    summary: SqlValue,
    created_at: SqlValue,
    updated_at: SqlValue,
}

impl RawSession {
    pub(super) fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            session_id: row.get(0)?,
            session_type: row.get(1)?,
            agent_id: row.get(2)?,
            team_id: row.get(3)?,
            workflow_id: row.get(4)?,
            user_id: row.get(5)?,
            session_data: row.get(6)?,
            agent_data: row.get(7)?,
            metadata: row.get(8)?,
            summary: row.get(9)?,
            created_at: row.get(10)?,
            updated_at: row.get(11)?,
        })
    }

    pub(super) fn decode(self) -> Result<SessionRecord, DbError> {
        let id = &self.session_id;
        let corrupt = |column: &'static str, reason: String| {
            DbError::corrupt(SESSIONS_TABLE, id.clone(), column, reason)
        };
        StoredSession {
            session_data: json_value(&self.session_data).map_err(|e| corrupt("session_data", e))?,
            agent_data: json_value(&self.agent_data).map_err(|e| corrupt("agent_data", e))?,
            metadata: json_value(&self.metadata).map_err(|e| corrupt("metadata", e))?,
            summary: json_value(&self.summary).map_err(|e| corrupt("summary", e))?,
            created_at: integer(&self.created_at).map_err(|e| corrupt("created_at", e))?,
            updated_at: integer(&self.updated_at).map_err(|e| corrupt("updated_at", e))?,
            session_id: self.session_id,
            session_type: self.session_type,
            agent_id: self.agent_id,
            team_id: self.team_id,
            workflow_id: self.workflow_id,
            user_id: self.user_id,
        }
        .decode()
    }
}

/// A JSON column's value. SQLite may have stored a JSON scalar as a number
/// (the `JSON` declared type has numeric affinity), so numbers are accepted.
fn json_value(value: &SqlValue) -> Result<Option<Value>, String> {
    match value {
        SqlValue::Null => Ok(None),
        SqlValue::Integer(i) => Ok(Some(Value::from(*i))),
        SqlValue::Real(f) => serde_json::Number::from_f64(*f)
            .map(|n| Some(Value::Number(n)))
            .ok_or_else(|| format!("not a JSON number: {f}")),
        SqlValue::Text(text) => serde_json::from_str(text)
            .map(Some)
            .map_err(|e| e.to_string()),
        SqlValue::Blob(blob) => serde_json::from_slice(blob)
            .map(Some)
            .map_err(|e| e.to_string()),
    }
}

/// An epoch-seconds column (an integer; a real is truncated).
fn integer(value: &SqlValue) -> Result<Option<i64>, String> {
    match value {
        SqlValue::Null => Ok(None),
        SqlValue::Integer(i) => Ok(Some(*i)),
        SqlValue::Real(f) => Ok(Some(*f as i64)),
        SqlValue::Text(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("not an integer: {text:?}")),
        SqlValue::Blob(_) => Err("a blob, not an integer".into()),
    }
}
