//! Model clients: the [`Model`] trait and its implementations.
//!
//! - [`OpenAIResponses`]: the OpenAI Responses API (`POST {base}/responses`),
//!   what Agno's `OpenAIResponses` calls.
//! - [`OpenAIChat`]: the Chat Completions API (`POST {base}/chat/completions`).
//! - [`Echo`]: an offline model that answers deterministically.
//!
//! The HTTP clients read the key from the builder or `OPENAI_API_KEY`, the
//! base URL from the builder or `OPENAI_BASE_URL`, share one connection pool
//! per instance, time out, and retry 429/5xx/connection errors with
//! exponential backoff (honouring `Retry-After`).
//!
//! ```
//! use agno_server::model::{Echo, Model, ModelRequest};
//! use agno_server::Message;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let model = Echo::new();
//! let request = ModelRequest::new(vec![Message::new("user", "hello there")]);
//! let response = model.invoke(&request).await.unwrap();
//! assert_eq!(response.content, "Echo: hello there");
//! # });
//! ```

use std::future::Future;
use std::pin::Pin;

use futures_util::Stream;

mod echo;
mod error;
mod openai_chat;
mod openai_responses;
mod request;
mod retry;
mod sse;
mod stream;
mod transport;

pub use echo::Echo;
pub use error::ModelError;
pub use openai_chat::OpenAIChat;
pub use openai_responses::OpenAIResponses;
pub use request::{ModelRequest, ModelResponse, ModelStreamEvent, ToolDefinition, Usage};
pub use retry::{RetryPolicy, parse_retry_after};

#[cfg(feature = "fake-openai")]
pub(crate) use echo::word_chunks;
pub(crate) use transport::{Transport, openai_builder_methods};

/// The future returned by [`Model::invoke`].
pub type ModelFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ModelResponse, ModelError>> + Send + 'a>>;

/// The stream returned by [`Model::invoke_stream`]: text deltas, then one
/// [`ModelStreamEvent::Completed`] (or an error, after which nothing follows).
pub type ModelStream<'a> =
    Pin<Box<dyn Stream<Item = Result<ModelStreamEvent, ModelError>> + Send + 'a>>;

/// A language model an agent can call.
///
/// Object safe: agents hold models as `Arc<dyn Model>`.
pub trait Model: Send + Sync + 'static {
    /// The model's id, e.g. `"gpt-5.2"`.
    fn id(&self) -> &str;

    /// The provider's name, e.g. `"OpenAI"` or `"Echo"`.
    fn provider(&self) -> &str;

    /// Sends the conversation and waits for the whole answer.
    fn invoke<'a>(&'a self, request: &'a ModelRequest) -> ModelFuture<'a>;

    /// Sends the conversation and streams the answer: zero or more
    /// [`ModelStreamEvent::Delta`]s, then [`ModelStreamEvent::Completed`]
    /// whose content is all the deltas joined.
    fn invoke_stream<'a>(&'a self, request: &'a ModelRequest) -> ModelStream<'a>;
}
