//! Stored traces (`AgentOS::builder().tracing(true)`) over real HTTP, on
//! both stores: a run's trace (its agent span, its inline hooks, its model
//! call) in Agno's tables and shapes at `GET /traces`, `GET
//! /traces/{trace_id}` (the tree, one span), `GET /trace_session_stats`
//! and `POST /traces/search` (Agno's filter expressions), with the
//! refusals; a run stopped by a guardrail is an `ERROR` trace; nothing is
//! stored with tracing off.

mod os_support;
mod store_support;

use std::sync::Arc;

use agno_server::db::Db;
use agno_server::{Agent, AgentOS, CheckError, CheckTrigger, Echo, RunInput, RunOutput, hook};
use os_support::{Server, json};
use serde_json::{Value, json};

#[hook]
fn no_forbidden(run_input: &RunInput) -> Result<(), CheckError> {
    if run_input.input_content.contains("forbidden") {
        return Err(CheckError::input(
            "forbidden word",
            CheckTrigger::InputNotAllowed,
        ));
    }
    Ok(())
}

#[hook]
fn audit(run_output: &RunOutput) {
    let _ = run_output.content.as_deref();
}

fn agent(db: Arc<dyn Db>) -> Agent {
    Agent::builder()
        .id("a")
        .name("Trace Agent")
        .model(Echo::new())
        .db_arc(db)
        .pre_hooks(no_forbidden)
        .post_hooks(audit)
        .build()
        .unwrap()
}

async fn serve(db: Arc<dyn Db>, tracing: bool) -> Server {
    let os = AgentOS::builder()
        .agent(agent(db))
        .tracing(tracing)
        .ignore_env_security_key()
        .build()
        .unwrap();
    Server::start(os).await
}

async fn run(server: &Server, message: &str, session: &str, user: &str) -> Value {
    let fields = [
        ("message", message),
        ("stream", "false"),
        ("session_id", session),
        ("user_id", user),
    ];
    let (status, body) = server.post_json("/agents/a/runs", &fields).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    json(server.get(path).await).await
}

async fn search(server: &Server, body: Value) -> (u16, Value) {
    json(
        server
            .client
            .post(server.url("/traces/search"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn flushed(server: &Server) {
    for agent in &server.agents {
        agent.flush_traces().await;
        assert_eq!(agent.traces_dropped(), 0);
    }
}

fn names(node: &Value) -> Vec<String> {
    node["spans"]
        .as_array()
        .map(|spans| {
            spans
                .iter()
                .map(|s| s["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn a_run_is_traced_as_agno_traces_it(db: Arc<dyn Db>) {
    let server = serve(db, true).await;
    let session = format!("s-{}", uuid::Uuid::new_v4().simple());
    let answer = run(&server, "hello traces", &session, "alice").await;
    let run_id = answer["run_id"].as_str().unwrap().to_owned();
    flushed(&server).await;

    let (status, page) = get(&server, "/traces").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["meta"]["total_count"], 1, "{page}");
    assert_eq!(page["meta"]["total_pages"], 1, "{page}");
    assert_eq!(page["meta"]["page"], 1);
    assert_eq!(page["meta"]["limit"], 20);
    let summary = &page["data"][0];
    assert_eq!(summary["name"], "Trace_Agent.arun", "{summary}");
    assert_eq!(summary["status"], "OK");
    assert_eq!(summary["total_spans"], 4, "{summary}");
    assert_eq!(summary["error_count"], 0);
    assert_eq!(summary["input"], "hello traces");
    assert_eq!(summary["run_id"], run_id.as_str());
    assert_eq!(summary["session_id"], session.as_str());
    assert_eq!(summary["user_id"], "alice");
    assert_eq!(summary["agent_id"], "a");
    assert!(
        summary.get("team_id").is_none(),
        "None is left out: {summary}"
    );
    assert!(summary["start_time"].as_str().unwrap().ends_with('Z'));
    assert!(summary["duration"].as_str().unwrap().ends_with('s'));

    let trace_id = summary["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(trace_id.len(), 32);
    let (status, detail) = get(&server, &format!("/traces/{trace_id}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["output"], answer["content"], "{detail}");
    assert!(detail.get("error").is_none(), "{detail}");
    let tree = detail["tree"].as_array().unwrap();
    assert_eq!(tree.len(), 1, "{detail}");
    let root = &tree[0];
    assert_eq!(root["type"], "AGENT");
    assert!(
        root.get("input").is_none(),
        "the root carries no input: {root}"
    );
    // Children by start: the pre-hook, the model, the post-hook.
    assert_eq!(
        names(root),
        ["no_forbidden", "Echo.ainvoke", "audit"],
        "{root}"
    );
    let spans = root["spans"].as_array().unwrap();
    assert_eq!(spans[0]["type"], "HOOK");
    assert_eq!(spans[0]["metadata"]["phase"], "pre");
    assert_eq!(spans[0]["metadata"]["mode"], "inline");
    assert_eq!(spans[1]["type"], "LLM");
    assert_eq!(spans[1]["metadata"]["model"], "echo", "{}", spans[1]);
    assert_eq!(spans[1]["output"], answer["content"]);
    assert!(spans[1]["input"].as_str().unwrap().contains("hello traces"));
    assert_eq!(spans[2]["metadata"]["phase"], "post");

    // One span, without its children.
    let llm = spans[1]["id"].as_str().unwrap();
    let (status, span) = get(&server, &format!("/traces/{trace_id}?span_id={llm}")).await;
    assert_eq!(status, 200, "{span}");
    assert_eq!(span["name"], "Echo.ainvoke");
    assert!(span.get("spans").is_none(), "{span}");
    let root_id = root["id"].as_str().unwrap();
    let (_, span) = get(&server, &format!("/traces/{trace_id}?span_id={root_id}")).await;
    assert_eq!(span["metadata"]["run_id"], run_id.as_str(), "{span}");
    assert!(span.get("spans").is_none(), "{span}");

    // Agno's refusals.
    let (status, body) = get(&server, "/traces/0000").await;
    assert_eq!((status, &body["detail"]), (404, &json!("Trace not found")));
    let (status, body) = get(&server, &format!("/traces/{trace_id}?span_id=nope")).await;
    assert_eq!((status, &body["detail"]), (404, &json!("Span not found")));
    server.shutdown().await;
}

async fn filters_pages_and_session_stats(db: Arc<dyn Db>) {
    let server = serve(db, true).await;
    let one = format!("s-one-{}", uuid::Uuid::new_v4().simple());
    let two = format!("s-two-{}", uuid::Uuid::new_v4().simple());
    run(&server, "first", &one, "alice").await;
    run(&server, "second", &one, "alice").await;
    run(&server, "third", &two, "bob").await;
    let refused = run(&server, "something forbidden", &two, "bob").await;
    assert_eq!(refused["status"], "ERROR", "{refused}");
    flushed(&server).await;

    let (_, all) = get(&server, "/traces").await;
    assert_eq!(all["meta"]["total_count"], 4, "{all}");
    // Newest first.
    let inputs: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["input"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, ["something forbidden", "third", "second", "first"]);

    let (_, page) = get(&server, &format!("/traces?session_id={one}")).await;
    assert_eq!(page["meta"]["total_count"], 2, "{page}");
    let (_, page) = get(&server, "/traces?user_id=bob&limit=1&page=2").await;
    assert_eq!(page["meta"]["total_count"], 2, "{page}");
    assert_eq!(page["meta"]["total_pages"], 2, "{page}");
    assert_eq!(page["data"][0]["input"], "third", "{page}");

    // The guardrail's refusal: the run's span and the hook's are errors.
    let (_, errors) = get(&server, "/traces?status=ERROR").await;
    assert_eq!(errors["meta"]["total_count"], 1, "{errors}");
    let failed = &errors["data"][0];
    assert_eq!(failed["input"], "something forbidden");
    assert_eq!(failed["error_count"], 2, "{failed}");
    assert_eq!(
        failed["total_spans"], 2,
        "the model was never called: {failed}"
    );
    let id = failed["trace_id"].as_str().unwrap();
    let (_, detail) = get(&server, &format!("/traces/{id}")).await;
    assert!(
        detail["error"].as_str().unwrap().contains("forbidden word"),
        "{detail}"
    );
    assert!(detail.get("output").is_none(), "{detail}");

    // Time bounds, and a time that is not one.
    let (_, none) = get(&server, "/traces?start_time=2999-01-01T00:00:00Z").await;
    assert_eq!(none["meta"]["total_count"], 0, "{none}");
    let (_, four) = get(&server, "/traces?start_time=2000-01-01T05:30:00%2B05:30").await;
    assert_eq!(four["meta"]["total_count"], 4, "{four}");
    let (status, body) = get(&server, "/traces?start_time=yesterday").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Invalid start_time format")
    );
    let (status, _) = get(&server, "/traces?limit=0").await;
    assert_eq!(status, 422);

    // Sessions, latest activity first.
    let (status, stats) = get(&server, "/trace_session_stats").await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["meta"]["total_count"], 2, "{stats}");
    assert_eq!(stats["data"][0]["session_id"], two.as_str());
    assert_eq!(stats["data"][0]["user_id"], "bob");
    assert_eq!(stats["data"][0]["total_traces"], 2);
    assert_eq!(stats["data"][1]["session_id"], one.as_str());
    assert_eq!(stats["data"][1]["agent_id"], "a");
    let (_, alice) = get(&server, "/trace_session_stats?user_id=alice").await;
    assert_eq!(alice["meta"]["total_count"], 1, "{alice}");
    server.shutdown().await;
}

async fn search_reads_agnos_filter_expressions(db: Arc<dyn Db>) {
    let server = serve(db, true).await;
    let one = format!("s-one-{}", uuid::Uuid::new_v4().simple());
    let two = format!("s-two-{}", uuid::Uuid::new_v4().simple());
    run(&server, "first", &one, "alice_admin").await;
    run(&server, "second", &two, "bob").await;
    run(&server, "a forbidden one", &two, "bob").await;
    flushed(&server).await;

    // Runs, each with its tree.
    let (status, found) = search(
        &server,
        json!({"filter": {"op": "AND", "conditions": [
            {"op": "EQ", "key": "status", "value": "OK"},
            {"op": "CONTAINS", "key": "user_id", "value": "ADMIN"},
        ]}}),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["meta"]["total_count"], 1, "{found}");
    assert_eq!(found["data"][0]["user_id"], "alice_admin");
    assert_eq!(names(&found["data"][0]["tree"][0]).len(), 3, "{found}");

    let (_, found) = search(
        &server,
        json!({"filter": {"op": "NOT", "condition":
            {"op": "IN", "key": "session_id", "values": [one]}}}),
    )
    .await;
    assert_eq!(found["meta"]["total_count"], 2, "{found}");
    let (_, found) = search(
        &server,
        json!({"filter": {"op": "OR", "conditions": [
            {"op": "STARTSWITH", "key": "name", "value": "trace_agent."},
            {"op": "GTE", "key": "duration_ms", "value": 0},
        ]}, "limit": 2}),
    )
    .await;
    assert_eq!(found["meta"]["total_count"], 3, "{found}");
    assert_eq!(found["meta"]["total_pages"], 2, "{found}");
    assert_eq!(found["data"].as_array().unwrap().len(), 2);
    // A wildcard is taken as text.
    let (_, found) = search(
        &server,
        json!({"filter": {"op": "CONTAINS", "key": "user_id", "value": "%"}}),
    )
    .await;
    assert_eq!(found["meta"]["total_count"], 0, "{found}");

    // Sessions.
    let (status, sessions) = search(
        &server,
        json!({"filter": {"op": "EQ", "key": "agent_id", "value": "a"}, "group_by": "session"}),
    )
    .await;
    assert_eq!(status, 200, "{sessions}");
    assert_eq!(sessions["meta"]["total_count"], 2, "{sessions}");
    assert_eq!(sessions["data"][0]["session_id"], two.as_str());
    assert_eq!(sessions["data"][0]["total_traces"], 2);

    // Refusals.
    let (status, body) = search(
        &server,
        json!({"filter": {"op": "BOGUS", "key": "status", "value": "OK"}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["detail"],
        "Invalid filter expression: Unknown filter operator: BOGUS"
    );
    let (status, body) = search(
        &server,
        json!({"filter": {"op": "EQ", "key": "colour", "value": "red"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = search(&server, json!({"limit": 101})).await;
    assert_eq!(status, 422);
    let (status, _) = search(&server, json!({"page": 0})).await;
    assert_eq!(status, 422);
    let (status, _) = search(&server, json!({"group_by": "team"})).await;
    assert_eq!(status, 422);

    let (status, schema) = get(&server, "/traces/filter-schema").await;
    assert_eq!(status, 200);
    assert_eq!(schema["fields"].as_array().unwrap().len(), 13, "{schema}");
    server.shutdown().await;
}

async fn nothing_is_stored_with_tracing_off(db: Arc<dyn Db>) {
    let server = serve(db, false).await;
    let session = format!("s-{}", uuid::Uuid::new_v4().simple());
    run(&server, "hello", &session, "alice").await;
    flushed(&server).await;
    let (status, page) = get(&server, "/traces").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["meta"]["total_count"], 0, "{page}");
    assert_eq!(page["data"], json!([]));
    server.shutdown().await;
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = super::store_support::sqlite();
                    super::$name(store.db.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = super::store_support::postgres().await;
                    super::$name(store.db.clone()).await;
                }
            )*
        }
    };
}

on_both_stores!(
    a_run_is_traced_as_agno_traces_it,
    filters_pages_and_session_stats,
    search_reads_agnos_filter_expressions,
    nothing_is_stored_with_tracing_off,
);
