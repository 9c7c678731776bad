//! The read routes after a few runs (sessions, runs, agents, config,
//! health, OpenAPI) and graceful shutdown over real HTTP.

mod os_support;

use std::time::Duration;

use agno_server::{Agent, AgentOS, Echo, RunOutput, SqliteDb, hook};
use os_support::{Gate, Server, json};
use serde_json::json;

async fn run(
    server: &Server,
    agent: &str,
    message: &str,
    session: &str,
    user: &str,
) -> serde_json::Value {
    let (status, body) = server
        .post_json(
            &format!("/agents/{agent}/runs"),
            &[
                ("message", message),
                ("stream", "false"),
                ("session_id", session),
                ("user_id", user),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_routes_after_a_few_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let agent = |id: &str| {
        Agent::builder()
            .id(id)
            .name(id.to_uppercase())
            .model(Echo::new())
            .db(db.clone())
            .build()
            .unwrap()
    };
    let os = AgentOS::builder()
        .agents([agent("alpha"), agent("beta")])
        .ignore_env_security_key()
        .build()
        .unwrap();
    let server = Server::start(os).await;

    let first = run(&server, "alpha", "one", "s-1", "ada").await;
    let second = run(&server, "alpha", "two", "s-1", "ada").await;
    run(&server, "alpha", "three", "s-2", "bob").await;
    run(&server, "beta", "four", "s-3", "ada").await;

    // GET /sessions: Agno's data/meta page, filters, paging, sorting.
    let (status, page) = json(server.get("/sessions").await).await;
    assert_eq!(status, 200);
    assert_eq!(page["meta"]["total_count"], 3);
    assert_eq!(page["data"].as_array().unwrap().len(), 3);
    let (_, page) = json(server.get("/sessions?user_id=ada").await).await;
    assert_eq!(page["meta"]["total_count"], 2);
    let (_, page) = json(server.get("/sessions?type=agent&component_id=beta").await).await;
    assert_eq!(page["data"][0]["session_id"], "s-3");
    let (_, page) = json(
        server
            .get("/sessions?limit=2&page=2&sort_by=created_at&sort_order=asc")
            .await,
    )
    .await;
    let mut meta = page["meta"].clone();
    let search_time = meta.as_object_mut().unwrap().remove("search_time_ms");
    assert!(search_time.is_some_and(|t| t.as_f64().is_some_and(|ms| ms >= 0.0)));
    assert_eq!(
        meta,
        json!({"page": 2, "limit": 2, "total_pages": 2, "total_count": 3})
    );
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let (status, body) = json(server.get("/sessions?sort_by=password").await).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = json(server.get("/sessions?limit=abc").await).await;
    assert_eq!(status, 400);

    // One session, its runs, one run.
    let (status, session) = json(server.get("/sessions/s-1").await).await;
    assert_eq!(status, 200);
    assert_eq!(session["session_id"], "s-1");
    assert_eq!(session["agent_id"], "alpha");
    assert_eq!(session["user_id"], "ada");
    assert!(session["chat_history"].as_array().unwrap().len() >= 4);
    let (_, runs) = json(server.get("/sessions/s-1/runs").await).await;
    let ids: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            first["run_id"].as_str().unwrap(),
            second["run_id"].as_str().unwrap()
        ]
    );
    assert_eq!(runs[1]["run_input"], "two");
    let run_id = second["run_id"].as_str().unwrap();
    let (status, one) = json(server.get(&format!("/sessions/s-1/runs/{run_id}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(one["content"], "Echo: two");
    let (status, _) = json(server.get(&format!("/sessions/s-2/runs/{run_id}")).await).await;
    assert_eq!(status, 404, "a run of another session");
    let (status, one) = json(server.get(&format!("/agents/alpha/runs/{run_id}")).await).await;
    assert_eq!((status, &one["run_id"]), (200, &second["run_id"]));
    let (status, _) = json(server.get(&format!("/agents/beta/runs/{run_id}")).await).await;
    assert_eq!(status, 404, "a run of another agent");
    let (status, body) = json(server.get("/sessions/nope").await).await;
    assert_eq!(
        (status, body),
        (404, json!({"detail": "Session with id 'nope' not found"}))
    );
    let (status, _) = json(server.get("/sessions/..%2F..%2Fetc%2Fpasswd").await).await;
    assert_eq!(status, 400);
    let (status, _) = json(
        server
            .get("/sessions/x'%3B%20DROP%20TABLE%20agno_sessions%3B--")
            .await,
    )
    .await;
    assert_eq!(status, 400);

    // Rename.
    let (status, renamed) = json(
        server
            .client
            .post(server.url("/sessions/s-1/rename"))
            .json(&json!({"session_name": "First chat"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(renamed["session_name"], "First chat");
    let (_, page) = json(server.get("/sessions?session_name=first").await).await;
    assert_eq!(page["data"][0]["session_name"], "First chat");
    let (status, _) = json(
        server
            .client
            .post(server.url("/sessions/s-1/rename"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);

    // Delete one, then many.
    let response = server
        .client
        .delete(server.url("/sessions/s-2"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (status, _) = json(server.get("/sessions/s-2").await).await;
    assert_eq!(status, 404);
    let response = server
        .client
        .delete(server.url("/sessions/s-2"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = server
        .client
        .delete(server.url("/sessions"))
        .json(&json!({"session_ids": ["s-1", "s-3"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let (_, page) = json(server.get("/sessions").await).await;
    assert_eq!(page["meta"]["total_count"], 0);

    // Agents, config, health, OpenAPI.
    let (_, agents) = json(server.get("/agents").await).await;
    let ids: Vec<&str> = agents
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["alpha", "beta"]);
    let (_, alpha) = json(server.get("/agents/alpha").await).await;
    assert_eq!(alpha["name"], "ALPHA");
    assert_eq!(alpha["model"]["model"], "echo");
    assert_eq!(alpha["db_id"], "db-0");
    let (_, config) = json(server.get("/config").await).await;
    assert_eq!(config["databases"], json!(["db-0"]));
    assert_eq!(config["agents"][1]["id"], "beta");
    let (_, health) = json(server.get("/health").await).await;
    assert_eq!(health["status"], "ok");
    assert!(health["instantiated_at"].as_i64().is_some());
    let (_, openapi) = json(server.get("/openapi.json").await).await;
    assert!(openapi["paths"]["/agents/{agent_id}/runs"]["post"].is_object());
    let (_, hooks) = json(server.get("/hooks").await).await;
    assert!(hooks["stats"]["spawned"].is_u64());
    server.shutdown().await;
}

#[hook(run_in_background = true)]
async fn slow_notification(run_output: &RunOutput, gate: &Gate) {
    gate.report(format!("started {}", run_output.run_id));
    gate.pass().await;
    gate.report("finished");
}

fn gated_os(gate: Gate, deadline: Duration) -> AgentOS {
    let agent = Agent::builder()
        .id("gated")
        .model(Echo::new())
        .post_hooks([slow_notification])
        .extension(gate)
        .build()
        .unwrap();
    AgentOS::builder()
        .agent(agent)
        .shutdown_deadline(deadline)
        .ignore_env_security_key()
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_completes_an_in_flight_background_hook() {
    let (gate, mut events) = Gate::new();
    let os = gated_os(gate.clone(), Duration::from_secs(60));
    let dispatcher = os.dispatcher().clone();
    let server = Server::start(os).await;
    let (status, body) = server
        .post_json(
            "/agents/gated/runs",
            &[("message", "hi"), ("stream", "false")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(events.recv().await.unwrap().starts_with("started "));

    // Shutdown begins while the hook is held; it waits for the hook.
    let shutdown = tokio::spawn(server.shutdown());
    while !dispatcher.is_shut_down() {
        tokio::task::yield_now().await;
    }
    // New background work is refused from here on, yet the held hook is
    // still waited for.
    assert_eq!(dispatcher.stats().in_flight, 1);
    gate.open.add_permits(1);
    let report = shutdown.await.unwrap();
    assert_eq!(events.recv().await.unwrap(), "finished");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.waited_for, 1);
    assert_eq!(report.finished, 1);
    assert_eq!(report.stats.completed, 1);
    let _ = body;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_past_the_deadline_is_reported_by_name_and_run_id() {
    let (gate, mut events) = Gate::new();
    // The deadline is the behaviour under test, not a timing assertion: the
    // hook is never released, so it is always cut.
    let server = Server::start(gated_os(gate, Duration::from_millis(200))).await;
    let (_, body) = server
        .post_json(
            "/agents/gated/runs",
            &[("message", "hi"), ("stream", "false")],
        )
        .await;
    assert!(events.recv().await.unwrap().starts_with("started "));
    let report = server.shutdown().await;
    assert_eq!(report.cut.len(), 1, "{report:?}");
    assert_eq!(report.cut[0].name, "slow_notification");
    assert_eq!(report.cut[0].run_id, body["run_id"].as_str().unwrap());
    assert_eq!(report.stats.cut, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sessions_runs_come_in_pages_with_a_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::builder()
        .id("pager")
        .model(Echo::new())
        .instructions("Be brief")
        .db(SqliteDb::new(dir.path().join("agent.db")).unwrap())
        .build()
        .unwrap();
    let server = Server::agent(agent).await;
    // More runs than the routes read from the store at once (8), so the
    // bodies are streamed in several reads.
    const RUNS: usize = 37;
    for i in 0..RUNS {
        run(&server, "pager", &format!("m{i}"), "long", "ada").await;
    }
    let contents = |runs: &serde_json::Value| -> Vec<String> {
        runs.as_array()
            .unwrap()
            .iter()
            .map(|r| r["content"].as_str().unwrap().to_owned())
            .collect()
    };
    let echo = |range: std::ops::Range<usize>| -> Vec<String> {
        range.map(|i| format!("Echo: m{i}")).collect()
    };
    let (status, all) = json(server.get("/sessions/long/runs").await).await;
    assert_eq!(status, 200);
    assert_eq!(contents(&all), echo(0..RUNS));
    let (_, page) = json(server.get("/sessions/long/runs?limit=2&page=2").await).await;
    assert_eq!(contents(&page), echo(2..4));
    let (_, page) = json(server.get("/sessions/long/runs?limit=20&page=1").await).await;
    assert_eq!(contents(&page), echo(0..20));
    let (_, last) = json(server.get("/sessions/long/runs?limit=20&page=2").await).await;
    assert_eq!(contents(&last), echo(20..RUNS));
    let (_, past) = json(server.get("/sessions/long/runs?limit=20&page=3").await).await;
    assert_eq!(past, serde_json::json!([]));
    // The session's chat history: each run's user and assistant messages,
    // in order, never the system message nor those sent again as history.
    let (status, detail) = json(server.get("/sessions/long").await).await;
    assert_eq!(status, 200, "{detail}");
    let history = detail["chat_history"].as_array().unwrap();
    assert_eq!(history.len(), 2 * RUNS, "{detail}");
    for (i, pair) in history.chunks(2).enumerate() {
        assert_eq!(pair[0]["role"], "user");
        assert_eq!(pair[0]["content"], format!("m{i}"));
        assert_eq!(pair[1]["role"], "assistant");
        assert_eq!(pair[1]["content"], format!("Echo: m{i}"));
    }
    assert_eq!(detail["session_id"], "long");
    for bad in ["limit=1001", "limit=0", "page=0", "limit=x"] {
        let (status, body) = json(server.get(&format!("/sessions/long/runs?{bad}")).await).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_state_past_its_ceiling_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::builder()
        .id("small")
        .model(Echo::new())
        .db(SqliteDb::new(dir.path().join("agent.db")).unwrap())
        .max_session_state_bytes(64)
        .build()
        .unwrap();
    let server = Server::agent(agent).await;
    let form = |state: &str| {
        vec![
            ("message", "hi".to_owned()),
            ("stream", "false".to_owned()),
            ("session_id", "grows".to_owned()),
            ("session_state", state.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let server = &server;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            server.post_json("/agents/small/runs", &fields).await
        }
    };
    let (status, _) = post(form(r#"{"a": "0123456789"}"#)).await;
    assert_eq!(status, 200);
    // Each run adds a key: the third takes the state past 64 bytes.
    let (status, _) = post(form(r#"{"b": "0123456789"}"#)).await;
    assert_eq!(status, 200);
    let (status, body) = post(form(r#"{"c": "0123456789012345678901234567890"}"#)).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("at most 64 are kept"),
        "{body}"
    );
    let (_, session) = json(server.get("/sessions/grows").await).await;
    assert_eq!(
        session["session_state"],
        json!({"a": "0123456789", "b": "0123456789"})
    );
    server.shutdown().await;
}
