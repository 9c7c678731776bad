//! Hooks around tool calls, over real HTTP against the fake OpenAI server
//! (which scripts the calls from the user's message): a hook that changes
//! the arguments (they reach the tool: Agno's #9682), a wrapper that
//! changes the call and the result or answers alone, a hook that refuses
//! the call (the model gets the error) or fails the run (a check), the
//! chain's order (the agent's hooks, then the tool's own), post-tool hooks
//! that see the result, and a durable post-tool audit run from the store
//! by the next agent after the first shut down.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use agno_server::agent::Agent;
use agno_server::db::SqliteDb;
use agno_server::fake_openai::{FakeConfig, FakeOpenAi, FakeOpenAiHandle};
use agno_server::model::OpenAIResponses;
use agno_server::{
    CheckError, CheckTrigger, HookError, Job, Next, RunStatus, ToolCall, ToolError, ToolResult,
    hook, tool,
};
use serde_json::json;

async fn fake() -> FakeOpenAiHandle {
    FakeOpenAi::start(FakeConfig::default()).await.unwrap()
}

fn model(fake: &FakeOpenAiHandle) -> OpenAIResponses {
    OpenAIResponses::new("gpt-test")
        .api_key("sk-test")
        .base_url(fake.base_url())
}

/// An agent on `fake` with `tools` and the tool hooks `hooks`.
fn with_tool_hooks(
    id: &str,
    fake: &FakeOpenAiHandle,
    tools: impl agno_server::IntoToolList,
    hooks: impl agno_server::IntoHookList<agno_server::hooks_core::ToolHooks>,
) -> Agent {
    Agent::builder()
        .id(id)
        .model(model(fake))
        .tools(tools)
        .tool_hooks(hooks)
        .build()
        .unwrap()
}

/// The tool results the model was sent, in its second request.
fn results_sent(fake: &FakeOpenAiHandle) -> Vec<String> {
    let requests = fake.requests();
    requests[1].body["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == "function_call_output")
        .map(|m| m["output"].as_str().unwrap().to_owned())
        .collect()
}

// --- a hook that changes the arguments --------------------------------

/// Multiplies two numbers.
#[tool]
fn multiply(a: i64, b: i64) -> i64 {
    a * b
}

/// Doubles `a`: the tool must see the change.
#[hook]
fn double_a(call: &mut ToolCall) {
    if let Some(a) = call.arguments.get("a").and_then(|v| v.as_i64()) {
        call.arguments.insert("a".into(), json!(a * 2));
    }
}

#[tokio::test]
async fn a_hook_that_changes_the_arguments_changes_what_the_tool_gets() {
    let fake = fake().await;
    let agent = with_tool_hooks("changes", &fake, multiply, double_a);
    let output = agent
        .run(r#"[call multiply {"a": 3, "b": 5}]"#)
        .await
        .unwrap();
    assert_eq!(output.status, RunStatus::Completed);
    assert_eq!(results_sent(&fake), ["30"]);
    // The run records the call as the model made it.
    assert_eq!(output.tools[0].tool_args["a"], 3);
    assert_eq!(output.tools[0].result.as_deref(), Some("30"));
}

// --- wrappers -----------------------------------------------------------

/// Subtracts `b` from `a`.
#[tool]
fn subtract(a: i64, b: i64) -> i64 {
    a - b
}

/// Swaps the arguments given to `next`, and marks the result.
#[hook]
async fn swap_and_mark(mut call: ToolCall, next: Next) -> Result<String, ToolError> {
    assert_eq!(next.tool().meta().name, "subtract");
    let a = call.arguments.remove("a").unwrap();
    let b = call.arguments.remove("b").unwrap();
    call.arguments.insert("a".into(), b);
    call.arguments.insert("b".into(), a);
    let result = next.run(call).await?;
    Ok(format!("{result} (swapped)"))
}

static CACHED_TOOL_RAN: AtomicUsize = AtomicUsize::new(0);

/// Looks a word up.
#[tool]
fn lookup(word: String) -> String {
    CACHED_TOOL_RAN.fetch_add(1, Ordering::SeqCst);
    format!("looked up {word}")
}

/// Answers `cached` words itself: the tool never runs for them.
#[hook]
async fn cache(call: ToolCall, next: Next) -> Result<String, HookError> {
    if call.arguments.get("word") == Some(&json!("cached")) {
        return Ok("from the cache".to_owned());
    }
    Ok(next.run(call).await?)
}

#[tokio::test]
async fn a_wrapper_changes_the_call_and_the_result_or_answers_alone() {
    let fake = fake().await;
    let agent = with_tool_hooks("wraps", &fake, (subtract, lookup), (swap_and_mark, cache));
    let output = agent
        .run(r#"[call subtract {"a": 10, "b": 3}]"#)
        .await
        .unwrap();
    assert_eq!(output.status, RunStatus::Completed);
    // The arguments given to `next` reached the tool: 3 - 10.
    assert_eq!(results_sent(&fake), ["-7 (swapped)"]);

    let fake = self::fake().await;
    let agent = with_tool_hooks("caches", &fake, lookup, cache);
    agent
        .run(r#"[call lookup {"word": "cached"}] [call lookup {"word": "fresh"}]"#)
        .await
        .unwrap();
    assert_eq!(results_sent(&fake), ["from the cache", "looked up fresh"]);
    assert_eq!(CACHED_TOOL_RAN.load(Ordering::SeqCst), 1);
}

// --- refusing a call, failing the run ------------------------------------

static GUARDED_RAN: AtomicUsize = AtomicUsize::new(0);

/// Deletes a file (never, in these tests).
#[tool]
fn delete_file(path: String) -> String {
    GUARDED_RAN.fetch_add(1, Ordering::SeqCst);
    format!("deleted {path}")
}

/// Refuses paths outside `/tmp`: the model is told why.
#[hook]
fn only_tmp(call: &ToolCall) -> Result<(), String> {
    match call.arguments.get("path").and_then(|p| p.as_str()) {
        Some(p) if p.starts_with("/tmp/") => Ok(()),
        other => Err(format!("refused: {other:?} is outside /tmp")),
    }
}

/// Fails the run on `/etc`: a guardrail on tools.
#[hook]
fn no_etc(call: &ToolCall) -> Result<(), CheckError> {
    if call.arguments.get("path").and_then(|p| p.as_str()) == Some("/etc/passwd") {
        return Err(CheckError::input(
            "touching /etc is not allowed",
            CheckTrigger::InputNotAllowed,
        ));
    }
    Ok(())
}

#[tokio::test]
async fn a_hook_refuses_a_call_or_fails_the_run() {
    let fake = fake().await;
    let agent = with_tool_hooks("guards", &fake, delete_file, (no_etc, only_tmp));
    let output = agent
        .run(r#"[call delete_file {"path": "/home/me"}]"#)
        .await
        .unwrap();
    assert_eq!(output.status, RunStatus::Completed);
    assert_eq!(
        results_sent(&fake),
        [r#"refused: Some("/home/me") is outside /tmp"#]
    );
    assert_eq!(output.tools[0].tool_call_error, Some(true));

    let output = agent
        .run(r#"[call delete_file {"path": "/etc/passwd"}]"#)
        .await
        .unwrap();
    assert_eq!(output.status, RunStatus::Error);
    assert_eq!(
        output.content.as_deref(),
        Some("touching /etc is not allowed")
    );
    assert_eq!(GUARDED_RAN.load(Ordering::SeqCst), 0, "the tool never ran");
}

/// Swallows whatever the inner links say: it still cannot let a run
/// through that an inner check failed.
#[hook]
async fn swallow(call: ToolCall, next: Next) -> Result<String, ToolError> {
    Ok(next
        .run(call)
        .await
        .unwrap_or_else(|e| format!("ignored: {e}")))
}

#[tokio::test]
async fn a_wrapper_cannot_bypass_an_inner_check() {
    let fake = fake().await;
    let agent = with_tool_hooks("bypass", &fake, delete_file, (swallow, no_etc));
    let output = agent
        .run(r#"[call delete_file {"path": "/etc/passwd"}]"#)
        .await
        .unwrap();
    assert_eq!(output.status, RunStatus::Error);
    assert_eq!(
        output.content.as_deref(),
        Some("touching /etc is not allowed")
    );
}

// --- order, post-tool hooks -------------------------------------------

static ORDER: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record(what: impl Into<String>) {
    ORDER.lock().unwrap().push(what.into());
}

#[hook]
fn first(call: &ToolCall) {
    record(format!("first {}", call.name));
}

#[hook]
async fn second(call: ToolCall, next: Next) -> Result<String, ToolError> {
    record("second before");
    let result = next.run(call).await;
    record("second after");
    result
}

#[hook]
fn own(call: &ToolCall) {
    record(format!("own {}", call.name));
}

#[hook]
fn audit(call: &ToolCall, result: &ToolResult) {
    record(format!(
        "audit {} -> {} error={}",
        call.name, result.content, result.is_error
    ));
}

#[hook]
fn own_audit(result: &ToolResult) {
    record(format!("own audit {}", result.content));
}

/// Greets someone.
#[tool(hooks = own, post_hooks = own_audit)]
fn greet(name: String) -> String {
    record("tool");
    format!("hello {name}")
}

#[tokio::test]
async fn the_agents_hooks_run_then_the_tools_own_then_the_tool_then_the_post_tool_hooks() {
    let fake = fake().await;
    let agent = Agent::builder()
        .id("order")
        .model(model(&fake))
        .tools(greet)
        .tool_hooks((first, second))
        .post_tool_hooks(audit)
        .build()
        .unwrap();
    let output = agent.run(r#"[call greet {"name": "Ada"}]"#).await.unwrap();
    assert_eq!(output.status, RunStatus::Completed);
    assert_eq!(
        *ORDER.lock().unwrap(),
        [
            "first greet",
            "second before",
            "own greet",
            "tool",
            "second after",
            "audit greet -> hello Ada error=false",
            "own audit hello Ada",
        ]
    );
}

// --- a durable audit, across a restart ---------------------------------

static HOLD: AtomicBool = AtomicBool::new(true);
static AUDITED: Mutex<Vec<String>> = Mutex::new(Vec::new());
static AUDIT_DONE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

/// Divides `a` by `b`.
#[tool]
fn divide(a: f64, b: f64) -> Result<f64, String> {
    if b == 0.0 {
        return Err("division by zero".to_owned());
    }
    Ok(a / b)
}

/// An audit of every call, kept with the run: it survives the process.
#[hook(run_in_background = true, durable = true)]
async fn durable_audit(call: &ToolCall, result: &ToolResult, job: &Job) {
    if HOLD.load(Ordering::Acquire) {
        std::future::pending::<()>().await;
    }
    AUDITED.lock().unwrap().push(format!(
        "{} {} -> {} error={} attempt={}",
        call.name,
        serde_json::Value::Object(call.arguments.clone()),
        result.content,
        result.is_error,
        job.attempt
    ));
    AUDIT_DONE.add_permits(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_post_tool_hook_runs_from_the_store_after_a_restart() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let db: std::sync::Arc<dyn agno_server::Db> =
        std::sync::Arc::new(SqliteDb::new(dir.path().join("audit.db")).unwrap());
    let agent = |db: &std::sync::Arc<dyn agno_server::Db>| {
        Agent::builder()
            .id("audit")
            .model(model(&fake))
            .db_arc(db.clone())
            .tools(divide)
            .post_tool_hooks(durable_audit)
            // One place: the first call's audit holds it, so the second
            // call's job is stored queued with the run.
            .job_options(agno_server::jobs::JobOptions {
                max_concurrent: 1,
                ..Default::default()
            })
            .build()
            .unwrap()
    };
    let before = agent(&db);
    let output = before
        .run(r#"[call divide {"a": 1, "b": 4}] [call divide {"a": 1, "b": 0}]"#)
        .await
        .unwrap();
    assert_eq!(output.status, RunStatus::Completed);
    // The held attempt is cut: both jobs stay in the store.
    before.shutdown(Duration::from_millis(200)).await;
    assert!(AUDITED.lock().unwrap().is_empty());

    HOLD.store(false, Ordering::Release);
    let after = agent(&db);
    after.start_jobs();
    tokio::time::timeout(Duration::from_secs(30), AUDIT_DONE.acquire_many(2))
        .await
        .expect("both audits ran after the restart")
        .unwrap()
        .forget();
    after.shutdown(Duration::from_secs(10)).await;
    let mut audited = AUDITED.lock().unwrap().clone();
    audited.sort();
    assert_eq!(audited.len(), 2, "{audited:?}");
    assert!(
        audited[0].starts_with(r#"divide {"a":1,"b":0} -> division by zero error=true attempt="#),
        "{audited:?}"
    );
    assert!(
        audited[1].starts_with(r#"divide {"a":1,"b":4} -> 0.25 error=false attempt="#),
        "{audited:?}"
    );
}

// --- a blocking (sync) hook in the chain ------------------------------

/// Concatenates two words.
#[tool]
fn concat(a: String, b: String) -> String {
    format!("{a}{b}")
}

/// A sync hook on the blocking pool: its change reaches the tool too.
#[hook(blocking = true)]
fn shout(call: &mut ToolCall) {
    if let Some(serde_json::Value::String(a)) = call.arguments.get_mut("a") {
        *a = a.to_uppercase();
    }
}

#[tokio::test]
async fn a_blocking_hook_changes_the_call_from_the_blocking_pool() {
    let fake = fake().await;
    let agent = with_tool_hooks("blocking-hook", &fake, concat, shout);
    agent
        .run(r#"[call concat {"a": "ab", "b": "cd"}]"#)
        .await
        .unwrap();
    assert_eq!(results_sent(&fake), ["ABcd"]);
}

// --- a background observer in the chain, durable -----------------------

static SEEN_IN_BACKGROUND: Mutex<Vec<String>> = Mutex::new(Vec::new());
static SEEN_DONE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

/// Looks at every call before it runs, in the background, as a job.
#[hook(run_in_background = true, durable = true)]
fn note_call(call: &ToolCall, job: &Job) {
    SEEN_IN_BACKGROUND.lock().unwrap().push(format!(
        "{} {} attempt={}",
        call.name,
        serde_json::Value::Object(call.arguments.clone()),
        job.attempt
    ));
    SEEN_DONE.add_permits(1);
}

/// Reverses a word.
#[tool]
fn reverse(word: String) -> String {
    word.chars().rev().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_tool_hook_runs_as_a_durable_job_and_the_call_goes_on() {
    let fake = fake().await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::builder()
        .id("background-tool-hook")
        .model(model(&fake))
        .db(SqliteDb::new(dir.path().join("bg.db")).unwrap())
        .tools(reverse)
        .tool_hooks(note_call)
        .build()
        .unwrap();
    let output = agent
        .run(r#"[call reverse {"word": "abc"}]"#)
        .await
        .unwrap();
    assert_eq!(output.status, RunStatus::Completed);
    assert_eq!(results_sent(&fake), ["cba"]);
    tokio::time::timeout(Duration::from_secs(30), SEEN_DONE.acquire())
        .await
        .expect("the background tool hook ran")
        .unwrap()
        .forget();
    agent.shutdown(Duration::from_secs(10)).await;
    let seen = SEEN_IN_BACKGROUND.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with(r#"reverse {"word":"abc"} attempt="#),
        "{seen:?}"
    );
}
