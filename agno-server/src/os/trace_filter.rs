//! Agno's `FilterExpr` for `POST /traces/search` (`agno/filters.py`,
//! `agno/db/filter_converter.py`): the JSON a client sends, read into the
//! store's [`TraceFilter`], and the static schema `GET
//! /traces/filter-schema` answers. Times are read as ISO 8601 and compared
//! as stored (UTC, microseconds).

use serde::Serialize;
use serde_json::Value;

use crate::db::stored_time_of;
use crate::db::{Compare, TraceColumn, TraceFilter};

/// How deep an expression may nest (Agno's `MAX_FILTER_DEPTH`).
const MAX_DEPTH: usize = 10;

/// The time `value` (RFC 3339, or ISO 8601 without an offset, read as UTC)
/// as the stores keep it: `2026-12-07T06:44:51.123456+00:00`.
pub(crate) fn stored_time(value: &str) -> Option<String> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    let parsed = time::OffsetDateTime::parse(value, &Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(value, &Iso8601::DEFAULT))
        .or_else(|_| {
            time::PrimitiveDateTime::parse(value, &Iso8601::DEFAULT).map(|t| t.assume_utc())
        })
        .ok()?;
    Some(stored_time_of(parsed))
}

/// Why an expression was refused (answered `400 Invalid filter
/// expression: …`, as Agno words it).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct FilterError(String);

fn refuse(message: impl Into<String>) -> FilterError {
    FilterError(message.into())
}

/// Reads Agno's serialized `FilterExpr` (`{"op":"EQ","key":…,"value":…}`,
/// `{"op":"IN","key":…,"values":[…]}`, `{"op":"AND"|"OR","conditions":[…]}`,
/// `{"op":"NOT","condition":…}`). Unlike Agno, a key that is not a trace
/// column is refused here (Agno logs it and answers an empty page).
pub fn parse(expr: &Value) -> Result<TraceFilter, FilterError> {
    parse_at(expr, 0)
}

fn parse_at(expr: &Value, depth: usize) -> Result<TraceFilter, FilterError> {
    if depth > MAX_DEPTH {
        return Err(refuse(format!(
            "Filter expression exceeds maximum nesting depth of {MAX_DEPTH}"
        )));
    }
    let Some(op) = expr.get("op").and_then(Value::as_str) else {
        return Err(refuse(format!(
            "Invalid filter dictionary: must contain 'op' key. Got: {expr}"
        )));
    };
    match op {
        "AND" | "OR" => {
            let Some(conditions) = expr.get("conditions").and_then(Value::as_array) else {
                return Err(refuse(format!(
                    "{op} filter requires 'conditions' field. Got: {expr}"
                )));
            };
            let parts = conditions
                .iter()
                .map(|c| parse_at(c, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if op == "AND" {
                TraceFilter::And(parts)
            } else {
                TraceFilter::Or(parts)
            })
        }
        "NOT" => {
            let Some(condition) = expr.get("condition") else {
                return Err(refuse(format!(
                    "NOT filter requires 'condition' field. Got: {expr}"
                )));
            };
            Ok(TraceFilter::Not(Box::new(parse_at(condition, depth + 1)?)))
        }
        "IN" => {
            let column = column(expr, op, "values")?;
            let Some(values) = expr.get("values").and_then(Value::as_array) else {
                return Err(refuse(format!(
                    "IN filter requires 'key' and 'values' fields. Got: {expr}"
                )));
            };
            let values = values
                .iter()
                .map(|v| text(column, v))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(TraceFilter::In(column, values))
        }
        "EQ" | "NEQ" | "GT" | "GTE" | "LT" | "LTE" | "CONTAINS" | "STARTSWITH" => {
            let column = column(expr, op, "value")?;
            let value = expr.get("value").filter(|v| !v.is_null()).ok_or_else(|| {
                refuse(format!(
                    "{op} filter requires 'key' and 'value' fields. Got: {expr}"
                ))
            })?;
            let compare = match op {
                "EQ" => Compare::Eq,
                "NEQ" => Compare::Neq,
                "GT" => Compare::Gt,
                "GTE" => Compare::Gte,
                "LT" => Compare::Lt,
                "LTE" => Compare::Lte,
                "CONTAINS" => return Ok(TraceFilter::Contains(column, plain(value))),
                _ => return Ok(TraceFilter::StartsWith(column, plain(value))),
            };
            if column == TraceColumn::DurationMs {
                let n = value
                    .as_i64()
                    .or_else(|| value.as_f64().map(|f| f as i64))
                    .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
                    .ok_or_else(|| refuse(format!("duration_ms takes a number, not {value}")))?;
                return Ok(TraceFilter::Number(column, compare, n));
            }
            Ok(TraceFilter::Text(column, compare, text(column, value)?))
        }
        other => Err(refuse(format!("Unknown filter operator: {other}"))),
    }
}

/// The column `expr` names.
fn column(expr: &Value, op: &str, field: &str) -> Result<TraceColumn, FilterError> {
    let Some(key) = expr.get("key").and_then(Value::as_str) else {
        return Err(refuse(format!(
            "{op} filter requires 'key' and '{field}' fields. Got: {expr}"
        )));
    };
    TraceColumn::named(key).ok_or_else(|| {
        let mut allowed: Vec<&str> = TraceColumn::ALL.iter().map(|c| c.name()).collect();
        allowed.sort_unstable();
        refuse(format!(
            "Invalid filter field: '{key}'. Allowed: {allowed:?}"
        ))
    })
}

/// A value as text (a string as is, anything else as its JSON).
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value compared with `column`: a time is read and written as stored.
fn text(column: TraceColumn, value: &Value) -> Result<String, FilterError> {
    let value = plain(value);
    match column {
        TraceColumn::StartTime | TraceColumn::EndTime | TraceColumn::CreatedAt => {
            stored_time(&value).ok_or_else(|| {
                refuse(format!(
                    "{} takes an ISO 8601 time (e.g. '2025-11-19T10:00:00Z'), not '{value}'",
                    column.name()
                ))
            })
        }
        _ => Ok(value),
    }
}

/// A field of `GET /traces/filter-schema`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FilterField {
    /// The column.
    pub key: &'static str,
    /// Its label in a UI.
    pub label: &'static str,
    /// `string`, `number`, `datetime` or `enum`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The operators offered for it.
    pub operators: &'static [&'static str],
    /// An enum's values (`null` otherwise).
    pub values: Option<&'static [&'static str]>,
}

/// `GET /traces/filter-schema`'s answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FilterSchema {
    /// The fields, in Agno's order.
    pub fields: Vec<FilterField>,
    /// `AND`, `OR`.
    pub logical_operators: &'static [&'static str],
}

/// The schema Agno's filter bar is built from.
pub fn schema() -> FilterSchema {
    const TEXT: &[&str] = &["EQ", "NEQ", "CONTAINS", "STARTSWITH", "IN"];
    const TIME: &[&str] = &["GT", "GTE", "LT", "LTE"];
    let fields = TraceColumn::ALL
        .into_iter()
        .map(|column| {
            let (label, kind, operators, values): (_, _, &'static [&'static str], _) = match column
            {
                TraceColumn::Status => (
                    "Status",
                    "enum",
                    &["EQ", "NEQ", "IN"],
                    Some(&["OK", "ERROR"][..]),
                ),
                TraceColumn::UserId => ("User ID", "string", TEXT, None),
                TraceColumn::AgentId => ("Agent ID", "string", TEXT, None),
                TraceColumn::TeamId => ("Team ID", "string", TEXT, None),
                TraceColumn::WorkflowId => ("Workflow ID", "string", TEXT, None),
                TraceColumn::SessionId => ("Session ID", "string", TEXT, None),
                TraceColumn::RunId => ("Run ID", "string", TEXT, None),
                TraceColumn::Name => (
                    "Trace Name",
                    "string",
                    &["EQ", "NEQ", "CONTAINS", "STARTSWITH"],
                    None,
                ),
                TraceColumn::TraceId => ("Trace ID", "string", TEXT, None),
                TraceColumn::DurationMs => (
                    "Duration (ms)",
                    "number",
                    &["EQ", "NEQ", "GT", "GTE", "LT", "LTE"],
                    None,
                ),
                TraceColumn::StartTime => ("Start Time", "datetime", TIME, None),
                TraceColumn::EndTime => ("End Time", "datetime", TIME, None),
                TraceColumn::CreatedAt => ("Created At", "datetime", TIME, None),
            };
            FilterField {
                key: column.name(),
                label,
                kind,
                operators,
                values,
            }
        })
        .collect();
    FilterSchema {
        fields,
        logical_operators: &["AND", "OR"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_agnos_expressions() {
        let expr = json!({"op": "AND", "conditions": [
            {"op": "EQ", "key": "status", "value": "OK"},
            {"op": "NOT", "condition": {"op": "IN", "key": "user_id", "values": ["a", "b"]}},
            {"op": "GT", "key": "duration_ms", "value": 100},
            {"op": "GTE", "key": "start_time", "value": "2026-12-07T10:00:00+01:00"},
            {"op": "CONTAINS", "key": "name", "value": "Agent"},
        ]});
        assert_eq!(
            parse(&expr).unwrap(),
            TraceFilter::And(vec![
                TraceFilter::Text(TraceColumn::Status, Compare::Eq, "OK".into()),
                TraceFilter::Not(Box::new(TraceFilter::In(
                    TraceColumn::UserId,
                    vec!["a".into(), "b".into()]
                ))),
                TraceFilter::Number(TraceColumn::DurationMs, Compare::Gt, 100),
                TraceFilter::Text(
                    TraceColumn::StartTime,
                    Compare::Gte,
                    "2026-12-07T09:00:00.000000+00:00".into()
                ),
                TraceFilter::Contains(TraceColumn::Name, "Agent".into()),
            ])
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let refused = |expr: Value| parse(&expr).unwrap_err().to_string();
        assert_eq!(
            refused(json!({"op": "BOGUS", "key": "status", "value": "OK"})),
            "Unknown filter operator: BOGUS"
        );
        assert!(
            refused(json!({"op": "EQ", "key": "colour", "value": "red"}))
                .starts_with("Invalid filter field: 'colour'")
        );
        assert!(refused(json!({"key": "status"})).contains("must contain 'op'"));
        assert!(
            refused(json!({"op": "EQ", "key": "status"})).contains("requires 'key' and 'value'")
        );
        assert!(
            refused(json!({"op": "GT", "key": "duration_ms", "value": "slow"})).contains("number")
        );
        assert!(
            refused(json!({"op": "GT", "key": "start_time", "value": "yesterday"}))
                .contains("ISO 8601")
        );
        let mut deep = json!({"op": "EQ", "key": "status", "value": "OK"});
        for _ in 0..=MAX_DEPTH {
            deep = json!({"op": "NOT", "condition": deep});
        }
        assert!(refused(deep).contains("maximum nesting depth"));
    }

    #[test]
    fn the_schema_is_agnos() {
        let schema = serde_json::to_value(schema()).unwrap();
        let keys: Vec<&str> = schema["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["key"].as_str().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "status",
                "user_id",
                "agent_id",
                "team_id",
                "workflow_id",
                "session_id",
                "run_id",
                "name",
                "trace_id",
                "duration_ms",
                "start_time",
                "end_time",
                "created_at"
            ]
        );
        assert_eq!(schema["fields"][0]["values"], json!(["OK", "ERROR"]));
        assert_eq!(schema["fields"][1]["values"], Value::Null);
        assert_eq!(schema["logical_operators"], json!(["AND", "OR"]));
    }
}
