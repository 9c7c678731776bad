//! The HTTP side shared by the OpenAI clients: key, base URL, one pooled
//! `reqwest::Client`, timeout, and the retry loop.

use std::fmt;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::header::{ACCEPT, CONTENT_TYPE};
use serde::Deserialize;

use super::ModelError;
use super::retry::{RetryPolicy, is_retryable_status, parse_retry_after};

/// The default base URL of the OpenAI API.
pub(crate) const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The default timeout of one attempt.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The body of a streamed answer, after its first chunk.
pub(crate) type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// Settings and client of one model instance.
pub(crate) struct Transport {
    provider: &'static str,
    key_env: &'static str,
    api_key: Option<String>,
    base_url: String,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    /// Built on first use (loading TLS roots takes a while), then shared.
    client: OnceLock<Result<reqwest::Client, String>>,
    /// The endpoint's URL as first sent, parsed once (parsing it, host
    /// and IDNA checks included, was 1.5 % of a run's instructions).
    endpoint: OnceLock<(String, Option<reqwest::Url>)>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("provider", &self.provider)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// How one attempt failed, and whether to try again.
struct AttemptError {
    error: ModelError,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl From<ModelError> for AttemptError {
    fn from(error: ModelError) -> Self {
        let retryable = matches!(error, ModelError::Connection(_));
        Self {
            error,
            retryable,
            retry_after: None,
        }
    }
}

impl Transport {
    /// OpenAI settings from the environment (`OPENAI_API_KEY`,
    /// `OPENAI_BASE_URL`), with defaults.
    pub(crate) fn openai_from_env() -> Self {
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut t = Self {
            provider: "OpenAI",
            key_env: "OPENAI_API_KEY",
            api_key: env("OPENAI_API_KEY"),
            base_url: String::new(),
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            client: OnceLock::new(),
            endpoint: OnceLock::new(),
        };
        t.set_base_url(
            env("OPENAI_BASE_URL")
                .as_deref()
                .unwrap_or(DEFAULT_OPENAI_BASE_URL),
        );
        t
    }

    pub(crate) fn provider(&self) -> &'static str {
        self.provider
    }

    pub(crate) fn set_api_key(&mut self, key: Option<String>) {
        self.api_key = key.filter(|k| !k.trim().is_empty());
    }

    pub(crate) fn set_base_url(&mut self, url: &str) {
        self.base_url = url.trim().trim_end_matches('/').to_owned();
        self.endpoint = OnceLock::new();
    }

    /// `url` parsed, from the cache when it is the endpoint parsed before;
    /// `None` when it does not parse (the client then reports it).
    fn parsed(&self, url: &str) -> Option<reqwest::Url> {
        let (text, parsed) = self
            .endpoint
            .get_or_init(|| (url.to_owned(), reqwest::Url::parse(url).ok()));
        if text == url {
            parsed.clone()
        } else {
            reqwest::Url::parse(url).ok()
        }
    }

    pub(crate) fn set_client(&mut self, client: reqwest::Client) {
        self.client = OnceLock::from(Ok(client));
    }

    /// `{base}/{path}`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url, path)
    }

    /// The key and client, or why a request cannot be sent.
    fn ready(&self) -> Result<(&str, &reqwest::Client), ModelError> {
        let key = self.api_key.as_deref().ok_or(ModelError::MissingApiKey {
            provider: self.provider,
            env_var: self.key_env,
        })?;
        let client = self
            .client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .build()
                    .map_err(|e| error_chain(&e))
            })
            .as_ref()
            .map_err(|e| ModelError::Client(e.clone()))?;
        Ok((key, client))
    }

    /// POSTs a JSON body and returns the successful answer's body, retrying
    /// as the policy says. Each attempt must end within the timeout.
    pub(crate) async fn post_json(
        &self,
        model: &str,
        url: &str,
        body: Bytes,
    ) -> Result<Bytes, ModelError> {
        let (key, client) = self.ready()?;
        self.with_retries(model, url, || async {
            let attempt = async {
                let response = self.send(client, key, url, body.clone(), false).await?;
                response
                    .bytes()
                    .await
                    .map_err(|e| AttemptError::from(transport_error(&e, self.timeout)))
            };
            tokio::time::timeout(self.timeout, attempt)
                .await
                .unwrap_or_else(|_| Err(ModelError::Timeout(self.timeout).into()))
        })
        .await
    }

    /// POSTs a JSON body asking for an event stream; returns the first chunk
    /// and the rest. Retries happen only before the first chunk arrives.
    pub(crate) async fn post_stream(
        &self,
        model: &str,
        url: &str,
        body: Bytes,
    ) -> Result<(Bytes, ByteStream), ModelError> {
        let (key, client) = self.ready()?;
        self.with_retries(model, url, || async {
            let attempt = async {
                let response = self.send(client, key, url, body.clone(), true).await?;
                let mut stream: ByteStream = Box::pin(response.bytes_stream());
                match stream.next().await {
                    Some(Ok(first)) => Ok((first, stream)),
                    Some(Err(e)) => Err(transport_error(&e, self.timeout).into()),
                    None => Ok((Bytes::new(), stream)),
                }
            };
            tokio::time::timeout(self.timeout, attempt)
                .await
                .unwrap_or_else(|_| Err(ModelError::Timeout(self.timeout).into()))
        })
        .await
    }

    /// Sends once; a non-success status becomes an [`AttemptError`] carrying
    /// the provider's message.
    async fn send(
        &self,
        client: &reqwest::Client,
        key: &str,
        url: &str,
        body: Bytes,
        stream: bool,
    ) -> Result<reqwest::Response, AttemptError> {
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        let request = match self.parsed(url) {
            Some(parsed) => client.post(parsed),
            None => client.post(url),
        };
        let response = request
            .bearer_auth(key)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, accept)
            .body(body)
            .send()
            .await
            .map_err(|e| AttemptError::from(transport_error(&e, self.timeout)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = parse_retry_after(response.headers());
        // The body of an error is best effort: a broken one still reports the status.
        let body = response.bytes().await.unwrap_or_default();
        let mut message = api_error_message(status, &body);
        if status == reqwest::StatusCode::NOT_FOUND {
            // Most often a base URL without its `/v1`: say what was called.
            message = format!(
                "{message} (POST {}; an OpenAI-compatible base URL usually ends in /v1)",
                without_credentials(url)
            );
        }
        Err(AttemptError {
            error: ModelError::Api {
                status: status.as_u16(),
                message,
            },
            retryable: is_retryable_status(status.as_u16()),
            retry_after,
        })
    }

    async fn with_retries<T, F, Fut>(
        &self,
        model: &str,
        url: &str,
        mut attempt: F,
    ) -> Result<T, ModelError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AttemptError>>,
    {
        let mut retry = 0u32;
        loop {
            tracing::debug!(model, url, attempt = retry + 1, "sending model request");
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(e) if e.retryable && retry < self.retry.max_retries => {
                    let delay = self.retry.delay(retry, e.retry_after);
                    retry += 1;
                    tracing::warn!(
                        model,
                        url,
                        retry,
                        max_retries = self.retry.max_retries,
                        delay_ms = delay.as_millis() as u64,
                        error = %e.error,
                        "model request failed, retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                Err(e) => {
                    tracing::debug!(model, url, error = %e.error, "model request failed");
                    return Err(e.error);
                }
            }
        }
    }
}

/// Maps a transport error: timeouts to [`ModelError::Timeout`], the rest to
/// [`ModelError::Connection`] with the whole cause chain.
pub(crate) fn transport_error(e: &reqwest::Error, timeout: Duration) -> ModelError {
    if e.is_timeout() {
        ModelError::Timeout(timeout)
    } else {
        ModelError::Connection(error_chain(e))
    }
}

/// `error: cause: cause...` (reqwest's own message alone is vague).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
}

/// The provider's `error.message`, else the body (shortened), else the
/// status reason.
fn api_error_message(status: reqwest::StatusCode, body: &[u8]) -> String {
    if let Ok(ErrorEnvelope {
        error: ErrorBody { message: Some(m) },
    }) = serde_json::from_slice::<ErrorEnvelope>(body)
    {
        return m;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return status.canonical_reason().unwrap_or("error").to_owned();
    }
    const MAX: usize = 500;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Adds the builder methods shared by the OpenAI clients (the type must have
/// a `transport: Transport` field).
macro_rules! openai_builder_methods {
    () => {
        /// Uses this API key instead of `OPENAI_API_KEY`. Never logged.
        pub fn api_key(mut self, key: impl Into<String>) -> Self {
            self.transport.set_api_key(Some(key.into()));
            self
        }

        /// Forgets any key, from the builder or the environment: calls then
        /// fail with [`ModelError::MissingApiKey`](crate::model::ModelError::MissingApiKey).
        pub fn without_api_key(mut self) -> Self {
            self.transport.set_api_key(None);
            self
        }

        /// Uses this base URL (e.g. `http://127.0.0.1:8080/v1`) instead of
        /// `OPENAI_BASE_URL` or the default; a trailing `/` is fine.
        pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
            self.transport.set_base_url(url.as_ref());
            self
        }

        /// The time one attempt may take (default 60 s). When streaming, the
        /// time until the first chunk and then between chunks.
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.transport.timeout = timeout;
            self
        }

        /// Retries after the first attempt on 429, 5xx and connection
        /// errors (default 2; 0 disables retries).
        pub fn max_retries(mut self, retries: u32) -> Self {
            self.transport.retry.max_retries = retries;
            self
        }

        /// The delay before the first retry, doubled for each next one
        /// (default 500 ms).
        pub fn retry_base_delay(mut self, delay: std::time::Duration) -> Self {
            self.transport.retry.base_delay = delay;
            self
        }

        /// The longest delay between attempts, `Retry-After` included
        /// (default 8 s).
        pub fn retry_max_delay(mut self, delay: std::time::Duration) -> Self {
            self.transport.retry.max_delay = delay;
            self
        }

        /// The whole retry policy at once.
        pub fn retry_policy(mut self, policy: crate::model::RetryPolicy) -> Self {
            self.transport.retry = policy;
            self
        }

        /// Uses this HTTP client (to share one connection pool between
        /// models, or to set proxies). By default each model has its own.
        pub fn http_client(mut self, client: reqwest::Client) -> Self {
            self.transport.set_client(client);
            self
        }
    };
}

pub(crate) use openai_builder_methods;

/// `url` without a user name or password, for messages and logs.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => "(an unparsable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_message_is_used() {
        let m = api_error_message(
            reqwest::StatusCode::BAD_REQUEST,
            br#"{"error":{"message":"bad thing","type":"invalid_request_error"}}"#,
        );
        assert_eq!(m, "bad thing");
    }

    #[test]
    fn fallback_messages() {
        assert_eq!(
            api_error_message(reqwest::StatusCode::BAD_GATEWAY, b""),
            "Bad Gateway"
        );
        assert_eq!(
            api_error_message(reqwest::StatusCode::BAD_GATEWAY, b"upstream down"),
            "upstream down"
        );
        let long = "x".repeat(2000);
        assert_eq!(
            api_error_message(reqwest::StatusCode::BAD_GATEWAY, long.as_bytes()).len(),
            503
        );
    }

    #[test]
    fn base_url_trailing_slash_and_debug_hides_key() {
        let mut t = Transport::openai_from_env();
        t.set_base_url("http://127.0.0.1:1/v1/");
        t.set_api_key(Some("sk-secret".into()));
        assert_eq!(t.url("responses"), "http://127.0.0.1:1/v1/responses");
        assert!(!format!("{t:?}").contains("sk-secret"));
    }

    #[test]
    fn the_endpoint_is_parsed_once_and_again_after_a_new_base_url() {
        let mut t = Transport::openai_from_env();
        t.set_base_url("http://127.0.0.1:1/v1");
        let first = t.parsed(&t.url("responses")).unwrap();
        assert_eq!(first.as_str(), "http://127.0.0.1:1/v1/responses");
        // Another URL than the cached one is parsed as it is.
        let other = t.parsed("http://127.0.0.1:2/other").unwrap();
        assert_eq!(other.port(), Some(2));
        assert_eq!(t.parsed(&t.url("responses")).unwrap(), first);
        t.set_base_url("http://127.0.0.1:3/v2");
        assert_eq!(
            t.parsed(&t.url("responses")).unwrap().as_str(),
            "http://127.0.0.1:3/v2/responses"
        );
        assert!(t.parsed("not a url").is_none());
    }
}
