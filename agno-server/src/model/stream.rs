//! Turns a streamed HTTP answer into a [`ModelStream`]: bytes → SSE events →
//! protocol-specific deltas/usage → [`ModelStreamEvent`]s.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};

use super::sse::{SseDecoder, SseEvent};
use super::transport::{ByteStream, transport_error};
use super::{ModelError, ModelResponse, ModelStream, ModelStreamEvent, Usage};

/// What one SSE event means for the answer.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct EventOutcome {
    /// Text to append.
    pub delta: Option<String>,
    /// Token counts (replace any earlier ones).
    pub usage: Option<Usage>,
    /// The answer is complete.
    pub done: bool,
}

/// A streaming wire format (Responses API, Chat Completions).
pub(crate) trait StreamProtocol: Send {
    /// Interprets one event; an error ends the stream.
    fn on_event(&mut self, event: &SseEvent) -> Result<EventOutcome, ModelError>;

    /// Once the answer is complete: the tool calls its events assembled.
    fn take_tool_calls(&mut self) -> Vec<hooks_core::MessageToolCall> {
        Vec::new()
    }
}

/// The reading side once the answer has started.
struct Reader<P> {
    body: ByteStream,
    decoder: SseDecoder,
    protocol: P,
    idle_timeout: Duration,
    content: String,
    usage: Usage,
    eof: bool,
    done: bool,
}

enum State<'a, P> {
    Connecting(ConnectFuture<'a>, P, Duration),
    Reading(Box<Reader<P>>),
    Finished,
}

/// The request, up to the first chunk of the answer.
type ConnectFuture<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<(Bytes, ByteStream), ModelError>> + Send + 'a>>;

type Step<'a, P> = Option<(Result<ModelStreamEvent, ModelError>, State<'a, P>)>;

/// A model stream reading the answer of `connect` (which performs the
/// request, retries included) with `protocol`. `idle_timeout` bounds the wait
/// for each next chunk.
pub(crate) fn sse_model_stream<'a, P, F>(
    connect: F,
    protocol: P,
    idle_timeout: Duration,
) -> ModelStream<'a>
where
    P: StreamProtocol + 'a,
    F: Future<Output = Result<(Bytes, ByteStream), ModelError>> + Send + 'a,
{
    let state = State::Connecting(Box::pin(connect), protocol, idle_timeout);
    Box::pin(futures_util::stream::unfold(state, |state| async move {
        match state {
            State::Finished => None,
            State::Connecting(connect, protocol, idle_timeout) => match connect.await {
                Err(e) => Some((Err(e), State::Finished)),
                Ok((first, body)) => {
                    let mut decoder = SseDecoder::new();
                    decoder.push(&first);
                    let reader = Reader {
                        body,
                        decoder,
                        protocol,
                        idle_timeout,
                        content: String::new(),
                        usage: Usage::default(),
                        eof: false,
                        done: false,
                    };
                    Box::new(reader).next_item().await
                }
            },
            State::Reading(reader) => reader.next_item().await,
        }
    }))
}

impl<P: StreamProtocol> Reader<P> {
    async fn next_item<'a>(mut self: Box<Self>) -> Step<'a, P> {
        loop {
            if self.done {
                self.drain_ready();
                let response = ModelResponse {
                    content: std::mem::take(&mut self.content),
                    tool_calls: self.protocol.take_tool_calls(),
                    usage: self.usage,
                };
                return Some((Ok(ModelStreamEvent::Completed(response)), State::Finished));
            }
            let event = if self.eof {
                self.decoder.finish()
            } else {
                self.decoder.next_event()
            };
            match event {
                Err(e) => return Some((Err(e), State::Finished)),
                Ok(Some(event)) => match self.protocol.on_event(&event) {
                    Err(e) => return Some((Err(e), State::Finished)),
                    Ok(outcome) => {
                        if let Some(usage) = outcome.usage {
                            self.usage = usage;
                        }
                        self.done = outcome.done;
                        if let Some(delta) = outcome.delta.filter(|d| !d.is_empty()) {
                            self.content.push_str(&delta);
                            return Some((
                                Ok(ModelStreamEvent::Delta(delta)),
                                State::Reading(self),
                            ));
                        }
                    }
                },
                Ok(None) if self.eof => {
                    let error = ModelError::InvalidResponse(
                        "the event stream ended before the answer was complete".into(),
                    );
                    return Some((Err(error), State::Finished));
                }
                Ok(None) => match tokio::time::timeout(self.idle_timeout, self.body.next()).await {
                    Err(_) => {
                        return Some((
                            Err(ModelError::Timeout(self.idle_timeout)),
                            State::Finished,
                        ));
                    }
                    Ok(None) => self.eof = true,
                    Ok(Some(Err(e))) => {
                        return Some((
                            Err(transport_error(&e, self.idle_timeout)),
                            State::Finished,
                        ));
                    }
                    Ok(Some(Ok(chunk))) => self.decoder.push(&chunk),
                },
            }
        }
    }

    /// Reads what is already there of the body's end, without waiting, so
    /// that the connection can go back to the pool.
    fn drain_ready(&mut self) {
        for _ in 0..4 {
            match self.body.next().now_or_never() {
                Some(Some(Ok(_))) => continue,
                _ => break,
            }
        }
    }
}
