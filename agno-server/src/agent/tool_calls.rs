//! The model's tool calls of one turn: each resolved against the agent's
//! tools (with Agno's messages for an unknown tool, arguments that are not
//! a JSON object, a call past the run's limit), the runnable ones run
//! concurrently, and their results given back in the call order as tool
//! messages, the run's `tools` entries and the stream's events
//! (`ToolCallStarted` for each, in order, before any runs; then
//! `ToolCallCompleted`, and `ToolCallError` for a failed one, in order).

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures_util::FutureExt;
use hooks_core::{
    HookContext, Message, MessageToolCall, ToolError, ToolExecution, ToolMetrics, ToolRef,
};
use serde_json::{Map, Value};

use super::AgentError;
use super::events::{Events, RunEventKind, TEXT};
use crate::clock::now_secs;
use crate::model::ToolDefinition;

/// An agent's tools, as its runs offer them.
#[derive(Clone)]
pub(crate) struct AgentTools {
    tools: Vec<ToolRef>,
    /// Sent with every model call, sorted by name (as Agno sends them).
    definitions: Vec<ToolDefinition>,
    /// Agno's `tool_call_limit`: how many calls a run may make.
    limit: Option<usize>,
}

impl AgentTools {
    /// `tools`, refusing two of the same name (Agno keeps the first and
    /// warns; a duplicate is a mistake better seen at start-up).
    pub(crate) fn new(
        agent: &str,
        tools: Vec<ToolRef>,
        limit: Option<usize>,
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
        Ok(Self {
            tools,
            definitions,
            limit,
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

    fn find(&self, name: &str) -> Option<&ToolRef> {
        self.tools.iter().find(|t| t.meta().name == name)
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
}

/// A call that runs: its tool, its arguments, its entry in the run.
struct Runnable<'t> {
    tool: &'t ToolRef,
    arguments: Map<String, Value>,
    execution: ToolExecution,
}

/// Runs the calls of one turn; `made` counts the run's calls so far, and
/// the run's `tools` entries are appended to `executions`.
pub(super) async fn run_turn(
    tools: &AgentTools,
    calls: &[MessageToolCall],
    made: &mut usize,
    cx: &HookContext,
    events: &Events<'_>,
    executions: &mut Vec<ToolExecution>,
) -> Turn {
    let mut turn = Turn::default();
    let mut refused = Vec::new();
    // In call order: a runnable call, or the message that answers it.
    let mut slots: Vec<(&MessageToolCall, Result<Runnable<'_>, Message>)> =
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
        let Some(tool) = tools.find(name) else {
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
            stop_after_tool_call: tool.meta().stop_after_tool_call,
            created_at: now_secs(),
            ..ToolExecution::default()
        };
        events.emit(RunEventKind::ToolCallStarted {
            tool: execution.clone(),
        });
        slots.push((
            call,
            Ok(Runnable {
                tool,
                arguments,
                execution,
            }),
        ));
    }
    // Every runnable call at once; a sync tool runs on its first poll.
    let run = cx.args();
    let outcomes = futures_util::future::join_all(slots.iter().filter_map(|(_, slot)| {
        let runnable = slot.as_ref().ok()?;
        let tool = runnable.tool;
        let arguments = runnable.arguments.clone();
        Some(async move {
            let started_at = epoch_secs();
            let clock = Instant::now();
            let result = AssertUnwindSafe(tool.call(arguments, run))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    tracing::error!(tool = tool.meta().name, "a tool panicked");
                    Err(ToolError::Failed(format!(
                        "the tool {} panicked",
                        tool.meta().name
                    )))
                });
            (result, started_at, clock.elapsed().as_secs_f64())
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
        let Some((result, started_at, duration)) = outcomes.next() else {
            break;
        };
        let meta = runnable.tool.meta();
        let (text, failed) = match result {
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
