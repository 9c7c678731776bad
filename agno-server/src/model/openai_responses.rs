//! The OpenAI Responses API client (`POST {base}/responses`).

use bytes::Bytes;
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
        let input = request
            .messages
            .iter()
            .map(|m| InputMessage {
                role: if m.role == "system" {
                    "developer"
                } else {
                    &m.role
                },
                content: m.content.as_deref().unwrap_or(""),
            })
            .collect();
        let body = RequestBody {
            model: &self.id,
            input,
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
        sse_model_stream(connect, ResponsesStream, self.transport.timeout)
    }
}

#[derive(Serialize)]
struct RequestBody<'a> {
    model: &'a str,
    input: Vec<InputMessage<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

#[derive(Serialize)]
struct InputMessage<'a> {
    role: &'a str,
    content: &'a str,
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
}

/// The Responses API stream: `response.output_text.delta` (`delta`),
/// `response.completed` (`response.usage`), `error` / `response.failed`.
struct ResponsesStream;

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
        let mut p = ResponsesStream;
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
