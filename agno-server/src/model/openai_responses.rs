//! The OpenAI Responses API client (`POST {base}/responses`).

use bytes::Bytes;
use hooks_core::{FunctionCall, MessageToolCall};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::sse::SseEvent;
use super::stream::{EventOutcome, StreamProtocol, sse_model_stream};
use super::transport::{Transport, openai_builder_methods};
use super::{Model, ModelError, ModelFuture, ModelRequest, ModelResponse, ModelStream, Usage};

/// A model behind the OpenAI Responses API, like Agno's `OpenAIResponses`.
///
/// The system message is sent with role `developer`. Building never fails:
/// a missing key is reported by [`Model::invoke`] /
/// [`Model::invoke_stream`] as [`ModelError::MissingApiKey`], before any
/// request is sent.
///
/// ```
/// use std::time::Duration;
/// use agno_server::model::{Model, OpenAIResponses};
///
/// let model = OpenAIResponses::new("gpt-5.2")
///     .api_key("sk-...")
///     .base_url("http://127.0.0.1:8080/v1/")
///     .timeout(Duration::from_secs(30))
///     .max_retries(3);
/// assert_eq!(model.id(), "gpt-5.2");
/// assert_eq!(model.provider(), "OpenAI");
/// ```
#[derive(Debug)]
pub struct OpenAIResponses {
    id: String,
    transport: Transport,
}

impl OpenAIResponses {
    /// The model `id` (e.g. `"gpt-5.2"`), with the key from `OPENAI_API_KEY`
    /// and the base URL from `OPENAI_BASE_URL` (default
    /// `https://api.openai.com/v1`), read now.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            transport: Transport::openai_from_env(),
        }
    }

    openai_builder_methods!();

    fn body(&self, request: &ModelRequest, stream: bool) -> Result<Bytes, ModelError> {
        let mut input = Vec::with_capacity(request.messages.len());
        for m in &request.messages {
            if !m.tool_calls.is_empty() {
                // As Agno: an assistant turn that calls tools is its calls
                // (its text, if any, is not sent).
                input.extend(m.tool_calls.iter().map(|c| InputItem::FunctionCall {
                    kind: "function_call",
                    id: &c.id,
                    call_id: c.call_id.as_deref().unwrap_or(&c.id),
                    name: &c.function.name,
                    arguments: &c.function.arguments,
                    status: "completed",
                }));
            } else if m.role == "tool" {
                let stored = m.tool_call_id.as_deref().unwrap_or("");
                // The result names the call's item id (`fc_`), as Agno
                // stores it; the API wants the call's `call_id` back.
                let call_id = request
                    .messages
                    .iter()
                    .flat_map(|m| &m.tool_calls)
                    .find(|c| c.id == stored)
                    .and_then(|c| c.call_id.as_deref())
                    .unwrap_or(stored);
                input.push(InputItem::FunctionCallOutput {
                    kind: "function_call_output",
                    call_id,
                    output: m.content.as_deref().unwrap_or(""),
                });
            } else {
                input.push(InputItem::Message {
                    role: if m.role == "system" {
                        "developer"
                    } else {
                        &m.role
                    },
                    content: m.content.as_deref().unwrap_or(""),
                });
            }
        }
        let body = RequestBody {
            model: &self.id,
            input,
            tools: request
                .tools
                .iter()
                .map(|t| ResponsesTool {
                    kind: "function",
                    definition: t,
                })
                .collect(),
            stream,
        };
        serde_json::to_vec(&body)
            .map(Bytes::from)
            .map_err(|e| ModelError::InvalidResponse(format!("could not encode the request: {e}")))
    }
}

impl Model for OpenAIResponses {
    fn id(&self) -> &str {
        &self.id
    }

    fn provider(&self) -> &str {
        self.transport.provider()
    }

    fn invoke<'a>(&'a self, request: &'a ModelRequest) -> ModelFuture<'a> {
        Box::pin(async move {
            let body = self.body(request, false)?;
            let url = self.transport.url("responses");
            let bytes = self.transport.post_json(&self.id, &url, body).await?;
            parse_response(&bytes)
        })
    }

    fn invoke_stream<'a>(&'a self, request: &'a ModelRequest) -> ModelStream<'a> {
        let connect = async move {
            let body = self.body(request, true)?;
            let url = self.transport.url("responses");
            self.transport.post_stream(&self.id, &url, body).await
        };
        sse_model_stream(connect, ResponsesStream::default(), self.transport.timeout)
    }
}

#[derive(Serialize)]
struct RequestBody<'a> {
    model: &'a str,
    input: Vec<InputItem<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ResponsesTool<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

/// One item of `input`: a message, a call the model made, or its result.
#[derive(Serialize)]
#[serde(untagged)]
enum InputItem<'a> {
    Message {
        role: &'a str,
        content: &'a str,
    },
    FunctionCall {
        #[serde(rename = "type")]
        kind: &'static str,
        id: &'a str,
        call_id: &'a str,
        name: &'a str,
        arguments: &'a str,
        status: &'static str,
    },
    FunctionCallOutput {
        #[serde(rename = "type")]
        kind: &'static str,
        call_id: &'a str,
        output: &'a str,
    },
}

/// `{"type": "function", name, description, parameters[, strict]}`.
#[derive(Serialize)]
struct ResponsesTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    definition: &'a super::ToolDefinition,
}

/// A `function_call` output item.
#[derive(Deserialize)]
struct ApiFunctionCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    call_id: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    arguments: String,
}

impl ApiFunctionCall {
    fn into_call(self) -> MessageToolCall {
        let call_id = self.call_id.or_else(|| self.id.clone()).unwrap_or_default();
        MessageToolCall {
            // Agno stores the item id (`fc_`); the call id answers it.
            id: self.id.unwrap_or_else(|| call_id.clone()),
            call_id: Some(call_id),
            kind: "function".to_owned(),
            function: FunctionCall {
                name: self.name,
                arguments: self.arguments,
            },
        }
    }
}

fn is_function_call(item: &Value) -> bool {
    item.get("type").and_then(Value::as_str) == Some("function_call")
}

#[derive(Deserialize, Default, Clone, Copy)]
struct ApiUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

impl From<ApiUsage> for Usage {
    fn from(u: ApiUsage) -> Self {
        Usage {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
        }
    }
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<Value>,
}

impl ApiError {
    fn describe(&self) -> String {
        match (&self.message, &self.code) {
            (Some(m), _) => m.clone(),
            (None, Some(Value::String(c))) => c.clone(),
            _ => "unknown error".to_owned(),
        }
    }
}

/// The response object (the non-streaming body, and `response` of the
/// `response.completed` / `response.failed` events).
#[derive(Deserialize)]
struct ApiResponse {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    output: Option<Vec<Value>>,
    #[serde(default)]
    usage: Option<ApiUsage>,
    #[serde(default)]
    error: Option<ApiError>,
}

impl ApiResponse {
    /// All `output_text` parts of all output items, joined.
    fn text(&self) -> String {
        let mut text = String::new();
        for item in self.output.iter().flatten() {
            let Some(parts) = item.get("content").and_then(Value::as_array) else {
                continue;
            };
            for part in parts {
                if part.get("type").and_then(Value::as_str) == Some("output_text")
                    && let Some(t) = part.get("text").and_then(Value::as_str)
                {
                    text.push_str(t);
                }
            }
        }
        text
    }

    fn usage(&self) -> Usage {
        self.usage.unwrap_or_default().into()
    }

    /// The `function_call` items, in order.
    fn tool_calls(&self) -> Vec<MessageToolCall> {
        self.output
            .iter()
            .flatten()
            .filter(|item| is_function_call(item))
            .filter_map(|item| ApiFunctionCall::deserialize(item).ok())
            .map(ApiFunctionCall::into_call)
            .collect()
    }

    fn failure(&self) -> Option<ModelError> {
        if self.status.as_deref() == Some("failed") {
            let message = self
                .error
                .as_ref()
                .map(ApiError::describe)
                .unwrap_or_else(|| "the response failed".to_owned());
            return Some(ModelError::Provider(message));
        }
        None
    }
}

/// Parses a non-streaming Responses API body.
fn parse_response(bytes: &[u8]) -> Result<ModelResponse, ModelError> {
    let response: ApiResponse = serde_json::from_slice(bytes).map_err(|e| {
        ModelError::InvalidResponse(format!("could not parse the response JSON: {e}"))
    })?;
    if let Some(failure) = response.failure() {
        return Err(failure);
    }
    if response.output.is_none() {
        return Err(ModelError::InvalidResponse(
            "the response has no `output`".into(),
        ));
    }
    if response.status.as_deref() == Some("incomplete") {
        tracing::warn!("the model's response is incomplete");
    }
    Ok(ModelResponse {
        content: response.text(),
        tool_calls: response.tool_calls(),
        usage: response.usage(),
    })
}

/// One streaming event, with the fields we use.
#[derive(Deserialize)]
struct ApiEvent {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    delta: Option<String>,
    #[serde(default)]
    response: Option<ApiResponse>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error: Option<ApiError>,
    #[serde(default)]
    item: Option<Value>,
    #[serde(default)]
    output_index: Option<u64>,
}

/// The Responses API stream: `response.output_text.delta` (`delta`),
/// `response.completed` (`response.usage`), `error` / `response.failed`;
/// a tool call opens with `response.output_item.added` (a
/// `function_call` item), grows by `response.function_call_arguments.delta`
/// and closes with `response.output_item.done`. Calls are kept apart by
/// their `output_index`, so interleaved calls do not mix (Agno keeps one
/// buffer).
#[derive(Default)]
struct ResponsesStream {
    /// Calls still open, by output index.
    open: Vec<(u64, ApiFunctionCall)>,
    /// Calls closed, in order.
    done: Vec<MessageToolCall>,
}

impl StreamProtocol for ResponsesStream {
    fn on_event(&mut self, event: &SseEvent) -> Result<EventOutcome, ModelError> {
        if event.data.trim() == "[DONE]" {
            return Ok(EventOutcome::default());
        }
        let parsed: ApiEvent = serde_json::from_str(&event.data).map_err(|e| {
            ModelError::InvalidResponse(format!("could not parse a stream event: {e}"))
        })?;
        let kind = parsed.kind.as_deref().unwrap_or(event.event.as_str());
        match kind {
            "response.output_text.delta" => Ok(EventOutcome {
                delta: parsed.delta,
                ..EventOutcome::default()
            }),
            "response.output_item.added" => {
                if let Some(item) = parsed.item.filter(is_function_call) {
                    let call = ApiFunctionCall::deserialize(&item).map_err(|e| {
                        ModelError::InvalidResponse(format!("a streamed function call: {e}"))
                    })?;
                    self.open.push((parsed.output_index.unwrap_or(0), call));
                }
                Ok(EventOutcome::default())
            }
            "response.function_call_arguments.delta" => {
                let index = parsed.output_index.unwrap_or(0);
                if let (Some(delta), Some((_, call))) = (
                    parsed.delta,
                    self.open.iter_mut().find(|(i, _)| *i == index),
                ) {
                    call.arguments.push_str(&delta);
                }
                Ok(EventOutcome::default())
            }
            "response.output_item.done" => {
                let index = parsed.output_index.unwrap_or(0);
                if let Some(at) = self.open.iter().position(|(i, _)| *i == index) {
                    let (_, mut call) = self.open.remove(at);
                    // The item's own arguments, when no delta came.
                    if call.arguments.is_empty()
                        && let Some(args) = parsed
                            .item
                            .as_ref()
                            .and_then(|i| i.get("arguments"))
                            .and_then(Value::as_str)
                    {
                        call.arguments = args.to_owned();
                    }
                    self.done.push(call.into_call());
                }
                Ok(EventOutcome::default())
            }
            "response.completed" | "response.incomplete" => {
                if kind == "response.incomplete" {
                    tracing::warn!("the model's streamed response is incomplete");
                }
                Ok(EventOutcome {
                    usage: Some(
                        parsed
                            .response
                            .as_ref()
                            .map(ApiResponse::usage)
                            .unwrap_or_default(),
                    ),
                    done: true,
                    ..EventOutcome::default()
                })
            }
            "response.failed" => Err(parsed
                .response
                .as_ref()
                .and_then(ApiResponse::failure)
                .unwrap_or_else(|| ModelError::Provider("the response failed".into()))),
            "error" => {
                let message = parsed
                    .message
                    .or_else(|| parsed.error.as_ref().map(ApiError::describe))
                    .unwrap_or_else(|| "unknown error".to_owned());
                Err(ModelError::Provider(message))
            }
            _ => Ok(EventOutcome::default()),
        }
    }

    fn take_tool_calls(&mut self) -> Vec<MessageToolCall> {
        std::mem::take(&mut self.done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(data: &str) -> SseEvent {
        SseEvent {
            event: String::new(),
            data: data.into(),
        }
    }

    #[test]
    fn parses_output_text_and_usage() {
        let body = br#"{"id":"resp_1","status":"completed","output":[
            {"type":"reasoning","summary":[]},
            {"type":"message","role":"assistant","content":[
                {"type":"output_text","text":"Hello","annotations":[]},
                {"type":"output_text","text":" world"}]}],
            "usage":{"input_tokens":12,"output_tokens":2,"total_tokens":14}}"#;
        let r = parse_response(body).unwrap();
        assert_eq!(r.content, "Hello world");
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 12,
                output_tokens: 2
            }
        );
    }

    #[test]
    fn function_calls_round_trip() {
        let body = br#"{"status":"completed","output":[
            {"type":"function_call","id":"fc_1","call_id":"call_1","name":"add","arguments":"{\"a\":1}","status":"completed"}],
            "usage":{"input_tokens":1,"output_tokens":1}}"#;
        let r = parse_response(body).unwrap();
        assert_eq!(r.tool_calls.len(), 1);
        let call = &r.tool_calls[0];
        assert_eq!(
            (call.id.as_str(), call.call_id.as_deref()),
            ("fc_1", Some("call_1"))
        );
        let model = OpenAIResponses::new("m").api_key("k");
        let request = ModelRequest {
            messages: vec![
                hooks_core::Message::new("user", "add"),
                hooks_core::Message {
                    tool_calls: r.tool_calls.clone(),
                    ..hooks_core::Message::new("assistant", "ignored")
                },
                hooks_core::Message {
                    tool_call_id: Some("fc_1".into()),
                    ..hooks_core::Message::new("tool", "2")
                },
            ],
            tools: vec![crate::model::ToolDefinition {
                name: "add".into(),
                description: None,
                parameters: serde_json::json!({"type": "object"}),
                strict: true,
            }],
        };
        let body: Value = serde_json::from_slice(&model.body(&request, false).unwrap()).unwrap();
        assert_eq!(
            body["tools"],
            serde_json::json!([{"type": "function", "name": "add", "parameters": {"type": "object"}, "strict": true}])
        );
        assert_eq!(
            body["input"][1],
            serde_json::json!({"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "add", "arguments": "{\"a\":1}", "status": "completed"})
        );
        assert_eq!(
            body["input"][2],
            serde_json::json!({"type": "function_call_output", "call_id": "call_1", "output": "2"})
        );
    }

    #[test]
    fn streamed_calls_are_kept_apart_by_output_index() {
        let mut p = ResponsesStream::default();
        for data in [
            r#"{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc_a","call_id":"call_a","name":"add","arguments":""}}"#,
            r#"{"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","id":"fc_b","call_id":"call_b","name":"sub","arguments":""}}"#,
            r#"{"type":"response.function_call_arguments.delta","output_index":0,"delta":"{\"a\":"}"#,
            r#"{"type":"response.function_call_arguments.delta","output_index":1,"delta":"{}"}"#,
            r#"{"type":"response.function_call_arguments.delta","output_index":0,"delta":"1}"}"#,
            r#"{"type":"response.output_item.done","output_index":1,"item":{"type":"function_call"}}"#,
            r#"{"type":"response.output_item.done","output_index":0,"item":{"type":"function_call"}}"#,
        ] {
            p.on_event(&event(data)).unwrap();
        }
        let calls = p.take_tool_calls();
        let seen: Vec<_> = calls
            .iter()
            .map(|c| (c.function.name.as_str(), c.function.arguments.as_str()))
            .collect();
        assert_eq!(seen, [("sub", "{}"), ("add", r#"{"a":1}"#)]);
    }

    #[test]
    fn bad_bodies() {
        assert!(matches!(
            parse_response(b"{not json"),
            Err(ModelError::InvalidResponse(_))
        ));
        assert!(matches!(
            parse_response(b"{}"),
            Err(ModelError::InvalidResponse(_))
        ));
        let failed =
            br#"{"status":"failed","output":[],"error":{"code":"server_error","message":"boom"}}"#;
        assert_eq!(
            parse_response(failed),
            Err(ModelError::Provider("boom".into()))
        );
    }

    #[test]
    fn stream_events() {
        let mut p = ResponsesStream::default();
        let d = p
            .on_event(&event(
                r#"{"type":"response.output_text.delta","delta":"Hi","sequence_number":3}"#,
            ))
            .unwrap();
        assert_eq!(d.delta.as_deref(), Some("Hi"));
        let c = p
            .on_event(&event(
                r#"{"type":"response.completed","response":{"output":[],"usage":{"input_tokens":5,"output_tokens":1}}}"#,
            ))
            .unwrap();
        assert!(c.done);
        assert_eq!(c.usage.map(|u| u.total_tokens()), Some(6));
        let ignored = p
            .on_event(&event(r#"{"type":"response.created","response":{}}"#))
            .unwrap();
        assert_eq!(ignored, EventOutcome::default());
        assert_eq!(
            p.on_event(&event(
                r#"{"type":"error","code":"x","message":"rate limited"}"#
            )),
            Err(ModelError::Provider("rate limited".into()))
        );
        assert_eq!(
            p.on_event(&event(
                r#"{"type":"response.failed","response":{"status":"failed","error":{"message":"nope"}}}"#
            )),
            Err(ModelError::Provider("nope".into()))
        );
        assert!(matches!(
            p.on_event(&event("{oops")),
            Err(ModelError::InvalidResponse(_))
        ));
    }
}
