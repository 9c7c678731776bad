//! `POST /agents/{id}/runs` over real HTTP on 127.0.0.1: the seed's curl
//! (multipart and urlencoded), the JSON shape, SSE frames in Agno's order,
//! background hooks that never delay the answer, and the global flag.

mod os_support;

use agno_server::{
    Agent, AgentInfo, AgentOS, CheckError, CheckTrigger, Echo, RunInput, RunOutput, Session,
    SqliteDb, hook,
};
use os_support::{Gate, Server, frames, json};

#[hook(run_in_background = true)]
fn log_request(run_input: &RunInput, agent: &AgentInfo, gate: &Gate) {
    gate.report(format!(
        "log_request {} {}",
        agent.display_name(),
        run_input.input_content
    ));
}

#[hook]
async fn log_analytics(run_output: &RunOutput, session: &Session, gate: &Gate) {
    gate.report(format!(
        "log_analytics {} {}",
        run_output.run_id, session.session_id
    ));
}

#[hook(run_in_background = true)]
async fn send_notification(run_output: &RunOutput, gate: &Gate) {
    gate.report(format!("send_notification started {}", run_output.run_id));
    gate.pass().await;
    gate.report("send_notification done");
}

fn seed_agent(gate: Gate, db: SqliteDb) -> Agent {
    Agent::builder()
        .id("background-task-agent")
        .name("BackgroundTaskAgent")
        .model(Echo::new())
        .instructions("You are a helpful assistant")
        .db(db)
        .pre_hooks([log_request])
        .post_hooks((log_analytics, send_notification))
        .markdown(true)
        .extension(gate)
        .build()
        .unwrap()
}

async fn seed_server() -> (
    Server,
    Gate,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("tmp/agent.db")).unwrap();
    let (gate, events) = Gate::new();
    let os = AgentOS::builder()
        .agents([seed_agent(gate.clone(), db)])
        .ignore_env_security_key()
        .build()
        .unwrap();
    (Server::start(os).await, gate, events, dir)
}

/// Waits for the report that starts with `prefix`, returning the reports
/// seen before it too.
async fn wait_for(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
    prefix: &str,
) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let event = events.recv().await.expect("hooks report");
        let done = event.starts_with(prefix);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn check_seed_output(body: &serde_json::Value) {
    assert_eq!(body["agent_id"], "background-task-agent");
    assert_eq!(body["agent_name"], "BackgroundTaskAgent");
    assert_eq!(body["input"]["input_content"], "Hello, how are you?");
    assert_eq!(body["content"], "Echo: Hello, how are you?");
    assert_eq!(body["content_type"], "str");
    assert_eq!(body["model"], "echo");
    assert_eq!(body["model_provider"], "Echo");
    assert_eq!(body["status"], "COMPLETED");
    assert!(body["run_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(body["session_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(body["created_at"].as_i64().is_some_and(|t| t > 0));
    let messages = body["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant"]);
    assert!(
        messages[0]["content"]
            .as_str()
            .unwrap()
            .contains("Use markdown to format your answers.")
    );
    let metrics = &body["metrics"];
    assert!(metrics["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        metrics["total_tokens"].as_u64(),
        Some(
            metrics["input_tokens"].as_u64().unwrap() + metrics["output_tokens"].as_u64().unwrap()
        )
    );
    // Null fields are omitted, as Agno does.
    assert!(body.get("user_id").is_none(), "{body}");
    assert!(body.as_object().unwrap().values().all(|v| !v.is_null()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_curl_answers_before_the_background_hook_finishes() {
    let (server, gate, mut events, _dir) = seed_server().await;
    let response = server
        .post_form(
            "/agents/background-task-agent/runs",
            &[("message", "Hello, how are you?"), ("stream", "false")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let (_, body) = json(response).await;
    check_seed_output(&body);
    let run_id = body["run_id"].as_str().unwrap().to_owned();

    // The whole answer is in hand while send_notification is still held at
    // its gate: the response did not wait for it.
    let seen = wait_for(&mut events, "send_notification started").await;
    assert!(seen.iter().any(|e| e.starts_with("log_analytics ")));
    assert!(seen.iter().all(|e| e != "send_notification done"));
    gate.open.add_permits(1);
    wait_for(&mut events, "send_notification done").await;

    let agent = server.agents[0].clone();
    let report = server.shutdown().await;
    assert!(report.is_clean());
    // With a store, background hooks are durable jobs by default: none
    // was spawned in memory, both ran as jobs and completed.
    assert_eq!(report.stats.spawned, 0);
    let jobs = agent.jobs().counters();
    assert_eq!(jobs.enqueued, 2, "log_request and send_notification");
    assert_eq!((jobs.started, jobs.completed), (2, 2), "{jobs:?}");
    let stored = agent.db().unwrap().job_stats().await.unwrap();
    assert!(
        stored.counts.values().all(|n| *n == 0),
        "completed jobs are deleted: {stored:?}"
    );
    let _ = run_id;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urlencoded_forms_work_like_multipart() {
    let (server, gate, mut events, _dir) = seed_server().await;
    gate.open.add_permits(1);
    let response = server
        .post_raw(
            "/agents/background-task-agent/runs",
            "application/x-www-form-urlencoded",
            "message=Hello%2C+how+are+you%3F&stream=false",
        )
        .await;
    let (status, body) = json(response).await;
    assert_eq!(status, 200);
    check_seed_output(&body);
    wait_for(&mut events, "send_notification done").await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_fields_and_ids_reach_the_run() {
    let (server, gate, _events, _dir) = seed_server().await;
    gate.open.add_permits(1);
    let response = server
        .post_form(
            "/agents/background-task-agent/runs",
            &[
                ("message", "hi"),
                ("stream", "false"),
                ("session_id", "conv-7"),
                ("user_id", "ada"),
                ("session_state", r#"{"step": 1}"#),
            ],
        )
        .await;
    let (status, body) = json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["session_id"], "conv-7");
    assert_eq!(body["user_id"], "ada");
    let (_, session) = json(server.get("/sessions/conv-7").await).await;
    assert_eq!(session["session_state"]["step"], 1);
    assert_eq!(session["user_id"], "ada");
    server.shutdown().await;
}

#[hook]
fn inline_pre(run_input: &mut RunInput) {
    run_input.input_content.push_str(" (checked)");
}

#[hook]
fn no_secrets(run_input: &RunInput) -> Result<(), CheckError> {
    if run_input.input_content.contains("secret") {
        return Err(CheckError::input(
            "Secrets are not allowed",
            CheckTrigger::InputNotAllowed,
        ));
    }
    Ok(())
}

#[hook]
fn inline_post(run_output: &mut RunOutput) {
    if let Some(content) = &mut run_output.content {
        content.push_str(" -- signed");
    }
}

fn streaming_agent(gate: Gate) -> Agent {
    Agent::builder()
        .id("streamer")
        .name("Streamer")
        .model(Echo::new())
        .pre_hooks((no_secrets, inline_pre))
        .post_hooks((inline_post, send_notification))
        .extension(gate)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_frames_come_in_agnos_order_and_end_before_background_hooks() {
    let (gate, mut events) = Gate::new();
    let os = AgentOS::builder()
        .agent(streaming_agent(gate.clone()))
        .ignore_env_security_key()
        .build()
        .unwrap();
    let server = Server::start(os).await;
    // No `stream` field: Agno streams by default.
    let response = server
        .post_form("/agents/streamer/runs", &[("message", "Hello there")])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let body = response.text().await.unwrap();
    assert!(!body.contains("id:") && !body.contains("[DONE]"));
    let frames = frames(&body);
    let names: Vec<&str> = frames.iter().map(|(n, _)| n.as_str()).collect();
    let contents = names.iter().filter(|n| **n == "RunContent").count();
    assert!(contents >= 2, "{names:?}");
    let mut expected = vec![
        "RunStarted",
        "PreHookStarted",
        "PreHookCompleted",
        "PreHookStarted",
        "PreHookCompleted",
        "ModelRequestStarted",
    ];
    expected.extend(std::iter::repeat_n("RunContent", contents));
    expected.extend([
        "ModelRequestCompleted",
        "RunContentCompleted",
        "PostHookStarted",
        "PostHookCompleted",
        "RunCompleted",
    ]);
    assert_eq!(names, expected);
    assert_eq!(frames[1].1["pre_hook_name"], "no_secrets");
    assert_eq!(frames[3].1["pre_hook_name"], "inline_pre");
    assert_eq!(
        frames[4].1["run_input"]["input_content"],
        "Hello there (checked)"
    );
    let post = frames.iter().find(|(n, _)| n == "PostHookStarted").unwrap();
    assert_eq!(post.1["post_hook_name"], "inline_post");
    let streamed: String = frames
        .iter()
        .filter(|(n, _)| n == "RunContent")
        .map(|(_, d)| d["content"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, "Echo: Hello there (checked)");
    let completed = &frames.last().unwrap().1;
    assert_eq!(
        completed["content"],
        "Echo: Hello there (checked) -- signed"
    );
    let run_id = completed["run_id"].as_str().unwrap();
    assert!(frames.iter().all(|(_, d)| d["run_id"] == run_id));

    // The stream is over while send_notification waits at its gate.
    wait_for(&mut events, "send_notification started").await;
    gate.open.add_permits(1);
    wait_for(&mut events, "send_notification done").await;
    assert!(server.shutdown().await.is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardrail_ends_the_stream_with_run_error() {
    let (gate, _events) = Gate::new();
    let os = AgentOS::builder()
        .agent(streaming_agent(gate))
        .ignore_env_security_key()
        .build()
        .unwrap();
    let server = Server::start(os).await;
    let response = server
        .post_form("/agents/streamer/runs", &[("message", "my secret is 42")])
        .await;
    let frames = frames(&response.text().await.unwrap());
    let names: Vec<&str> = frames.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["RunStarted", "PreHookStarted", "RunError"]);
    let error = &frames[2].1;
    assert_eq!(error["content"], "Secrets are not allowed");
    assert_eq!(error["error_type"], "input_check_error");
    assert_eq!(error["error_id"], "input_not_allowed");

    // Non-streaming, the same run is a 200 with status ERROR, as Agno.
    let (status, body) = server
        .post_json(
            "/agents/streamer/runs",
            &[("message", "my secret is 42"), ("stream", "false")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ERROR");
    assert_eq!(body["content"], "Secrets are not allowed");
    server.shutdown().await;
}

#[hook]
async fn observe(run_output: &RunOutput, gate: &Gate) {
    gate.report(format!("observe started {}", run_output.run_id));
    gate.pass().await;
    gate.report("observe done");
}

#[hook]
fn refuse_empty_answer(run_output: &RunOutput) -> Result<(), CheckError> {
    match run_output.content.as_deref() {
        Some("") | None => Err(CheckError::output(
            "empty answer",
            CheckTrigger::ValidationFailed,
        )),
        _ => Ok(()),
    }
}

fn observed_agent(gate: Gate) -> Agent {
    Agent::builder()
        .id("observed")
        .model(Echo::new())
        .pre_hooks([no_secrets])
        .post_hooks((refuse_empty_answer, inline_post, observe))
        .extension(gate)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_flag_moves_observers_and_keeps_guardrails_and_mutations_inline() {
    let (gate, mut events) = Gate::new();
    let os = AgentOS::builder()
        .agent(observed_agent(gate.clone()))
        .run_hooks_in_background(true)
        .ignore_env_security_key()
        .build()
        .unwrap();
    let server = Server::start(os).await;
    let (status, body) = server
        .post_json(
            "/agents/observed/runs",
            &[("message", "hi"), ("stream", "false")],
        )
        .await;
    assert_eq!(status, 200);
    // inline_post (it changes the run) stayed inline: its change is in the answer.
    assert_eq!(body["content"], "Echo: hi -- signed");
    // observe was moved to the background: the answer came while it waits.
    wait_for(&mut events, "observe started").await;
    gate.open.add_permits(1);
    wait_for(&mut events, "observe done").await;

    // The guardrail stayed inline: it still stops the run.
    let (_, refused) = server
        .post_json(
            "/agents/observed/runs",
            &[("message", "a secret"), ("stream", "false")],
        )
        .await;
    assert_eq!(refused["status"], "ERROR");
    assert_eq!(refused["content"], "Secrets are not allowed");

    let (_, agent) = json(server.get("/agents/observed").await).await;
    let post: Vec<(&str, bool)> = agent["post_hooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap(),
                h["run_in_background"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        post,
        [
            ("refuse_empty_answer", false),
            ("inline_post", false),
            ("observe", true)
        ]
    );
    assert!(server.shutdown().await.is_clean());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_global_flag_an_observer_holds_the_answer() {
    let (gate, mut events) = Gate::new();
    let os = AgentOS::builder()
        .agent(observed_agent(gate.clone()))
        .ignore_env_security_key()
        .build()
        .unwrap();
    let server = Server::start(os).await;
    let client = server.client.clone();
    let url = server.url("/agents/observed/runs");
    let request = tokio::spawn(async move {
        client
            .post(url)
            .multipart(
                reqwest::multipart::Form::new()
                    .text("message", "hi")
                    .text("stream", "false"),
            )
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    });
    wait_for(&mut events, "observe started").await;
    // observe is inline and has not been let through: no answer can exist.
    assert!(!request.is_finished());
    gate.open.add_permits(1);
    let body = request.await.unwrap();
    assert_eq!(body["status"], "COMPLETED");
    assert_eq!(events.recv().await.unwrap(), "observe done");
    server.shutdown().await;
}
