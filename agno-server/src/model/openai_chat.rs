//! The OpenAI Chat Completions client (`POST {base}/chat/completions`).

use bytes::Bytes;
use hooks_core::{FunctionCall, MessageToolCall};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::sse::SseEvent;
use super::stream::{EventOutcome, StreamProtocol, sse_model_stream};
use super::transport::{Transport, openai_builder_methods};
use super::{Model, ModelError, ModelFuture, ModelRequest, ModelResponse, ModelStream, Usage};

/// A model behind the OpenAI Chat Completions API (also spoken by many
/// OpenAI-compatible servers). Roles are sent unchanged (`system` stays
/// `system`). Same builder as [`OpenAIResponses`](super::OpenAIResponses).
///
/// ```
/// use agno_server::model::{Model, OpenAIChat};
///
/// let model = OpenAIChat::new("gpt-4o-mini").base_url("http://127.0.0.1:8080/v1");
/// assert_eq!(model.provider(), "OpenAI");
/// ```
#[derive(Debug)]
pub struct OpenAIChat {
    id: String,
    transport: Transport,
}

impl OpenAIChat {
    /// The model `id`, with the key from `OPENAI_API_KEY` and the base URL
    /// from `OPENAI_BASE_URL` (default `https://api.openai.com/v1`), read now.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            transport: Transport::openai_from_env(),
        }
    }

    openai_builder_methods!();

    fn body(&self, request: &ModelRequest, stream: bool) -> Result<Bytes, ModelError> {
        let messages = request
            .messages
            .iter()
            .map(|m| ChatMessage {
                role: &m.role,
                content: m.content.as_deref().unwrap_or(""),
                tool_calls: m
                    .tool_calls
                    .iter()
                    .map(|c| ChatToolCall {
                        id: &c.id,
                        kind: "function",
                        function: ChatFunction {
                            name: &c.function.name,
                            arguments: &c.function.arguments,
                        },
                    })
                    .collect(),
                tool_call_id: m.tool_call_id.as_deref(),
            })
            .collect();
        let body = RequestBody {
            model: &self.id,
            messages,
            tools: request
                .tools
                .iter()
                .map(|t| ChatTool {
                    kind: "function",
                    function: t,
                })
                .collect(),
            stream,
            stream_options: stream.then_some(StreamOptions {
                include_usage: true,
            }),
        };
        serde_json::to_vec(&body)
            .map(Bytes::from)
            .map_err(|e| ModelError::InvalidResponse(format!("could not encode the request: {e}")))
    }
}

impl Model for OpenAIChat {
    fn id(&self) -> &str {
        &self.id
    }

    fn provider(&self) -> &str {
        self.transport.provider()
    }

    fn invoke<'a>(&'a self, request: &'a ModelRequest) -> ModelFuture<'a> {
        Box::pin(async move {
            let body = self.body(request, false)?;
            let url = self.transport.url("chat/completions");
            let bytes = self.transport.post_json(&self.id, &url, body).await?;
            parse_completion(&bytes)
        })
    }

    fn invoke_stream<'a>(&'a self, request: &'a ModelRequest) -> ModelStream<'a> {
        let connect = async move {
            let body = self.body(request, true)?;
            let url = self.transport.url("chat/completions");
            self.transport.post_stream(&self.id, &url, body).await
        };
        sse_model_stream(connect, ChatStream::default(), self.transport.timeout)
    }
}

#[derive(Serialize)]
struct RequestBody<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<ChatTool<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    role: &'a str,
    content: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ChatToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

/// `{"type": "function", "function": {name, description, parameters[, strict]}}`.
#[derive(Serialize)]
struct ChatTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: &'a super::ToolDefinition,
}

#[derive(Serialize)]
struct ChatToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: ChatFunction<'a>,
}

#[derive(Serialize)]
struct ChatFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct ApiUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

impl From<ApiUsage> for Usage {
    fn from(u: ApiUsage) -> Self {
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
        }
    }
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ApiUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<ChoiceMessage>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ApiToolCall>,
}

#[derive(Deserialize)]
struct ApiToolCall {
    #[serde(default)]
    id: Option<String>,
    function: ApiFunction,
}

#[derive(Deserialize, Default)]
struct ApiFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

/// A call as stored: Agno's ids (`call_` and at most 40 characters, else
/// a fresh one: `call_` and the 32 hex digits of a uuid).
fn tool_call(id: Option<String>, name: String, arguments: String) -> MessageToolCall {
    let id = match id {
        Some(id) if id.starts_with("call_") && id.len() <= 40 => id,
        _ => format!("call_{}", uuid::Uuid::now_v7().simple()),
    };
    MessageToolCall {
        id,
        call_id: None,
        kind: "function".to_owned(),
        function: FunctionCall { name, arguments },
    }
}

/// Parses a non-streaming Chat Completions body.
fn parse_completion(bytes: &[u8]) -> Result<ModelResponse, ModelError> {
    let completion: Completion = serde_json::from_slice(bytes).map_err(|e| {
        ModelError::InvalidResponse(format!("could not parse the completion JSON: {e}"))
    })?;
    let message = completion
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message)
        .ok_or_else(|| {
            ModelError::InvalidResponse("the completion has no `choices[0].message`".into())
        })?;
    let tool_calls = message
        .tool_calls
        .into_iter()
        .map(|c| {
            tool_call(
                c.id,
                c.function.name.unwrap_or_default(),
                c.function.arguments.unwrap_or_default(),
            )
        })
        .collect();
    Ok(ModelResponse {
        content: message.content.or(message.refusal).unwrap_or_default(),
        tool_calls,
        usage: completion.usage.unwrap_or_default().into(),
    })
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<ApiUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<ChunkDelta>,
}

#[derive(Deserialize)]
struct ChunkDelta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ChunkToolCall>,
}

/// A piece of a streamed tool call: the first of an `index` carries its
/// id and name, the later ones more of its arguments.
#[derive(Deserialize)]
struct ChunkToolCall {
    #[serde(default)]
    index: usize,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: ApiFunction,
}

/// The Chat Completions stream: `data: {choices:[{delta:{content}}]}`
/// chunks (`delta.tool_calls` merged by `index`), a usage chunk,
/// `data: [DONE]`.
#[derive(Default)]
struct ChatStream {
    /// The tool calls so far: id, name, arguments, by index.
    calls: Vec<(Option<String>, String, String)>,
}

impl StreamProtocol for ChatStream {
    fn on_event(&mut self, event: &SseEvent) -> Result<EventOutcome, ModelError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            return Ok(EventOutcome {
                done: true,
                ..EventOutcome::default()
            });
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| {
            ModelError::InvalidResponse(format!("could not parse a stream chunk: {e}"))
        })?;
        if let Some(error) = chunk.error {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| error.to_string());
            return Err(ModelError::Provider(message));
        }
        let delta = chunk.choices.into_iter().next().and_then(|c| c.delta);
        let (content, calls) = match delta {
            Some(d) => (d.content, d.tool_calls),
            None => (None, Vec::new()),
        };
        for piece in calls {
            if piece.index > 128 {
                return Err(ModelError::InvalidResponse(format!(
                    "a streamed tool call has index {}",
                    piece.index
                )));
            }
            if self.calls.len() <= piece.index {
                self.calls
                    .resize(piece.index + 1, (None, String::new(), String::new()));
            }
            let call = &mut self.calls[piece.index];
            if piece.id.is_some() {
                call.0 = piece.id;
            }
            if let Some(name) = piece.function.name {
                call.1.push_str(&name);
            }
            if let Some(arguments) = piece.function.arguments {
                call.2.push_str(&arguments);
            }
        }
        Ok(EventOutcome {
            delta: content,
            usage: chunk.usage.map(Usage::from),
            done: false,
        })
    }

    fn take_tool_calls(&mut self) -> Vec<MessageToolCall> {
        std::mem::take(&mut self.calls)
            .into_iter()
            .filter(|(_, name, _)| !name.is_empty())
            .map(|(id, name, arguments)| tool_call(id, name, arguments))
            .collect()
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
    fn parses_completion() {
        let body = br#"{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#;
        let r = parse_completion(body).unwrap();
        assert_eq!(r.content, "Hi!");
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 9,
                output_tokens: 1
            }
        );
        assert!(matches!(
            parse_completion(br#"{"choices":[]}"#),
            Err(ModelError::InvalidResponse(_))
        ));
        assert!(matches!(
            parse_completion(b"<html>"),
            Err(ModelError::InvalidResponse(_))
        ));
    }

    #[test]
    fn parses_tool_calls_and_sends_them_back() {
        let body = br#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[
            {"id":"call_1","type":"function","function":{"name":"add","arguments":"{\"a\":1}"}},
            {"id":"weird-id","type":"function","function":{"name":"sub","arguments":"{}"}}]}}]}"#;
        let r = parse_completion(body).unwrap();
        assert_eq!(r.content, "");
        assert_eq!(r.tool_calls.len(), 2);
        assert_eq!(r.tool_calls[0].id, "call_1");
        assert_eq!(r.tool_calls[0].function.arguments, r#"{"a":1}"#);
        assert!(
            r.tool_calls[1].id.starts_with("call_"),
            "{:?}",
            r.tool_calls[1]
        );
        let model = OpenAIChat::new("m").api_key("k");
        let request = ModelRequest {
            messages: vec![
                hooks_core::Message {
                    tool_calls: r.tool_calls.clone(),
                    ..hooks_core::Message::new("assistant", "")
                },
                hooks_core::Message {
                    tool_call_id: Some("call_1".into()),
                    ..hooks_core::Message::new("tool", "2")
                },
            ],
            tools: vec![crate::model::ToolDefinition {
                name: "add".into(),
                description: Some("Adds.".into()),
                parameters: serde_json::json!({"type": "object"}),
                strict: false,
            }],
        };
        let body: Value = serde_json::from_slice(&model.body(&request, false).unwrap()).unwrap();
        assert_eq!(
            body["tools"],
            serde_json::json!([{"type": "function", "function": {"name": "add", "description": "Adds.", "parameters": {"type": "object"}}}])
        );
        assert_eq!(
            body["messages"][0]["tool_calls"][0]["function"]["name"],
            "add"
        );
        assert_eq!(body["messages"][1]["tool_call_id"], "call_1");
        assert_eq!(body["messages"][1]["role"], "tool");
    }

    #[test]
    fn a_streamed_call_split_across_chunks_is_merged_by_index() {
        let mut p = ChatStream::default();
        for data in [
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"add","arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"sub","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]}"#,
        ] {
            p.on_event(&event(data)).unwrap();
        }
        let calls = p.take_tool_calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (calls[0].id.as_str(), calls[0].function.arguments.as_str()),
            ("call_a", r#"{"a":1}"#)
        );
        assert_eq!(calls[1].function.name, "sub");
    }

    #[test]
    fn stream_chunks() {
        let mut p = ChatStream::default();
        let d = p
            .on_event(&event(r#"{"choices":[{"index":0,"delta":{"content":"He"},"finish_reason":null}],"usage":null}"#))
            .unwrap();
        assert_eq!(d.delta.as_deref(), Some("He"));
        let u = p
            .on_event(&event(
                r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#,
            ))
            .unwrap();
        assert_eq!(u.usage.map(|u| u.total_tokens()), Some(5));
        assert!(!u.done);
        assert!(p.on_event(&event("[DONE]")).unwrap().done);
        assert_eq!(
            p.on_event(&event(r#"{"error":{"message":"overloaded"}}"#)),
            Err(ModelError::Provider("overloaded".into()))
        );
    }
}
