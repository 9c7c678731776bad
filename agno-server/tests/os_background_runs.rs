//! Background runs (Agno's `background=true`) and cancel, over HTTP on
//! 127.0.0.1 with a real SQLite file: the 202 contract, polling,
//! idempotency keys, a full queue, cancel of a queued and of a running run.

mod os_support;

use std::time::Duration;

use agno_server::jobs::JobOptions;
use agno_server::{Agent, AgentOS, Echo, RunInput, SqliteDb, hook};
use os_support::{Gate, Server, json};

/// Inline: waits at the gate, so a test holds a run in its pre-phase.
#[hook]
async fn hold(run_input: &RunInput, gate: &Gate) {
    gate.report(format!("holding {}", run_input.input_content));
    gate.pass().await;
}

const RUNS: &str = "/agents/bg/runs";

async fn server(
    options: JobOptions,
) -> (
    Server,
    Gate,
    tokio::sync::mpsc::UnboundedReceiver<String>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let (gate, events) = Gate::new();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let agent = Agent::builder()
        .id("bg")
        .model(Echo::new())
        .db(db.clone())
        .pre_hooks(hold)
        .extension(gate.clone())
        .job_options(options)
        .build()
        .unwrap();
    let other = Agent::builder()
        .id("other")
        .model(Echo::new())
        .db(db)
        .build()
        .unwrap();
    let no_store = Agent::builder()
        .id("no-store")
        .model(Echo::new())
        .build()
        .unwrap();
    let os = AgentOS::builder()
        .agents([agent, other, no_store])
        .ignore_env_security_key()
        .build()
        .unwrap();
    (Server::start(os).await, gate, events, dir)
}

async fn submit(
    server: &Server,
    path: &str,
    message: &str,
    key: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = server
        .client
        .post(server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("message={message}&stream=false&background=true"));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    json(request.send().await.unwrap()).await
}

/// Polls the run until its status is `want` (bounded; no timing asserted).
async fn poll_until(
    server: &Server,
    run_id: &str,
    session_id: &str,
    want: &str,
) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..2_000 {
        let (status, body) = json(
            server
                .get(&format!("/agents/bg/runs/{run_id}?session_id={session_id}"))
                .await,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        if body["status"] == want {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("run {run_id} never reached {want}: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_run_answers_202_then_polls_pending_running_completed() {
    let (server, gate, mut events, _dir) = server(JobOptions::default()).await;
    let (status, body) = submit(&server, RUNS, "hello", None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "PENDING");
    let run_id = body["run_id"].as_str().unwrap().to_owned();
    let session_id = body["session_id"].as_str().unwrap().to_owned();
    // Held in its pre-phase: the poll says RUNNING.
    assert_eq!(events.recv().await.unwrap(), "holding hello");
    poll_until(&server, &run_id, &session_id, "RUNNING").await;
    gate.open.add_permits(1);
    let done = poll_until(&server, &run_id, &session_id, "COMPLETED").await;
    assert_eq!(done["content"], "Echo: hello");
    assert_eq!(done["session_id"], session_id.as_str());
    // Its job is kept as completed (its key would keep answering). The
    // job's outcome is written in a batch after the run's: wait for it.
    let mut stats = serde_json::Value::Null;
    for _ in 0..1000 {
        stats = json(server.get("/queue/stats").await).await.1;
        if stats["counts"]["completed"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(stats["counts"]["completed"], 1, "{stats}");
    assert_eq!(stats["counts"]["running"], 0, "{stats}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_keys_dedupe_refuse_long_keys_and_conflicts() {
    let (server, gate, _events, _dir) = server(JobOptions::default()).await;
    gate.open.add_permits(10);
    let (status, first) = submit(&server, RUNS, "once", Some("key-1")).await;
    assert_eq!(status, 202, "{first}");
    let (status, again) = submit(&server, RUNS, "once", Some("key-1")).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["run_id"], first["run_id"]);
    assert_eq!(again["session_id"], first["session_id"]);
    // The same key from another user is another run.
    let (status, theirs) = submit(&server, RUNS, "once&user_id=u2", Some("key-1")).await;
    assert_eq!(status, 202, "{theirs}");
    assert_ne!(theirs["run_id"], first["run_id"]);
    let (status, body) = submit(&server, RUNS, "x", Some(&"k".repeat(513))).await;
    assert_eq!(status, 422, "{body}");
    // A plain run ignores the header, as Agno does.
    let response = server
        .client
        .post(server.url(RUNS))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("idempotency-key", "k".repeat(513))
        .body("message=plain&stream=false")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("COMPLETED")),
        "{body}"
    );
    let (status, body) = submit(&server, "/agents/other/runs", "x", Some("key-1")).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = submit(&server, "/agents/no-store/runs", "x", None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["detail"],
        "Background execution requires a database to be configured on the agent"
    );
    let (_, stats) = json(server.get("/queue/stats").await).await;
    let total: u64 = stats["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(total, 2, "one run for one key and user: {stats}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_429_and_a_queued_run_is_cancelled_at_once() {
    let options = JobOptions {
        max_concurrent: 1,
        max_queue_depth: 1,
        ..JobOptions::default()
    };
    let (server, gate, mut events, _dir) = server(options).await;
    let (_, first) = submit(&server, RUNS, "first", None).await;
    assert_eq!(events.recv().await.unwrap(), "holding first");
    let (status, queued) = submit(&server, RUNS, "second", None).await;
    assert_eq!(status, 202, "{queued}");
    let (status, body) = submit(&server, RUNS, "third", None).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["detail"], "Job queue is full");

    let queued_id = queued["run_id"].as_str().unwrap();
    let response = server
        .client
        .post(server.url(&format!("/agents/bg/runs/{queued_id}/cancel")))
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!((status, body), (200, serde_json::json!({})));
    let session = queued["session_id"].as_str().unwrap();
    poll_until(&server, queued_id, session, "CANCELLED").await;

    gate.open.add_permits(5);
    let first_id = first["run_id"].as_str().unwrap();
    poll_until(
        &server,
        first_id,
        first["session_id"].as_str().unwrap(),
        "COMPLETED",
    )
    .await;
    let agent = server.agents[0].clone();
    server.shutdown().await;
    // The cancelled run never ran: only "first" reached the gate.
    assert!(events.try_recv().is_err());
    assert_eq!(agent.jobs().counters().started, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_run_stops_at_its_next_step_and_is_stored_cancelled() {
    let (server, gate, mut events, _dir) = server(JobOptions::default()).await;
    // A streaming (not background) run, held in its pre-phase.
    let mut response = server
        .client
        .post(server.url(RUNS))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("message=stop+me&stream=true")
        .send()
        .await
        .unwrap();
    assert_eq!(events.recv().await.unwrap(), "holding stop me");
    // Its id is in the first event (RunStarted).
    let mut body = String::new();
    let run_id = loop {
        let chunk = response.chunk().await.unwrap().expect("the stream goes on");
        body.push_str(std::str::from_utf8(&chunk).unwrap());
        if !body.ends_with("\n\n") {
            continue;
        }
        if let Some((_, data)) = os_support::frames(&body).first() {
            break data["run_id"].as_str().unwrap().to_owned();
        }
    };
    let (status, answer) = json(
        server
            .client
            .post(server.url(&format!("/agents/bg/runs/{run_id}/cancel")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, answer), (200, serde_json::json!({})));
    gate.open.add_permits(1);
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let frames = os_support::frames(&body);
    let (last, data) = frames.last().unwrap();
    assert_eq!(last, "RunCancelled", "{body}");
    assert_eq!(data["run_id"], run_id.as_str());
    assert!(
        frames.iter().all(|(name, _)| name != "ModelRequestStarted"),
        "stopped before the model: {body}"
    );
    let agent = server.agents[0].clone();
    let stored = agent.db().unwrap().get_run(&run_id).await.unwrap().unwrap();
    assert_eq!(stored.status, agno_server::RunStatus::Cancelled);
    assert_eq!(
        stored.content.as_deref(),
        Some(format!("Run {run_id} was cancelled").as_str())
    );
    // Cancelling it again, or an unknown run: 200 {} as Agno answers.
    for id in [run_id.as_str(), "no-such-run"] {
        let response = server
            .client
            .post(server.url(&format!("/agents/bg/runs/{id}/cancel")))
            .send()
            .await
            .unwrap();
        assert_eq!(json(response).await, (200, serde_json::json!({})));
    }
    server.shutdown().await;
}

/// A durable hook that fails until the gate lets one attempt through.
#[hook(run_in_background = true, durable = true)]
async fn flaky(run_output: &agno_server::RunOutput, gate: &Gate) -> Result<(), String> {
    let _ = run_output;
    if gate.open.try_acquire().map(|p| p.forget()).is_ok() {
        gate.report("flaky succeeded");
        Ok(())
    } else {
        gate.report("flaky failed");
        Err("downstream is down".to_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_routes_list_read_and_requeue_a_failed_job() {
    let dir = tempfile::tempdir().unwrap();
    let (gate, mut events) = Gate::new();
    let agent = Agent::builder()
        .id("ops")
        .model(Echo::new())
        .db(SqliteDb::new(dir.path().join("agent.db")).unwrap())
        .post_hooks(flaky)
        .extension(gate.clone())
        .job_options(JobOptions {
            max_attempts: 1,
            ..JobOptions::default()
        })
        .build()
        .unwrap();
    let server = Server::agent(agent).await;
    let (status, run) = server
        .post_json(
            "/agents/ops/runs",
            &[("message", "hi"), ("stream", "false")],
        )
        .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(events.recv().await.unwrap(), "flaky failed");
    // Failed for good (one attempt): listed, readable with its payload.
    let job = loop {
        let (status, page) = json(server.get("/queue/jobs?status=failed").await).await;
        assert_eq!(status, 200, "{page}");
        if let Some(job) = page["data"].as_array().unwrap().first() {
            assert_eq!(page["meta"]["total_count"], 1);
            break job.clone();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(job["job_type"], "hook");
    assert_eq!(job["component_id"], "ops");
    // Agno's filters: a status and a session may repeat; a user.
    let session = run["session_id"].as_str().unwrap();
    let (status, page) = json(
        server
            .get(&format!(
                "/queue/jobs?status=queued&status=failed&session_id=nope&session_id={session}&sort_by=updated_at&sort_order=asc"
            ))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["meta"]["total_count"], 1, "{page}");
    assert!(page["meta"]["search_time_ms"].is_f64(), "{page}");
    let (_, page) = json(server.get("/queue/jobs?user_id=someone-else").await).await;
    assert_eq!(page["meta"]["total_count"], 0, "{page}");
    let (_, stats) = json(server.get("/queue/stats").await).await;
    assert_eq!(stats["counts"]["failed"], 1, "{stats}");
    assert!(
        stats["oldest_queued_age_seconds"].is_null(),
        "nothing queued: null, as Agno: {stats}"
    );
    assert_eq!(job["error"], "downstream is down");
    let id = job["id"].as_str().unwrap();
    let (status, one) = json(server.get(&format!("/queue/jobs/{id}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(one["payload"]["hook"], "flaky");
    assert_eq!(one["payload"]["run_id"], run["run_id"]);
    let (_, hooks) = json(server.get("/hooks").await).await;
    assert_eq!(
        hooks["jobs"]["agents"]["ops"]["counters"]["failed"], 1,
        "{hooks}"
    );

    // Requeued: it runs again (the gate lets it through) and is done.
    gate.open.add_permits(1);
    let (status, requeued) = json(
        server
            .client
            .post(server.url(&format!("/queue/jobs/{id}/requeue")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{requeued}");
    assert_eq!(requeued["status"], "queued");
    assert_eq!(events.recv().await.unwrap(), "flaky succeeded");
    // Not requeueable twice, nor unknown jobs; bad filters are 400.
    for path in [
        format!("/queue/jobs/{id}/requeue"),
        "/queue/jobs/nope/requeue".to_owned(),
    ] {
        let response = server.client.post(server.url(&path)).send().await.unwrap();
        let (status, _) = json(response).await;
        assert_eq!(status, 400, "{path}");
    }
    let (status, _) = json(server.get("/queue/jobs/nope").await).await;
    assert_eq!(status, 404);
    for bad in [
        "status=lost",
        "limit=0",
        "limit=1001",
        "page=0",
        "session_id=",
        "sort_order=sideways",
        "limit=x",
    ] {
        let (status, _) = json(server.get(&format!("/queue/jobs?{bad}")).await).await;
        assert_eq!(status, 400, "{bad}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_worker_leaves_queued_background_runs_for_the_next_start() {
    // What SIGTERM does first (`os/shutdown.rs`), called here directly.
    let options = JobOptions {
        max_concurrent: 1,
        ..JobOptions::default()
    };
    let (server, gate, mut events, _dir) = server(options).await;
    let (_, first) = submit(&server, RUNS, "first", None).await;
    assert_eq!(events.recv().await.unwrap(), "holding first");
    // One place, taken: the second waits in the store.
    let (status, second) = submit(&server, RUNS, "second", None).await;
    assert_eq!(status, 202, "{second}");
    let agent = server.agents[0].clone();
    // Shutting down begins (what SIGTERM does first); then the first run
    // ends and frees its place.
    agent.jobs().drain_begins();
    gate.open.add_permits(1);
    poll_until(
        &server,
        first["run_id"].as_str().unwrap(),
        first["session_id"].as_str().unwrap(),
        "COMPLETED",
    )
    .await;
    // The place is free, and the worker told of it (the first's end wakes
    // it): still the second is not taken from the store.
    agent.jobs().wake();
    assert!(agent.jobs().is_draining());
    let second_id = second["run_id"].as_str().unwrap();
    let job = agent
        .db()
        .unwrap()
        .get_job(second_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (job.status, job.attempt),
        (agno_server::db::JobStatus::Queued, 0),
        "left for the next start, its attempt not counted"
    );
    let run = agent
        .db()
        .unwrap()
        .get_run(second_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, agno_server::RunStatus::Pending);
    // An absence, so a bounded wait: a worker that is not draining starts
    // the second as soon as the place frees (the test above), this one
    // must not within a second.
    assert!(
        tokio::time::timeout(Duration::from_secs(1), events.recv())
            .await
            .is_err(),
        "the second started while draining"
    );
    server.shutdown().await;
}
