//! Tools over real HTTP: an agent with `#[tool]`s against the fake OpenAI
//! server (both APIs, streamed and not), which scripts the calls from the
//! user's message (`[call NAME {args}]`, turns apart by `[then]`). What
//! the model was sent is read back from the fake's record.

use std::sync::Arc;
use std::time::Duration;

use agno_server::agent::{Agent, RunEventKind, RunRequest};
use agno_server::db::SqliteDb;
use agno_server::fake_openai::{FakeConfig, FakeOpenAi, FakeOpenAiHandle};
use agno_server::model::{Model, OpenAIChat, OpenAIResponses};
use agno_server::{RunOutput, RunStatus, Session, tool};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// Adds two numbers.
///
/// # Arguments
/// * `a` - The first number.
/// * `b` - The second number.
#[tool]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Fails, always.
#[tool]
async fn explode() -> Result<String, std::io::Error> {
    Err(std::io::Error::other("kaboom"))
}

/// The session the run is in.
#[tool]
fn where_am_i(session: &Session) -> String {
    format!("session {}", session.session_id)
}

/// The final answer.
#[tool(stop_after_tool_call)]
fn answer(value: String) -> String {
    format!("ANSWER={value}")
}

/// Both calls of a turn must be under way at once to get past the barrier.
static BARRIER: std::sync::LazyLock<tokio::sync::Barrier> =
    std::sync::LazyLock::new(|| tokio::sync::Barrier::new(2));

/// Meets the other call of its turn.
#[tool]
async fn meet(who: String) -> String {
    match tokio::time::timeout(Duration::from_secs(10), BARRIER.wait()).await {
        Ok(_) => format!("met {who}"),
        Err(_) => format!("{who} waited alone: the calls did not run at once"),
    }
}

/// Never returns.
#[tool]
async fn hang() -> String {
    std::future::pending().await
}

#[derive(Clone, Copy)]
enum Api {
    Responses,
    Chat,
}

fn model(api: Api, fake: &FakeOpenAiHandle) -> Arc<dyn Model> {
    match api {
        Api::Responses => Arc::new(
            OpenAIResponses::new("gpt-test")
                .api_key("sk-test")
                .base_url(fake.base_url()),
        ),
        Api::Chat => Arc::new(
            OpenAIChat::new("gpt-test")
                .api_key("sk-test")
                .base_url(fake.base_url()),
        ),
    }
}

async fn setup(api: Api) -> (FakeOpenAiHandle, Agent) {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let agent = Agent::builder()
        .id("tools")
        .model_arc(model(api, &fake))
        .tools((add, explode, where_am_i, answer, meet, hang))
        .build()
        .unwrap();
    (fake, agent)
}

/// The results the model was sent back (tool outputs), by request.
fn outputs_sent(api: Api, body: &Value) -> Vec<String> {
    let (key, kind) = match api {
        Api::Responses => ("input", "function_call_output"),
        Api::Chat => ("messages", "tool"),
    };
    body[key]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == kind || m["role"] == kind)
        .map(|m| match api {
            Api::Responses => m["output"].as_str().unwrap().to_owned(),
            Api::Chat => m["content"].as_str().unwrap().to_owned(),
        })
        .collect()
}

async fn run(agent: &Agent, text: &str, stream: bool) -> (RunOutput, Vec<RunEventKind>) {
    if !stream {
        return (agent.run(text).await.unwrap(), Vec::new());
    }
    let events: Vec<_> = agent.run_stream(text).collect().await;
    let kinds: Vec<RunEventKind> = events.into_iter().map(|e| e.kind).collect();
    let RunEventKind::RunCompleted { content, .. } = kinds.last().unwrap().clone() else {
        panic!("no RunCompleted: {kinds:?}");
    };
    let output = RunOutput {
        content,
        ..RunOutput::default()
    };
    (output, kinds)
}

#[tokio::test]
async fn a_tool_call_runs_and_its_result_goes_back_to_the_model() {
    for api in [Api::Responses, Api::Chat] {
        let (fake, agent) = setup(api).await;
        let output = agent
            .run(r#"sum? [call add {"a": 2, "b": 3}]"#)
            .await
            .unwrap();
        assert_eq!(output.status, RunStatus::Completed);
        assert_eq!(
            output.content.as_deref(),
            Some(r#"Fake answer to: sum? [call add {"a": 2, "b": 3}] [tool results: 5]"#)
        );
        let requests = fake.requests();
        assert_eq!(requests.len(), 2);
        // The tools, as Agno sends them: sorted by name, the schema from
        // the types and the doc comment.
        let tools = requests[0].body["tools"].as_array().unwrap();
        let definition = |t: &Value| match api {
            Api::Responses => t.clone(),
            Api::Chat => t["function"].clone(),
        };
        let names: Vec<_> = tools
            .iter()
            .map(|t| definition(t)["name"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            ["add", "answer", "explode", "hang", "meet", "where_am_i"]
        );
        let add_def = definition(&tools[0]);
        assert_eq!(add_def["description"], "Adds two numbers.");
        assert_eq!(
            add_def["parameters"]["properties"]["a"],
            json!({"type": "integer", "format": "int64", "description": "The first number."})
        );
        assert_eq!(add_def["parameters"]["required"], json!(["a", "b"]));
        assert_eq!(outputs_sent(api, &requests[1].body), ["5"]);
        // Stored as Agno stores it: the call in `tools`, the assistant's
        // call and the tool's result in `messages`.
        assert_eq!(output.tools.len(), 1);
        let tool = &output.tools[0];
        assert_eq!(tool.tool_name, "add");
        assert_eq!(tool.result.as_deref(), Some("5"));
        assert_eq!(tool.tool_call_error, Some(false));
        assert_eq!(tool.tool_args["a"], 2);
        assert!(tool.metrics.is_some());
        let roles: Vec<_> = output.messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["user", "assistant", "tool", "assistant"]);
        assert_eq!(output.messages[1].tool_calls[0].id, tool.tool_call_id);
        assert_eq!(
            output.messages[2].tool_call_id.as_deref(),
            Some(tool.tool_call_id.as_str())
        );
        if let Api::Responses = api {
            assert!(
                tool.tool_call_id.starts_with("fc_"),
                "Agno stores the item id"
            );
        }
        let stored = serde_json::to_value(&output).unwrap();
        assert_eq!(stored["tools"][0]["tool_name"], "add");
        assert_eq!(
            stored["messages"][1]["tool_calls"][0]["function"]["name"],
            "add"
        );
    }
}

#[tokio::test]
async fn calls_of_one_turn_run_at_once_and_their_results_keep_the_calls_order() {
    for api in [Api::Responses, Api::Chat] {
        for stream in [false, true] {
            let (fake, agent) = setup(api).await;
            let (output, _) = run(
                &agent,
                r#"[call meet {"who": "ann"}] [call meet {"who": "bob"}]"#,
                stream,
            )
            .await;
            assert!(
                output
                    .content
                    .as_deref()
                    .unwrap()
                    .ends_with("[tool results: met ann | met bob]"),
                "{:?}",
                output.content
            );
            assert_eq!(
                outputs_sent(api, &fake.requests()[1].body),
                ["met ann", "met bob"]
            );
        }
    }
}

#[tokio::test]
async fn the_stream_carries_agnos_tool_events_in_order() {
    for api in [Api::Responses, Api::Chat] {
        let (_fake, agent) = setup(api).await;
        let (_, kinds) = run(
            &agent,
            r#"[call add {"a": 1, "b": 1}] [call explode {}]"#,
            true,
        )
        .await;
        let names: Vec<&str> = kinds
            .iter()
            .map(|k| k.name())
            .filter(|n| *n != "RunContent")
            .collect();
        assert_eq!(
            names,
            [
                "RunStarted",
                "ModelRequestStarted",
                "ModelRequestCompleted",
                "ToolCallStarted",
                "ToolCallStarted",
                "ToolCallCompleted",
                "ToolCallCompleted",
                "ToolCallError",
                "ModelRequestStarted",
                "ModelRequestCompleted",
                "RunContentCompleted",
                "RunCompleted"
            ]
        );
        let completed: Vec<_> = kinds
            .iter()
            .filter_map(|k| match k {
                RunEventKind::ToolCallCompleted { tool, content } => Some((tool, content)),
                _ => None,
            })
            .collect();
        assert!(
            completed[0].1.starts_with("add(a=1, b=1) completed in "),
            "{}",
            completed[0].1
        );
        assert_eq!(completed[1].0.result.as_deref(), Some("kaboom"));
        assert_eq!(completed[1].0.tool_call_error, Some(true));
        let event = serde_json::to_value(&kinds[3]).unwrap();
        assert_eq!(event["event"], "ToolCallStarted");
        assert_eq!(event["tool"]["tool_name"], "add");
        assert_eq!(event["tool"]["result"], Value::Null);
    }
}

#[tokio::test]
async fn a_failing_unknown_or_malformed_call_is_answered_to_the_model_as_agno_does() {
    for api in [Api::Responses, Api::Chat] {
        let (fake, agent) = setup(api).await;
        let output = agent
            .run(r#"[call explode {}] [call nope {}] [call add [1]] [call add {"a": "x", "b": 1}]"#)
            .await
            .unwrap();
        assert_eq!(output.status, RunStatus::Completed);
        let sent = outputs_sent(api, &fake.requests()[1].body);
        assert_eq!(sent[0], "kaboom");
        assert_eq!(
            sent[1],
            "Error: The requested tool does not exist or is not available."
        );
        assert_eq!(
            sent[2],
            "Function arguments are not a valid JSON object.\n\n Please fix and retry."
        );
        assert!(
            sent[3].starts_with("Invalid arguments for tool add: `a`: invalid type"),
            "{}",
            sent[3]
        );
        // Only the calls that ran are in `tools` (as Agno).
        let ran: Vec<_> = output.tools.iter().map(|t| t.tool_name.as_str()).collect();
        assert_eq!(ran, ["explode", "add"]);
        assert!(output.tools.iter().all(|t| t.tool_call_error == Some(true)));
    }
}

#[tokio::test]
async fn a_call_past_the_limit_is_not_run_and_the_model_is_told() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let agent = Agent::builder()
        .id("limited")
        .model_arc(model(Api::Chat, &fake))
        .tools(add)
        .tool_call_limit(1)
        .build()
        .unwrap();
    let output = agent
        .run(r#"[call add {"a": 1, "b": 1}] [call add {"a": 2, "b": 2}]"#)
        .await
        .unwrap();
    let sent = outputs_sent(Api::Chat, &fake.requests()[1].body);
    assert_eq!(
        sent,
        [
            "Tool call limit reached. Tool call add not executed. Don't try to execute it again.",
            "2"
        ]
    );
    assert_eq!(output.tools.len(), 1);
}

#[tokio::test]
async fn a_tool_that_stops_the_run_ends_it_on_its_result() {
    for api in [Api::Responses, Api::Chat] {
        for stream in [false, true] {
            let (fake, agent) = setup(api).await;
            let (output, _) = run(&agent, r#"[call answer {"value": "42"}]"#, stream).await;
            assert_eq!(output.content.as_deref(), Some("ANSWER=42"));
            assert_eq!(fake.requests().len(), 1, "no model call after it");
        }
    }
}

#[tokio::test]
async fn a_tool_takes_the_runs_data_by_type_and_turns_chain() {
    let (fake, agent) = setup(Api::Responses).await;
    let output = agent
        .run(
            RunRequest::new(r#"[call where_am_i {}] [then] [call add {"a": 1, "b": 2}]"#)
                .session_id("s-tools"),
        )
        .await
        .unwrap();
    assert_eq!(fake.requests().len(), 3);
    assert!(
        output
            .content
            .as_deref()
            .unwrap()
            .ends_with("[tool results: session s-tools | 3]"),
        "{:?}",
        output.content
    );
}

#[tokio::test]
async fn a_cancel_reaches_a_running_tool() {
    let (_fake, agent) = setup(Api::Chat).await;
    let mut events = agent.run_stream("[call hang {}]");
    let mut run_id = None;
    while let Some(event) = events.next().await {
        if let RunEventKind::ToolCallStarted { .. } = event.kind {
            run_id = Some(event.run_id.clone());
            break;
        }
    }
    assert!(agent.cancel_running(&run_id.unwrap()));
    let rest: Vec<_> = events.collect().await;
    assert!(
        matches!(rest.last().unwrap().kind, RunEventKind::RunCancelled { .. }),
        "{rest:?}"
    );
}

#[tokio::test]
async fn a_session_continued_sends_its_tool_history() {
    for api in [Api::Responses, Api::Chat] {
        let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let agent = Agent::builder()
            .id("history")
            .model_arc(model(api, &fake))
            .db(SqliteDb::new(dir.path().join("agent.db")).unwrap())
            .tools(add)
            .build()
            .unwrap();
        agent
            .run(RunRequest::new(r#"[call add {"a": 4, "b": 5}]"#).session_id("s-h"))
            .await
            .unwrap();
        agent
            .run(RunRequest::new("and now?").session_id("s-h"))
            .await
            .unwrap();
        let requests = fake.requests();
        let last = &requests[2].body;
        // The earlier turn's call and its result come before the new
        // question.
        assert_eq!(outputs_sent(api, last), ["9"]);
        let calls = match api {
            Api::Responses => last["input"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["type"] == "function_call")
                .count(),
            Api::Chat => last["messages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["tool_calls"].is_array())
                .count(),
        };
        assert_eq!(calls, 1, "{last}");
    }
}

#[test]
fn two_tools_of_one_name_are_refused() {
    #[tool(name = "add")]
    fn other_add() -> i64 {
        0
    }
    let error = Agent::builder()
        .id("dup")
        .model(agno_server::Echo::new())
        .tools((add, other_add))
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("two tools named `add`"),
        "{error}"
    );
}

static BLOCKING_THREADS: std::sync::Mutex<Vec<std::thread::ThreadId>> =
    std::sync::Mutex::new(Vec::new());

/// Reads a file, slowly: a sync tool for the blocking pool.
#[tool(blocking)]
fn read_slowly(path: String) -> String {
    BLOCKING_THREADS
        .lock()
        .unwrap()
        .push(std::thread::current().id());
    format!("read {path}")
}

/// On a runtime of one thread, a `blocking` tool runs on another one (the
/// blocking pool), so the runtime's thread is never held by it.
#[tokio::test(flavor = "current_thread")]
async fn a_blocking_tool_runs_off_the_runtimes_thread() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let agent = Agent::builder()
        .id("blocking-tool")
        .model_arc(model(Api::Chat, &fake))
        .tools(read_slowly)
        .build()
        .unwrap();
    let output = agent
        .run(r#"[call read_slowly {"path": "a.txt"}]"#)
        .await
        .unwrap();
    assert_eq!(output.tools[0].result.as_deref(), Some("read a.txt"));
    let threads = BLOCKING_THREADS.lock().unwrap().clone();
    assert_eq!(threads.len(), 1);
    assert_ne!(threads[0], std::thread::current().id());
}

/// A tool past the agent's `tool_timeout` is stopped; the model is told and
/// answers, and the run completes. (Real time: a paused clock would also
/// jump the HTTP client's timers while it waits for the fake.)
#[tokio::test]
async fn a_tool_past_its_time_limit_is_stopped_and_the_model_told() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let agent = Agent::builder()
        .id("timeouts")
        .model_arc(model(Api::Responses, &fake))
        .tools((hang, add))
        .tool_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let output = agent
        .run(r#"[call hang {}] [call add {"a": 1, "b": 1}]"#)
        .await
        .unwrap();
    assert_eq!(output.status, RunStatus::Completed);
    assert_eq!(
        outputs_sent(Api::Responses, &fake.requests()[1].body),
        ["Tool hang timed out after 2s and was stopped.", "2"]
    );
    assert_eq!(output.tools[0].tool_call_error, Some(true));
    assert_eq!(output.tools[1].tool_call_error, Some(false));
}
