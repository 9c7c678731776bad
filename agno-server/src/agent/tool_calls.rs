//! The model's tool calls of one turn: each resolved against the agent's
//! tools (with Agno's messages for an unknown tool, arguments that are not
//! a JSON object, a call past the run's limit), the runnable ones run
//! concurrently, and their results given back in the call order as tool
//! messages, the run's `tools` entries and the stream's events
//! (`ToolCallStarted` for each, in order, before any runs; then
//! `ToolCallCompleted`, and `ToolCallError` for a failed one, in order).

use std::sync::Arc;
use std::time::Instant;

use hooks_core::{
    CheckError, Dispatcher, HookContext, HookRef, Message, MessageToolCall, Phase, ToolCall,
    ToolCallOptions, ToolExecution, ToolMetrics, ToolRef, ToolResult, run_tool_call,
};
use serde_json::{Map, Value};

use super::AgentError;
use super::events::{Events, RunEventKind, TEXT};
use crate::clock::now_secs;
use crate::model::ToolDefinition;

/// An agent's tools, as its runs offer them, with the hooks around their
/// calls.
#[derive(Clone)]
pub(crate) struct AgentTools {
    tools: Vec<ToolRef>,
    /// Sent with every model call, sorted by name (as Agno sends them).
    definitions: Vec<ToolDefinition>,
    /// Agno's `tool_call_limit`: how many calls a run may make.
    limit: Option<usize>,
    /// How long one tool may run.
    timeout: Option<std::time::Duration>,
    /// The agent's tool hooks and post-tool hooks.
    tool_hooks: Vec<HookRef>,
    post_tool_hooks: Vec<HookRef>,
    /// Each tool's own (in the order of `tools`).
    own: Vec<(Vec<HookRef>, Vec<HookRef>)>,
    /// Each tool's hooks, made once.
    chains: Vec<ToolChain>,
}

/// One tool's hooks: the chain around its calls (the agent's tool hooks,
/// then its own) and the post-tool hooks after them (the same order).
#[derive(Clone)]
struct ToolChain {
    around: Arc<[HookRef]>,
    after: Arc<[HookRef]>,
}

impl AgentTools {
    /// `tools` with the agent's `tool_hooks` and `post_tool_hooks`,
    /// refusing two tools of the same name (Agno keeps the first and
    /// warns; a duplicate is a mistake better seen at start-up).
    pub(crate) fn new(
        agent: &str,
        tools: Vec<ToolRef>,
        limit: Option<usize>,
        timeout: Option<std::time::Duration>,
        tool_hooks: Vec<HookRef>,
        post_tool_hooks: Vec<HookRef>,
    ) -> Result<Self, AgentError> {
        let mut definitions: Vec<ToolDefinition> =
            tools.iter().map(|t| ToolDefinition::of(&**t)).collect();
        definitions.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(pair) = definitions.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(AgentError::DuplicateTool {
                tool: pair[0].name.clone(),
                agent: agent.to_owned(),
            });
        }
        let own: Vec<_> = tools.iter().map(|t| (t.hooks(), t.post_hooks())).collect();
        let chains = own
            .iter()
            .map(|(hooks, post)| {
                let around = tool_hooks.iter().chain(hooks).cloned().collect();
                let after = post_tool_hooks.iter().chain(post).cloned().collect();
                ToolChain { around, after }
            })
            .collect();
        Ok(Self {
            tools,
            definitions,
            limit,
            timeout,
            tool_hooks,
            post_tool_hooks,
            own,
            chains,
        })
    }

    /// The tools, in the order they were given.
    pub(crate) fn list(&self) -> &[ToolRef] {
        &self.tools
    }

    /// What the model is told of them.
    pub(crate) fn definitions(&self) -> &[ToolDefinition] {
        &self.definitions
    }

    /// The run's call limit.
    pub(crate) fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// How long one tool may run.
    pub(crate) fn timeout(&self) -> Option<std::time::Duration> {
        self.timeout
    }

    /// The agent's own hooks of a tool phase.
    pub(crate) fn agent_hooks(&self, phase: Phase) -> &[HookRef] {
        match phase {
            Phase::Tool => &self.tool_hooks,
            Phase::ToolPost => &self.post_tool_hooks,
            Phase::Pre | Phase::Post => &[],
        }
    }

    /// Every list of tool-phase hooks, each once: the agent's, then each
    /// tool's own.
    pub(crate) fn hook_lists(&self) -> impl Iterator<Item = (Phase, &[HookRef])> {
        let agent = [
            (Phase::Tool, &self.tool_hooks[..]),
            (Phase::ToolPost, &self.post_tool_hooks[..]),
        ];
        let own = self
            .own
            .iter()
            .flat_map(|(h, p)| [(Phase::Tool, &h[..]), (Phase::ToolPost, &p[..])]);
        agent.into_iter().chain(own)
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.tools.iter().position(|t| t.meta().name == name)
    }
}

/// What one turn's calls gave.
#[derive(Default)]
pub(super) struct Turn {
    /// The tool messages, for the model's next call.
    pub(super) messages: Vec<Message>,
    /// The results shown as content (`show_result`), in order.
    pub(super) shown: Vec<String>,
    /// Whether a tool that ends the run (`stop_after_tool_call`) ran.
    pub(super) stop: bool,
    /// A tool hook's check error: the run fails.
    pub(super) refused: Option<CheckError>,
    /// The tool hooks that run in the background, to hand off.
    pub(super) background: Vec<(HookRef, HookContext)>,
    /// Each call's post-tool hooks, with the call and its result.
    pub(super) after: Vec<(Arc<[HookRef]>, HookContext)>,
}

/// A call that runs: its tool, its arguments, its entry in the run.
struct Runnable {
    index: usize,
    arguments: Map<String, Value>,
    execution: ToolExecution,
}

/// What a turn runs on: the agent's dispatcher, how it runs tool calls,
/// the run.
#[derive(Clone, Copy)]
pub(super) struct TurnContext<'r> {
    pub(super) dispatcher: &'r Dispatcher,
    pub(super) options: ToolCallOptions,
    pub(super) cx: &'r HookContext,
}

/// Runs the calls of one turn; `made` counts the run's calls so far, and
/// the run's `tools` entries are appended to `executions`.
pub(super) async fn run_turn(
    tools: &AgentTools,
    calls: &[MessageToolCall],
    made: &mut usize,
    run: TurnContext<'_>,
    events: &Events<'_>,
    executions: &mut Vec<ToolExecution>,
) -> Turn {
    let mut turn = Turn::default();
    let mut refused = Vec::new();
    // In call order: a runnable call, or the message that answers it.
    let mut slots: Vec<(&MessageToolCall, Result<Runnable, Message>)> =
        Vec::with_capacity(calls.len());
    for call in calls {
        let name = call.function.name.as_str();
        if tools.limit.is_some_and(|limit| *made >= limit) {
            refused.push(tool_message(
                call,
                format!(
                    "Tool call limit reached. Tool call {name} not executed. Don't try to execute it again."
                ),
                None,
                true,
            ));
            continue;
        }
        *made += 1;
        let Some(index) = tools.find(name) else {
            let text = "Error: The requested tool does not exist or is not available.";
            slots.push((call, Err(tool_message(call, text.to_owned(), None, true))));
            continue;
        };
        let arguments = match parse_arguments(&call.function.arguments) {
            Ok(arguments) => arguments,
            Err(text) => {
                slots.push((call, Err(tool_message(call, text, None, true))));
                continue;
            }
        };
        let execution = ToolExecution {
            tool_call_id: call.id.clone(),
            tool_name: name.to_owned(),
            tool_args: arguments.clone(),
            stop_after_tool_call: tools.tools[index].meta().stop_after_tool_call,
            created_at: now_secs(),
            ..ToolExecution::default()
        };
        events.emit(RunEventKind::ToolCallStarted {
            tool: execution.clone(),
        });
        slots.push((
            call,
            Ok(Runnable {
                index,
                arguments,
                execution,
            }),
        ));
    }
    // Every runnable call at once, through its hooks; a sync tool runs
    // on its first poll.
    let outcomes = futures_util::future::join_all(slots.iter().filter_map(|(call, slot)| {
        let runnable = slot.as_ref().ok()?;
        let tool = tools.tools[runnable.index].clone();
        let chain = tools.chains[runnable.index].around.clone();
        let call = ToolCall {
            id: call.id.clone(),
            name: call.function.name.clone(),
            arguments: runnable.arguments.clone(),
        };
        Some(async move {
            let started_at = epoch_secs();
            let clock = Instant::now();
            let outcome =
                run_tool_call(run.dispatcher, chain, tool, run.cx, run.options, call).await;
            (outcome, started_at, clock.elapsed().as_secs_f64())
        })
    }))
    .await;
    turn.messages = refused;
    let mut outcomes = outcomes.into_iter();
    for (call, slot) in slots {
        let mut runnable = match slot {
            Err(message) => {
                turn.messages.push(message);
                continue;
            }
            Ok(runnable) => runnable,
        };
        let Some((outcome, started_at, duration)) = outcomes.next() else {
            break;
        };
        let meta = tools.tools[runnable.index].meta();
        if turn.refused.is_none() {
            turn.refused = outcome.refused;
        }
        turn.background.extend(outcome.background);
        let (text, failed) = match outcome.result {
            Ok(text) => (text, false),
            Err(error) => {
                tracing::warn!(
                    tool = meta.name,
                    "tool call failed: {}",
                    error.to_string().escape_debug()
                );
                (error.to_string(), true)
            }
        };
        let execution = &mut runnable.execution;
        execution.result = Some(text.clone());
        execution.tool_call_error = Some(failed);
        execution.metrics = Some(ToolMetrics {
            start_time: started_at,
            end_time: started_at + duration,
            duration,
        });
        events.emit(RunEventKind::ToolCallCompleted {
            tool: execution.clone(),
            content: format!(
                "{} completed in {duration:.4}s. ",
                call_str(meta.name, &runnable.arguments)
            ),
        });
        if failed {
            events.emit(RunEventKind::ToolCallError {
                tool: execution.clone(),
                error: text.clone(),
            });
        } else {
            if meta.show_result {
                events.emit(RunEventKind::RunContent {
                    content: text.clone(),
                    content_type: TEXT.into(),
                });
                turn.shown.push(text.clone());
            }
            turn.stop |= meta.stop_after_tool_call;
        }
        let after = &tools.chains[runnable.index].after;
        if !after.is_empty() {
            let call = ToolCall {
                id: call.id.clone(),
                name: call.function.name.clone(),
                arguments: runnable.arguments.clone(),
            };
            let result = ToolResult {
                content: text.clone(),
                is_error: failed,
            };
            let cx = run.cx.after_tool_call(call, result, Some(meta));
            turn.after.push((after.clone(), cx));
        }
        turn.messages.push(tool_message(
            call,
            text,
            Some(std::mem::take(&mut runnable.arguments)),
            failed,
        ));
        executions.push(runnable.execution);
    }
    turn
}

/// The model's arguments as Agno reads them: empty (or `[]`) is none, else
/// a JSON object; the error texts are Agno's.
fn parse_arguments(text: &str) -> Result<Map<String, Value>, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "[]" {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(
            "Function arguments are not a valid JSON object.\n\n Please fix and retry.".to_owned(),
        ),
        Err(e) => Err(format!(
            "Error while decoding function arguments: {e}\n\nPlease make sure we can json.loads() the arguments and retry."
        )),
    }
}

/// A tool message answering `call`.
fn tool_message(
    call: &MessageToolCall,
    content: String,
    arguments: Option<Map<String, Value>>,
    failed: bool,
) -> Message {
    Message {
        tool_call_id: Some(call.id.clone()),
        tool_name: Some(call.function.name.clone()),
        tool_args: arguments,
        tool_call_error: Some(failed),
        created_at: Some(now_secs()),
        ..Message::new("tool", content)
    }
}

/// `name(k=v, ...)`, as Agno shows a call (strings unquoted).
fn call_str(name: &str, arguments: &Map<String, Value>) -> String {
    let args: Vec<String> = arguments
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    format!("{name}({})", args.join(", "))
}

fn epoch_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_read_as_agno_reads_them() {
        assert_eq!(parse_arguments("").unwrap(), Map::new());
        assert_eq!(parse_arguments(" [] ").unwrap(), Map::new());
        assert_eq!(parse_arguments(r#"{"a":1}"#).unwrap()["a"], 1);
        assert!(
            parse_arguments("[1]")
                .unwrap_err()
                .starts_with("Function arguments are not")
        );
        assert!(
            parse_arguments("{oops")
                .unwrap_err()
                .starts_with("Error while decoding")
        );
    }

    #[test]
    fn a_call_is_shown_as_agno_shows_it() {
        let Value::Object(args) = serde_json::json!({"city": "Paris", "days": 3}) else {
            unreachable!()
        };
        assert_eq!(
            call_str("get_weather", &args),
            "get_weather(city=Paris, days=3)"
        );
    }
}
