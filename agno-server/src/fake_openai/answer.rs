//! The bodies the fake sends: Responses API and Chat Completions, JSON and
//! SSE, answers and faults.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::model::word_chunks;

/// Which API a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `POST /v1/responses`.
    Responses,
    /// `POST /v1/chat/completions`.
    Chat,
}

impl Api {
    pub(crate) fn path(self) -> &'static str {
        match self {
            Api::Responses => "/v1/responses",
            Api::Chat => "/v1/chat/completions",
        }
    }
}

/// `{"error":{"message":..,"type":..,"param":null,"code":null}}`.
pub(crate) fn error_body(message: &str, kind: &str) -> String {
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}}).to_string()
}

pub(crate) fn malformed_json(api: Api) -> String {
    match api {
        Api::Responses => {
            r#"{"id":"resp_fake","object":"response","output":[{"type":"message""#.to_owned()
        }
        Api::Chat => r#"{"id":"chatcmpl-fake","choices":[{"message":"#.to_owned(),
    }
}

pub(crate) fn malformed_sse(api: Api) -> String {
    match api {
        Api::Responses => {
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\n\n"
                .to_owned()
        }
        Api::Chat => "data: {\"choices\":[{\"delta\":\n\n".to_owned(),
    }
}

/// One delta, then an error event.
pub(crate) fn stream_error(api: Api, id: u64, message: &str) -> String {
    let mut out = String::new();
    match api {
        Api::Responses => {
            push_event(
                &mut out,
                Some("response.output_text.delta"),
                &json!({"type": "response.output_text.delta", "sequence_number": 0,
                        "item_id": format!("msg_fake_{id}"), "output_index": 0,
                        "content_index": 0, "delta": "Partial"}),
            );
            push_event(
                &mut out,
                Some("error"),
                &json!({"type": "error", "sequence_number": 1, "code": "server_error",
                        "message": message, "param": null}),
            );
        }
        Api::Chat => {
            push_event(
                &mut out,
                None,
                &json!({"id": format!("chatcmpl-fake-{id}"), "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": {"content": "Partial"}, "finish_reason": null}]}),
            );
            push_event(
                &mut out,
                None,
                &json!({"error": {"message": message, "type": "server_error"}}),
            );
        }
    }
    out
}

fn push_event(out: &mut String, name: Option<&str>, data: &Value) {
    if let Some(name) = name {
        let _ = writeln!(out, "event: {name}");
    }
    let _ = write!(out, "data: {data}\n\n");
}

fn now() -> u64 {
    crate::clock::now_secs().max(0) as u64
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// The text of a message's `content`: a string, or the `text` of its parts.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The tool calls a user message scripts: `[call NAME {json args}]`, one
/// or more per turn, turns apart by `[then]` (`[call add {"a":1}] [then]
/// [call add {"a":2}]`: one call, then after its result another). The
/// arguments are sent as written, valid JSON or not.
fn scripted_turns(text: &str) -> Vec<Vec<(String, String)>> {
    let mut turns = vec![Vec::new()];
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix("then]") {
            turns.push(Vec::new());
            rest = after;
        } else if let Some(after) = rest.strip_prefix("call ") {
            // Up to the `]` that closes the directive: the last one before
            // the next `[call`/`[then` (arguments may hold brackets).
            let end = ["[call ", "[then]"]
                .iter()
                .filter_map(|m| after.find(m))
                .min()
                .unwrap_or(after.len());
            let Some(close) = after[..end].rfind(']') else {
                break;
            };
            let directive = after[..close].trim();
            let (name, args) = directive.split_once(' ').unwrap_or((directive, "{}"));
            if let Some(turn) = turns.last_mut() {
                turn.push((name.to_owned(), args.trim().to_owned()));
            }
            rest = &after[close + 1..];
        }
    }
    turns.retain(|t| !t.is_empty());
    turns
}

/// After the last user message: how many assistant turns called tools,
/// and the tool results sent back, in order.
fn tool_progress(api: Api, messages: &[Value]) -> (usize, Vec<String>) {
    let last_user = messages
        .iter()
        .rposition(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map_or(0, |i| i + 1);
    let mut turns = 0;
    let mut outputs = Vec::new();
    let mut in_calls = false;
    for m in &messages[last_user..] {
        match api {
            Api::Responses => match m.get("type").and_then(Value::as_str) {
                Some("function_call") => {
                    if !in_calls {
                        turns += 1;
                    }
                    in_calls = true;
                }
                Some("function_call_output") => {
                    in_calls = false;
                    outputs.push(m.get("output").map(content_text).unwrap_or_default());
                }
                _ => in_calls = false,
            },
            Api::Chat => match m.get("role").and_then(Value::as_str) {
                Some("assistant")
                    if m.get("tool_calls")
                        .is_some_and(|c| c.as_array().is_some_and(|a| !a.is_empty())) =>
                {
                    turns += 1
                }
                Some("tool") => {
                    outputs.push(m.get("content").map(content_text).unwrap_or_default())
                }
                _ => {}
            },
        }
    }
    (turns, outputs)
}

/// A normal answer to one request.
pub(crate) struct Reply {
    api: Api,
    id: String,
    model: String,
    text: String,
    /// The tools this answer calls (name, arguments), scripted by the user.
    calls: Vec<(String, String)>,
    input_tokens: u64,
    output_tokens: u64,
    created: u64,
}

impl Reply {
    pub(crate) fn new(api: Api, request: &Value, fixed: Option<&str>, n: u64) -> Self {
        let key = match api {
            Api::Responses => "input",
            Api::Chat => "messages",
        };
        let mut input_tokens = 0;
        let mut last_user = String::new();
        let mut progress = (0, Vec::new());
        match request.get(key) {
            Some(Value::String(s)) => {
                input_tokens = words(s);
                last_user = s.clone();
            }
            Some(Value::Array(messages)) => {
                progress = tool_progress(api, messages);
                for m in messages {
                    let text = m.get("content").map(content_text).unwrap_or_default();
                    input_tokens += words(&text);
                    if m.get("role").and_then(Value::as_str) == Some("user") {
                        last_user = text;
                    }
                }
            }
            _ => {}
        }
        let (turns, outputs) = progress;
        let calls = scripted_turns(&last_user)
            .into_iter()
            .nth(turns)
            .unwrap_or_default();
        let text = match (fixed, calls.is_empty(), outputs.is_empty()) {
            (_, false, _) => String::new(),
            (Some(t), _, _) => t.to_owned(),
            (None, true, true) => format!("Fake answer to: {last_user}"),
            (None, true, false) => format!(
                "Fake answer to: {last_user} [tool results: {}]",
                outputs.join(" | ")
            ),
        };
        let id = match api {
            Api::Responses => format!("resp_fake_{n}"),
            Api::Chat => format!("chatcmpl-fake-{n}"),
        };
        Self {
            api,
            id,
            model: request
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or("fake-model")
                .to_owned(),
            output_tokens: words(&text) + calls.len() as u64,
            input_tokens,
            text,
            calls,
            created: now(),
        }
    }

    fn responses_object(&self, status: &str, complete: bool) -> Value {
        let (output, usage) = if complete {
            let output = if self.calls.is_empty() {
                json!([{
                    "type": "message", "id": format!("msg_{}", self.id), "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": self.text, "annotations": []}]
                }])
            } else {
                Value::Array(
                    (0..self.calls.len())
                        .map(|i| self.function_call_item(i, true))
                        .collect(),
                )
            };
            (
                output,
                json!({
                    "input_tokens": self.input_tokens,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": self.output_tokens,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": self.input_tokens + self.output_tokens
                }),
            )
        } else {
            (json!([]), Value::Null)
        };
        json!({
            "id": self.id, "object": "response", "created_at": self.created,
            "status": status, "model": self.model, "output": output,
            "usage": usage, "error": null, "incomplete_details": null
        })
    }

    /// The answer's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Its `function_call` items (Responses), when it calls tools.
    pub(crate) fn call_items(&self) -> Option<Vec<Value>> {
        (!self.calls.is_empty()).then(|| {
            (0..self.calls.len())
                .map(|i| self.function_call_item(i, true))
                .collect()
        })
    }

    /// The `function_call` output item of call `i` (Responses).
    fn function_call_item(&self, i: usize, complete: bool) -> Value {
        let (name, arguments) = &self.calls[i];
        json!({
            "type": "function_call", "id": format!("fc_{}_{i}", self.id),
            "call_id": format!("call_{}_{i}", self.id), "name": name,
            "arguments": if complete { arguments.as_str() } else { "" },
            "status": if complete { "completed" } else { "in_progress" }
        })
    }

    /// The `tool_calls` of a Chat message.
    fn chat_tool_calls(&self) -> Value {
        Value::Array(
            self.calls
                .iter()
                .enumerate()
                .map(|(i, (name, arguments))| {
                    json!({"id": format!("call_{}_{i}", self.id), "type": "function",
                           "function": {"name": name, "arguments": arguments}})
                })
                .collect(),
        )
    }

    fn chat_usage(&self) -> Value {
        json!({
            "prompt_tokens": self.input_tokens,
            "completion_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens
        })
    }

    /// The non-streaming body.
    pub(crate) fn json(&self) -> String {
        match self.api {
            Api::Responses => self.responses_object("completed", true).to_string(),
            Api::Chat => json!({
                "id": self.id, "object": "chat.completion", "created": self.created,
                "model": self.model,
                "choices": [if self.calls.is_empty() {
                    json!({
                        "index": 0,
                        "message": {"role": "assistant", "content": self.text, "refusal": null},
                        "finish_reason": "stop"
                    })
                } else {
                    json!({
                        "index": 0,
                        "message": {"role": "assistant", "content": null, "refusal": null,
                                    "tool_calls": self.chat_tool_calls()},
                        "finish_reason": "tool_calls"
                    })
                }],
                "usage": self.chat_usage()
            })
            .to_string(),
        }
    }

    /// The streaming body (all events).
    pub(crate) fn sse(&self, request: &Value) -> String {
        let mut out = String::with_capacity(256 + self.text.len() * 8);
        match self.api {
            Api::Responses => self.responses_sse(&mut out),
            Api::Chat => {
                let include_usage = request
                    .pointer("/stream_options/include_usage")
                    .and_then(Value::as_bool)
                    == Some(true);
                self.chat_sse(&mut out, include_usage);
            }
        }
        out
    }

    fn responses_sse(&self, out: &mut String) {
        let mut seq = 0u64;
        let mut event = |out: &mut String, kind: &str, mut data: Value| {
            if let Value::Object(map) = &mut data {
                map.insert("type".into(), kind.into());
                map.insert("sequence_number".into(), seq.into());
            }
            seq += 1;
            push_event(out, Some(kind), &data);
        };
        let item_id = format!("msg_{}", self.id);
        event(
            out,
            "response.created",
            json!({"response": self.responses_object("in_progress", false)}),
        );
        event(
            out,
            "response.in_progress",
            json!({"response": self.responses_object("in_progress", false)}),
        );
        if !self.calls.is_empty() {
            // Each call opened, its arguments in two deltas, closed.
            for i in 0..self.calls.len() {
                let item = self.function_call_item(i, false);
                let fc_id = item["id"].clone();
                event(
                    out,
                    "response.output_item.added",
                    json!({"output_index": i, "item": item}),
                );
                let arguments = &self.calls[i].1;
                let half = (0..=arguments.len() / 2)
                    .rev()
                    .find(|&k| arguments.is_char_boundary(k))
                    .unwrap_or(0);
                for piece in [&arguments[..half], &arguments[half..]] {
                    event(
                        out,
                        "response.function_call_arguments.delta",
                        json!({"item_id": fc_id, "output_index": i, "delta": piece}),
                    );
                }
                event(
                    out,
                    "response.function_call_arguments.done",
                    json!({"item_id": fc_id, "output_index": i, "arguments": arguments}),
                );
                event(
                    out,
                    "response.output_item.done",
                    json!({"output_index": i, "item": self.function_call_item(i, true)}),
                );
            }
            event(
                out,
                "response.completed",
                json!({"response": self.responses_object("completed", true)}),
            );
            return;
        }
        event(
            out,
            "response.output_item.added",
            json!({"output_index": 0, "item": {"type": "message", "id": item_id,
                   "status": "in_progress", "role": "assistant", "content": []}}),
        );
        event(
            out,
            "response.content_part.added",
            json!({"item_id": item_id, "output_index": 0, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": []}}),
        );
        for delta in word_chunks(&self.text) {
            event(
                out,
                "response.output_text.delta",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "delta": delta}),
            );
        }
        event(
            out,
            "response.output_text.done",
            json!({"item_id": item_id, "output_index": 0, "content_index": 0, "text": self.text}),
        );
        event(
            out,
            "response.completed",
            json!({"response": self.responses_object("completed", true)}),
        );
    }

    fn chat_sse(&self, out: &mut String, include_usage: bool) {
        let chunk = |choices: Value, usage: Value| {
            json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "choices": choices, "usage": usage
            })
        };
        let choice = |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "finish_reason": finish}]);
        push_event(
            out,
            None,
            &chunk(
                choice(json!({"role": "assistant", "content": ""}), Value::Null),
                Value::Null,
            ),
        );
        if !self.calls.is_empty() {
            // Each call's id and name first, then its arguments in two
            // pieces, merged by `index`.
            for (i, (name, arguments)) in self.calls.iter().enumerate() {
                let first = json!({"tool_calls": [{"index": i, "id": format!("call_{}_{i}", self.id),
                    "type": "function", "function": {"name": name, "arguments": ""}}]});
                push_event(out, None, &chunk(choice(first, Value::Null), Value::Null));
                let half = (0..=arguments.len() / 2)
                    .rev()
                    .find(|&k| arguments.is_char_boundary(k))
                    .unwrap_or(0);
                for piece in [&arguments[..half], &arguments[half..]] {
                    let more =
                        json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]});
                    push_event(out, None, &chunk(choice(more, Value::Null), Value::Null));
                }
            }
            push_event(
                out,
                None,
                &chunk(choice(json!({}), json!("tool_calls")), Value::Null),
            );
            if include_usage {
                push_event(out, None, &chunk(json!([]), self.chat_usage()));
            }
            out.push_str("data: [DONE]\n\n");
            return;
        }
        for delta in word_chunks(&self.text) {
            push_event(
                out,
                None,
                &chunk(choice(json!({"content": delta}), Value::Null), Value::Null),
            );
        }
        push_event(
            out,
            None,
            &chunk(choice(json!({}), json!("stop")), Value::Null),
        );
        if include_usage {
            push_event(out, None, &chunk(json!([]), self.chat_usage()));
        }
        out.push_str("data: [DONE]\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_are_scripted_by_turn() {
        let turns = scripted_turns(
            r#"weather? [call get_weather {"city":"Paris"}] [call add {"a":[1]}] [then] [call add {}]"#,
        );
        assert_eq!(
            turns,
            vec![
                vec![
                    ("get_weather".to_owned(), r#"{"city":"Paris"}"#.to_owned()),
                    ("add".to_owned(), r#"{"a":[1]}"#.to_owned()),
                ],
                vec![("add".to_owned(), "{}".to_owned())],
            ]
        );
        assert!(scripted_turns("no directives [here]").is_empty());
    }
}
