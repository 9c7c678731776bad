//! `GET /openapi.json`: an OpenAPI 3.1 description of every route.

use axum::Json;
use serde_json::{Value, json};

/// One operation: method, path, summary, parameters, body, answers.
struct Operation {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    query: &'static [&'static str],
    body: Option<Value>,
    ok: (&'static str, &'static str),
}

fn error_responses() -> Value {
    json!({
        "401": {"description": "Missing or invalid bearer key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "404": {"description": "Not found", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "4XX": {"description": "Bad request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    })
}

fn run_form() -> Value {
    let fields = json!({
        "message": {"type": "string"},
        "stream": {"type": "boolean", "default": true},
        "session_id": {"type": "string"},
        "user_id": {"type": "string"},
        "session_state": {"type": "string", "description": "a JSON object"},
        "dependencies": {"type": "string", "description": "a JSON object"},
        "metadata": {"type": "string", "description": "a JSON object"},
    });
    let schema = json!({
        "type": "object",
        "required": ["message"],
        "properties": fields,
        "additionalProperties": {"type": "string", "description": "passed to hooks as ExtraFields"},
    });
    json!({
        "required": true,
        "content": {
            "multipart/form-data": {"schema": schema},
            "application/x-www-form-urlencoded": {"schema": schema},
        }
    })
}

fn operations() -> Vec<Operation> {
    const SESSION_FILTERS: &[&str] = &[
        "type",
        "component_id",
        "user_id",
        "session_name",
        "limit",
        "page",
        "sort_by",
        "sort_order",
        "db_id",
    ];
    vec![
        Operation {
            method: "get",
            path: "/",
            summary: "What this server is",
            query: &[],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/health",
            summary: "Health check (public)",
            query: &[],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/config",
            summary: "The OS, its agents and databases",
            query: &[],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/openapi.json",
            summary: "This document (public)",
            query: &[],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/hooks",
            summary: "Registered hooks and background-hook counters",
            query: &[],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/agents",
            summary: "List agents",
            query: &[],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/agents/{agent_id}",
            summary: "One agent",
            query: &[],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "post",
            path: "/agents/{agent_id}/runs",
            summary: "Run an agent (JSON, or SSE when stream is true)",
            query: &[],
            body: Some(run_form()),
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/agents/{agent_id}/runs/{run_id}",
            summary: "One run of an agent (poll a background run: PENDING, RUNNING, COMPLETED, ERROR, CANCELLED)",
            query: &["session_id"],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "post",
            path: "/agents/{agent_id}/runs/{run_id}/cancel",
            summary: "Cancel a run: a queued background run at once, a running one at its next step (always 200 {})",
            query: &[],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/queue/jobs",
            summary: "List durable jobs (background hooks and runs), newest first",
            query: &["status", "limit", "page", "db_id"],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/queue/jobs/{job_id}",
            summary: "One durable job, with its payload",
            query: &["db_id"],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "post",
            path: "/queue/jobs/{job_id}/requeue",
            summary: "Queue a failed or cancelled job again, with fresh attempts",
            query: &["db_id"],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/queue/stats",
            summary: "Durable jobs by status, and the oldest queued job's age",
            query: &["db_id"],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/sessions",
            summary: "List sessions",
            query: SESSION_FILTERS,
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "delete",
            path: "/sessions",
            summary: "Delete sessions",
            query: &["db_id"],
            body: Some(
                json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["session_ids"], "properties": {"session_ids": {"type": "array", "items": {"type": "string"}}}}}}}),
            ),
            ok: ("204", ""),
        },
        Operation {
            method: "get",
            path: "/sessions/{session_id}",
            summary: "One session",
            query: &["db_id"],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "delete",
            path: "/sessions/{session_id}",
            summary: "Delete a session and its runs",
            query: &["db_id"],
            body: None,
            ok: ("204", ""),
        },
        Operation {
            method: "get",
            path: "/sessions/{session_id}/runs",
            summary: "The runs of a session",
            query: &["db_id"],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "get",
            path: "/sessions/{session_id}/runs/{run_id}",
            summary: "One run of a session",
            query: &["db_id"],
            body: None,
            ok: ("200", "application/json"),
        },
        Operation {
            method: "post",
            path: "/sessions/{session_id}/rename",
            summary: "Rename a session",
            query: &["db_id"],
            body: Some(
                json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["session_name"], "properties": {"session_name": {"type": "string"}}}}}}),
            ),
            ok: ("200", "application/json"),
        },
    ]
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    for op in operations() {
        let mut parameters: Vec<Value> = op
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        parameters.extend(
            op.query
                .iter()
                .map(|name| json!({"name": name, "in": "query", "required": false, "schema": {"type": "string"}})),
        );
        let mut responses = error_responses();
        let public = super::auth::PUBLIC_PATHS.contains(&op.path);
        if public {
            // No key is asked for: no 401, and no bearer requirement.
            if let Some(map) = responses.as_object_mut() {
                map.remove("401");
            }
        }
        let ok = if op.ok.1.is_empty() {
            json!({"description": "Done"})
        } else if op.path == "/agents/{agent_id}/runs" {
            json!({"description": "The run output, or its events", "content": {"application/json": {}, "text/event-stream": {}}})
        } else {
            json!({"description": "OK", "content": {op.ok.1: {}}})
        };
        responses[op.ok.0] = ok;
        let mut operation = json!({
            "summary": op.summary,
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = op.body {
            operation["requestBody"] = body;
        }
        if public {
            operation["security"] = json!([]);
        }
        let entry = paths
            .entry(op.path)
            .or_insert_with(|| Value::Object(Default::default()));
        entry[op.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "AgentOS (agno-server)", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {"type": "object", "required": ["detail"], "properties": {"detail": {}}},
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    })
}

/// `GET /openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_described() {
        let doc = super::document();
        for path in [
            "/agents/{agent_id}/runs",
            "/sessions/{session_id}/rename",
            "/health",
            "/agents/{agent_id}/runs/{run_id}/cancel",
            "/queue/jobs",
            "/queue/jobs/{job_id}",
            "/queue/jobs/{job_id}/requeue",
            "/queue/stats",
        ] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
        assert!(doc["paths"]["/sessions/{session_id}/rename"]["post"].is_object());
        // Public routes ask for no key: no 401, an empty security list.
        let health = &doc["paths"]["/health"]["get"];
        assert!(health["responses"]["401"].is_null());
        assert_eq!(health["security"], serde_json::json!([]));
        assert!(doc["paths"]["/sessions"]["get"]["responses"]["401"].is_object());
        assert!(doc["paths"]["/sessions"]["delete"].is_object());
    }
}
