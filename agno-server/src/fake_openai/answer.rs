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

/// A normal answer to one request.
pub(crate) struct Reply {
    api: Api,
    id: String,
    model: String,
    text: String,
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
        match request.get(key) {
            Some(Value::String(s)) => {
                input_tokens = words(s);
                last_user = s.clone();
            }
            Some(Value::Array(messages)) => {
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
        let text = match fixed {
            Some(t) => t.to_owned(),
            None => format!("Fake answer to: {last_user}"),
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
            output_tokens: words(&text),
            input_tokens,
            text,
            created: now(),
        }
    }

    fn responses_object(&self, status: &str, complete: bool) -> Value {
        let (output, usage) = if complete {
            (
                json!([{
                    "type": "message", "id": format!("msg_{}", self.id), "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": self.text, "annotations": []}]
                }]),
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
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": self.text, "refusal": null},
                    "finish_reason": "stop"
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
