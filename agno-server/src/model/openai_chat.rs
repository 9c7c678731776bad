//! The OpenAI Chat Completions client (`POST {base}/chat/completions`).

use bytes::Bytes;
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
            })
            .collect();
        let body = RequestBody {
            model: &self.id,
            messages,
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
        sse_model_stream(connect, ChatStream, self.transport.timeout)
    }
}

#[derive(Serialize)]
struct RequestBody<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct ChatMessage<'a> {
    role: &'a str,
    content: &'a str,
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
    Ok(ModelResponse {
        content: message.content.or(message.refusal).unwrap_or_default(),
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
}

/// The Chat Completions stream: `data: {choices:[{delta:{content}}]}`
/// chunks, a usage chunk, `data: [DONE]`.
struct ChatStream;

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
        Ok(EventOutcome {
            delta: chunk
                .choices
                .into_iter()
                .next()
                .and_then(|c| c.delta)
                .and_then(|d| d.content),
            usage: chunk.usage.map(Usage::from),
            done: false,
        })
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
    fn stream_chunks() {
        let mut p = ChatStream;
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
