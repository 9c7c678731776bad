//! Faults the server survives, over real HTTP: a model that fails in every
//! way (the run ends `ERROR`, is stored, the server stays healthy) and
//! hooks that panic, fail or hang (contained, logged, counted).

mod os_support;

use std::time::Duration;

use agno_server::fake_openai::{FakeConfig, FakeFault, FakeOpenAi};
use agno_server::{
    Agent, AgentOS, DispatcherConfig, Echo, HookError, OpenAIResponses, RunInput, RunOutput,
    SqliteDb, hook,
};
use os_support::{Gate, Server, json};

#[hook]
fn count_pre(run_input: &RunInput, gate: &Gate) {
    gate.report(format!("pre {}", run_input.input_content));
}

#[hook]
fn count_post(run_output: &RunOutput, gate: &Gate) {
    gate.report(format!("post {}", run_output.run_id));
}

/// One model fault and what the run must say.
struct ModelCase {
    what: &'static str,
    config: FakeConfig,
    status: &'static str,
    content_has: &'static str,
    requests: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_faults_end_the_run_with_error_and_are_stored() {
    let cases = [
        ModelCase {
            what: "500 on every try",
            config: FakeConfig::default().with_fault(FakeFault::status(500)),
            status: "ERROR",
            content_has: "500",
            requests: 3,
        },
        ModelCase {
            what: "429 with Retry-After, then an answer",
            config: FakeConfig::default().with_script(vec![FakeFault::Status {
                status: 429,
                retry_after: Some("0".into()),
                body: None,
            }]),
            status: "COMPLETED",
            content_has: "Fake answer to: hello",
            requests: 2,
        },
        ModelCase {
            what: "connection reset",
            config: FakeConfig::default().with_fault(FakeFault::Reset),
            status: "ERROR",
            content_has: "model request failed",
            requests: 3,
        },
        ModelCase {
            what: "malformed body",
            config: FakeConfig::default().with_fault(FakeFault::Malformed),
            status: "ERROR",
            content_has: "model request failed",
            requests: 1,
        },
        ModelCase {
            what: "never answers",
            config: FakeConfig::default().with_fault(FakeFault::Hang),
            status: "ERROR",
            content_has: "timed out",
            // A timeout is not retried: the client already waited its limit.
            requests: 1,
        },
    ];
    for case in cases {
        let fake = FakeOpenAi::start(case.config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
        let (gate, mut events) = Gate::new();
        // The timeout is the fault under test (a model that never
        // answers), not a timing assertion.
        let model = OpenAIResponses::new("gpt-5.2")
            .api_key("sk-test-model-key")
            .base_url(fake.base_url())
            .timeout(Duration::from_millis(300))
            .max_retries(2)
            .retry_base_delay(Duration::from_millis(1))
            .retry_max_delay(Duration::from_millis(5));
        let agent = Agent::builder()
            .id("faulty")
            .model(model)
            .db(db.clone())
            .pre_hooks([count_pre])
            .post_hooks([count_post])
            .extension(gate)
            .build()
            .unwrap();
        let server = Server::agent(agent).await;
        let (status, body) = server
            .post_json(
                "/agents/faulty/runs",
                &[("message", "hello"), ("stream", "false")],
            )
            .await;
        assert_eq!(status, 200, "{}: {body}", case.what);
        assert_eq!(body["status"], case.status, "{}: {body}", case.what);
        let content = body["content"].as_str().unwrap();
        assert!(
            content.contains(case.content_has),
            "{}: {content}",
            case.what
        );
        assert!(
            !content.contains("sk-test-model-key"),
            "{}: the key leaked",
            case.what
        );
        assert_eq!(fake.request_count(), case.requests, "{}", case.what);

        // The pre-hook ran; the post-hooks run only when the model answered.
        assert_eq!(events.recv().await.unwrap(), "pre hello");
        if case.status == "COMPLETED" {
            assert!(events.recv().await.unwrap().starts_with("post "));
        }
        let stored = agno_server::db::SessionStore::get_run(&db, body["run_id"].as_str().unwrap())
            .await
            .unwrap()
            .expect("the failed run is stored");
        assert_eq!(stored.status.as_str(), case.status, "{}", case.what);

        // Streaming, the same fault is a RunError event.
        if case.status == "ERROR" {
            let text = server
                .post_form("/agents/faulty/runs", &[("message", "hello")])
                .await
                .text()
                .await
                .unwrap();
            let frames = os_support::frames(&text);
            let (name, data) = frames.last().unwrap();
            assert_eq!(name, "RunError", "{}: {text}", case.what);
            assert_eq!(data["error_type"], "model_error");
        }
        let (status, _) = json(server.get("/health").await).await;
        assert_eq!(status, 200, "{}: still healthy", case.what);
        server.shutdown().await;
        fake.shutdown().await;
    }
}

#[hook]
fn panics(run_input: &RunInput) {
    if run_input.input_content.contains("boom") {
        panic!("hook panicked on purpose");
    }
}

#[hook]
fn fails() -> Result<(), HookError> {
    Err(HookError::msg("hook failed on purpose"))
}

#[hook]
async fn hangs_inline(run_input: &RunInput) {
    if run_input.input_content.contains("hang") {
        std::future::pending::<()>().await;
    }
}

#[hook(run_in_background = true)]
async fn panics_in_background(run_output: &RunOutput) {
    if run_output
        .content
        .as_deref()
        .is_some_and(|c| c.contains("boom"))
    {
        panic!("background hook panicked on purpose");
    }
}

#[hook(run_in_background = true)]
async fn hangs_in_background(gate: &Gate) {
    gate.report("background hang started");
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_faults_are_contained_logged_and_counted() {
    let (gate, mut events) = Gate::new();
    let faulty = Agent::builder()
        .id("faulty-hooks")
        .model(Echo::new())
        .pre_hooks((panics, fails, hangs_inline))
        .post_hooks((panics_in_background, hangs_in_background))
        .extension(gate)
        .build()
        .unwrap();
    let healthy = Agent::builder()
        .id("healthy")
        .model(Echo::new())
        .build()
        .unwrap();
    let os = AgentOS::builder()
        .agents([faulty, healthy])
        // The per-hook time limit is the feature under test.
        .dispatcher_config(DispatcherConfig {
            hook_timeout: Some(Duration::from_millis(200)),
            ..DispatcherConfig::default()
        })
        .shutdown_deadline(Duration::from_millis(500))
        .ignore_env_security_key()
        .build()
        .unwrap();
    let dispatcher = os.dispatcher().clone();
    let server = Server::start(os).await;

    let (status, body) = server
        .post_json(
            "/agents/faulty-hooks/runs",
            &[("message", "boom and hang"), ("stream", "false")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "COMPLETED", "{body}");
    assert_eq!(body["content"], "Echo: boom and hang");
    assert_eq!(events.recv().await.unwrap(), "background hang started");

    // A background hook hanging does not hold other requests.
    let (status, body) = server
        .post_json(
            "/agents/healthy/runs",
            &[("message", "hi"), ("stream", "false")],
        )
        .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("COMPLETED")));

    while dispatcher.stats().panicked < 1 || dispatcher.stats().timed_out < 1 {
        tokio::task::yield_now().await;
    }
    let stats = dispatcher.stats();
    assert_eq!(stats.inline_panicked, 1, "{stats:?}");
    assert_eq!(stats.inline_failed, 1, "{stats:?}");
    assert_eq!(stats.inline_timed_out, 1, "{stats:?}");
    assert_eq!(stats.panicked, 1, "{stats:?}");
    assert_eq!(stats.timed_out, 1, "{stats:?}");
    let (_, hooks) = json(server.get("/hooks").await).await;
    assert_eq!(hooks["stats"]["inline_panicked"], 1);
    assert_eq!(hooks["stats"]["panicked"], 1);
    assert!(server.shutdown().await.is_clean());
}
