//! The agent's run lifecycle against a real HTTP fake of OpenAI on
//! 127.0.0.1 and a real SQLite file.

use agno_server::db::prelude::*;
use std::sync::Arc;
use std::time::Duration;

use agno_server::agent::{Agent, RunEventKind, RunRequest};
use agno_server::db::SqliteDb;
use agno_server::fake_openai::{FakeConfig, FakeOpenAi};
use agno_server::model::{Echo, OpenAIResponses};
use agno_server::{
    AgentInfo, CheckError, CheckTrigger, RunInput, RunOutput, RunStatus, Session, hook,
};
use futures_util::StreamExt;

#[hook]
fn redact(run_input: &mut RunInput) {
    run_input.input_content = run_input.input_content.replace("Bob", "[name]");
}

#[hook]
fn no_passwords(run_input: &RunInput) -> Result<(), CheckError> {
    if run_input.input_content.contains("password") {
        return Err(CheckError::input(
            "Passwords are not allowed",
            CheckTrigger::InputNotAllowed,
        ));
    }
    Ok(())
}

#[hook]
async fn sign(run_output: &mut RunOutput, agent: &AgentInfo) {
    let content = run_output.content.get_or_insert_default();
    content.push_str(&format!(" -- {}", agent.display_name()));
}

#[hook]
fn log_analytics(run_output: &RunOutput, session: &Session) {
    tracing::info!(run_id = %run_output.run_id, session = %session.session_id, "analytics");
}

fn model(base_url: &str) -> OpenAIResponses {
    OpenAIResponses::new("gpt-5.2")
        .api_key("sk-test")
        .base_url(base_url)
}

async fn agent(base_url: &str, db: SqliteDb) -> Agent {
    Agent::builder()
        .id("background-task-agent")
        .name("BackgroundTaskAgent")
        .model(model(base_url))
        .instructions("You are a helpful assistant")
        .db(db)
        .pre_hooks((redact, no_passwords))
        .post_hooks((sign, log_analytics))
        .markdown(true)
        .build()
        .unwrap()
}

fn last_user_text(body: &serde_json::Value) -> String {
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn hooks_change_what_the_model_sees_and_what_is_stored() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let agent = agent(&fake.base_url(), db.clone()).await;

    let output = agent.run("Hello, I am Bob").await.unwrap();

    assert_eq!(output.status, RunStatus::Completed);
    let seen = fake.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(last_user_text(&seen[0].body), "Hello, I am [name]");
    let system = &seen[0].body["input"][0];
    assert_eq!(system["role"], "developer");
    assert!(
        system["content"]
            .as_str()
            .unwrap()
            .contains("Use markdown to format your answers.")
    );
    let content = output.content.clone().unwrap();
    assert!(content.ends_with(" -- BackgroundTaskAgent"), "{content}");
    assert_eq!(
        output.input.as_ref().unwrap().input_content,
        "Hello, I am [name]"
    );
    assert_eq!(output.model.as_deref(), Some("gpt-5.2"));
    assert_eq!(output.model_provider.as_deref(), Some("OpenAI"));
    assert!(output.metrics.as_ref().unwrap().total_tokens > 0);

    let stored = db.get_run(&output.run_id).await.unwrap().unwrap();
    assert_eq!(
        stored.content, output.content,
        "the stored run has the changed output"
    );
    assert_eq!(stored.status, RunStatus::Completed);
    let session = db
        .get_session(output.session_id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.agent_id.as_deref(), Some("background-task-agent"));
}

#[tokio::test]
async fn an_input_check_error_skips_the_model_and_is_stored() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let agent = agent(&fake.base_url(), db.clone()).await;

    let output = agent.run("my password is hunter2").await.unwrap();

    assert_eq!(output.status, RunStatus::Error);
    assert_eq!(output.content.as_deref(), Some("Passwords are not allowed"));
    assert!(fake.requests().is_empty(), "the model was not called");
    let stored = db.get_run(&output.run_id).await.unwrap().unwrap();
    assert_eq!(stored.status, RunStatus::Error);
}

#[tokio::test]
async fn a_second_run_in_a_session_carries_the_first_exchange() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let agent = agent(&fake.base_url(), db.clone()).await;

    let first = agent
        .run(RunRequest::new("My favourite colour is green").session_id("conv-1"))
        .await
        .unwrap();
    let second = agent
        .run(RunRequest::new("What is my favourite colour?").session_id("conv-1"))
        .await
        .unwrap();

    let seen = fake.requests();
    assert_eq!(seen.len(), 2);
    let input = seen[1].body["input"].as_array().unwrap();
    let texts: Vec<(&str, &str)> = input
        .iter()
        .map(|m| (m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert_eq!(texts[0].0, "developer");
    assert_eq!(texts[1], ("user", "My favourite colour is green"));
    // As in Agno, history replays the messages the model exchanged: the
    // assistant's own words, not the content a post-hook rewrote afterwards.
    let first_answer = first
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "assistant")
        .and_then(|m| m.content.as_deref());
    assert_eq!(texts[2].0, "assistant");
    assert_eq!(Some(texts[2].1), first_answer);
    assert_eq!(
        first.content.as_deref(),
        Some("Fake answer to: My favourite colour is green -- BackgroundTaskAgent")
    );
    assert_eq!(texts[3], ("user", "What is my favourite colour?"));
    let runs = db.get_runs("conv-1").await.unwrap();
    assert_eq!(
        runs.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        [first.run_id.as_str(), second.run_id.as_str()]
    );
}

#[tokio::test]
async fn streaming_events_come_in_agnos_order() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let agent = agent(&fake.base_url(), db).await;

    let events: Vec<_> = agent.run_stream("Hello there").collect().await;
    let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
    let deltas = names.iter().filter(|n| **n == "RunContent").count();
    assert!(deltas >= 2, "{names:?}");
    // One event ends the stream, and it is the last.
    let terminal: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].kind.is_terminal())
        .collect();
    assert_eq!(terminal, [events.len() - 1], "{names:?}");
    let mut expected = vec![
        "RunStarted",
        "PreHookStarted",
        "PreHookCompleted",
        "PreHookStarted",
        "PreHookCompleted",
        "ModelRequestStarted",
    ];
    expected.extend(std::iter::repeat_n("RunContent", deltas));
    expected.extend([
        "ModelRequestCompleted",
        "RunContentCompleted",
        "PostHookStarted",
        "PostHookCompleted",
        "PostHookStarted",
        "PostHookCompleted",
        "RunCompleted",
    ]);
    assert_eq!(names, expected);
    let RunEventKind::PreHookStarted { pre_hook_name, .. } = &events[1].kind else {
        panic!()
    };
    assert_eq!(pre_hook_name, "redact");
    let streamed: String = events
        .iter()
        .filter_map(|e| match &e.kind {
            RunEventKind::RunContent { content, .. } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    let RunEventKind::RunCompleted { content, .. } = &events.last().unwrap().kind else {
        panic!()
    };
    assert_eq!(
        content.as_deref().unwrap(),
        format!("{streamed} -- BackgroundTaskAgent")
    );
    let run_id = &events[0].run_id;
    assert!(events.iter().all(|e| &e.run_id == run_id));
}

#[tokio::test]
async fn a_streaming_check_error_ends_with_run_error() {
    let agent = Agent::builder()
        .id("a")
        .model(Echo::new())
        .pre_hooks(no_passwords)
        .build()
        .unwrap();
    let events: Vec<_> = agent.run_stream("password please").collect().await;
    let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["RunStarted", "PreHookStarted", "RunError"]);
    let RunEventKind::RunError {
        error_type,
        error_id,
        content,
        ..
    } = &events[2].kind
    else {
        panic!()
    };
    assert_eq!(error_type, "input_check_error");
    assert_eq!(error_id.as_deref(), Some("input_not_allowed"));
    assert_eq!(content, "Passwords are not allowed");
}

#[tokio::test]
async fn a_model_failure_ends_the_run_with_error_and_is_stored() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let agent = Agent::builder()
        .id("a")
        .model(
            OpenAIResponses::new("gpt-5.2")
                .base_url(fake.base_url())
                .api_key("")
                .max_retries(0),
        )
        .db(db.clone())
        .build()
        .unwrap();
    let output = agent.run("hi").await.unwrap();
    assert_eq!(output.status, RunStatus::Error);
    assert!(output.content.unwrap().contains("API key"));
    assert!(db.get_run(&output.run_id).await.unwrap().is_some());
}

#[tokio::test]
async fn a_hook_list_of_the_wrong_phase_fails_to_build() {
    let result = Agent::builder()
        .id("a")
        .model(Echo::new())
        .pre_hooks(vec![agno_server::hook_ref(sign)])
        .build();
    let error = result.unwrap_err().to_string();
    assert!(error.contains("`sign` cannot be a pre-hook"), "{error}");
}

/// The child half of `runs_survive_a_fresh_process`: opens the file named
/// by `AGNO_REOPEN_DB` in this new process and checks every run id listed
/// in `AGNO_REOPEN_RUNS` is there.
#[tokio::test]
#[ignore = "a child process of runs_survive_a_fresh_process"]
async fn reopen_child() {
    let (Ok(path), Ok(ids)) = (
        std::env::var("AGNO_REOPEN_DB"),
        std::env::var("AGNO_REOPEN_RUNS"),
    ) else {
        panic!("run by its parent test, runs_survive_a_fresh_process, only");
    };
    let db = SqliteDb::new(path).unwrap();
    for id in ids.split(',') {
        let run = db.get_run(id).await.unwrap();
        assert!(run.is_some(), "run {id} missing after reopening");
        assert_eq!(run.unwrap().status, RunStatus::Completed);
    }
}

#[tokio::test]
async fn runs_survive_a_fresh_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let ids: Vec<String> = {
        let agent = Agent::builder()
            .id("a")
            .model(Echo::new())
            .db(SqliteDb::new(&path).unwrap())
            .build()
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(agent.run(format!("message {i}")).await.unwrap().run_id);
        }
        ids
    };
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "reopen_child", "--ignored", "--nocapture"])
        .env("AGNO_REOPEN_DB", &path)
        .env("AGNO_REOPEN_RUNS", ids.join(","))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the fresh process did not see every run:\n{stdout}"
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_runs_lose_nothing() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let agent = Arc::new(agent(&fake.base_url(), db.clone()).await);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let agent = agent.clone();
        tasks.push(tokio::spawn(async move {
            agent
                .run(RunRequest::new(format!("run {i}")).session_id(format!("s{}", i % 20)))
                .await
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        let output = tokio::time::timeout(Duration::from_secs(120), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(output.status, RunStatus::Completed);
        ids.push(output.run_id);
    }
    let mut stored = 0;
    for s in 0..20 {
        stored += db.get_runs(&format!("s{s}")).await.unwrap().len();
    }
    assert_eq!(stored, 200);
    for id in &ids {
        assert!(db.get_run(id).await.unwrap().is_some());
    }
}

/// Lost updates: every run writes back only the keys it changes, so 200
/// runs of ONE session at once, each adding its own key to the state, keep
/// all 200 keys (each used to write back the state as it read it, and
/// 12 to 30 survived), and a rename made while they run stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_of_a_session_keep_every_state_key_and_the_rename() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let agent = Arc::new(
        Agent::builder()
            .id("stateful")
            .model(Echo::new())
            .db(db.clone())
            .build()
            .unwrap(),
    );
    agent
        .run(RunRequest::new("first").session_id("shared"))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let agent = agent.clone();
        let mut state = serde_json::Map::new();
        state.insert(format!("key{i}"), serde_json::json!(i));
        tasks.push(tokio::spawn(async move {
            agent
                .run(
                    RunRequest::new(format!("run {i}"))
                        .session_id("shared")
                        .session_state(state),
                )
                .await
        }));
        if i == 100 {
            // Renamed while runs of the session are in flight.
            db.rename_session("shared", "Renamed", None)
                .await
                .unwrap()
                .unwrap();
        }
    }
    for task in tasks {
        let output = task.await.unwrap().unwrap();
        assert_eq!(output.status, RunStatus::Completed);
    }
    let session = db.get_session("shared").await.unwrap().unwrap();
    assert_eq!(session.session_state.len(), 200);
    for i in 0..200 {
        assert_eq!(session.session_state[&format!("key{i}")], i, "key{i}");
    }
    assert_eq!(session.session_name.as_deref(), Some("Renamed"));
    assert_eq!(db.get_runs("shared").await.unwrap().len(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_store_fails_ends_with_an_internal_error_naming_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    rusqlite::Connection::open(dir.path().join("agent.db"))
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER no_runs BEFORE INSERT ON agno_runs BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
        )
        .unwrap();
    let agent = Agent::builder()
        .id("doomed")
        .model(Echo::new())
        .db(db)
        .build()
        .unwrap();
    let request = RunRequest {
        session_id: Some("s-1".into()),
        ..RunRequest::from("hello")
    };
    let events: Vec<_> = agent.run_stream(request).collect().await;
    let first = events.first().unwrap();
    let last = events.last().unwrap();
    assert_eq!(first.name(), "RunStarted");
    let RunEventKind::RunError {
        content,
        error_type,
        ..
    } = &last.kind
    else {
        panic!("{:?}", last.kind)
    };
    assert_eq!(error_type, "internal_error");
    assert!(content.contains("disk on fire"), "{content}");
    // The run's real ids, not empty strings: a client can tell which run
    // failed.
    assert_eq!(last.run_id, first.run_id);
    assert!(!last.run_id.is_empty());
    assert_eq!(last.session_id, "s-1");
}
