//! `OpenAIChat` against the fake OpenAI server on 127.0.0.1.

use std::time::Duration;

use agno_server::Message;
use agno_server::fake_openai::{FakeConfig, FakeFault, FakeOpenAi, FakeOpenAiHandle};
use agno_server::model::{
    Model, ModelError, ModelRequest, ModelResponse, ModelStreamEvent, OpenAIChat, Usage,
};
use futures_util::StreamExt;
use serde_json::json;

const KEY: &str = "sk-test-chat-456";

/// A client of `fake` with fast retries.
fn model(fake: &FakeOpenAiHandle) -> OpenAIChat {
    OpenAIChat::new("gpt-4o-mini")
        .api_key(KEY)
        .base_url(fake.base_url())
        .retry_base_delay(Duration::from_millis(1))
        .retry_max_delay(Duration::from_millis(20))
}

fn conversation() -> ModelRequest {
    ModelRequest::new(vec![
        Message::new("system", "Be kind."),
        Message::new("user", "hello there"),
    ])
}

async fn collect(
    model: &OpenAIChat,
    request: &ModelRequest,
) -> Vec<Result<ModelStreamEvent, ModelError>> {
    model.invoke_stream(request).collect().await
}

#[tokio::test]
async fn invoke_returns_content_and_usage_and_sends_system_role() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let model = model(&fake);
    assert_eq!(model.id(), "gpt-4o-mini");
    assert_eq!(model.provider(), "OpenAI");

    let response = model.invoke(&conversation()).await.unwrap();
    assert_eq!(
        response,
        ModelResponse {
            tool_calls: Vec::new(),
            content: "Fake answer to: hello there".into(),
            usage: Usage {
                input_tokens: 4,
                output_tokens: 5
            },
        }
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer sk-test-chat-456")
    );
    assert_eq!(
        requests[0].body,
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "Be kind."},
                {"role": "user", "content": "hello there"}
            ]
        })
    );
}

#[tokio::test]
async fn stream_yields_deltas_in_order_then_completed_with_usage() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let events = collect(&model(&fake), &conversation()).await;
    let events: Vec<ModelStreamEvent> = events.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        events,
        vec![
            ModelStreamEvent::Delta("Fake".into()),
            ModelStreamEvent::Delta(" answer".into()),
            ModelStreamEvent::Delta(" to:".into()),
            ModelStreamEvent::Delta(" hello".into()),
            ModelStreamEvent::Delta(" there".into()),
            ModelStreamEvent::Completed(ModelResponse {
                tool_calls: Vec::new(),
                content: "Fake answer to: hello there".into(),
                usage: Usage {
                    input_tokens: 4,
                    output_tokens: 5
                },
            }),
        ]
    );
    let body = &fake.requests()[0].body;
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(body["messages"][0]["role"], json!("system"));
}

#[tokio::test]
async fn missing_key_fails_before_any_request() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let model = model(&fake).without_api_key();
    let err = model.invoke(&conversation()).await.unwrap_err();
    assert!(matches!(err, ModelError::MissingApiKey { .. }), "{err:?}");
    let events = collect(&model, &conversation()).await;
    assert!(matches!(
        events.as_slice(),
        [Err(ModelError::MissingApiKey { .. })]
    ));
    assert_eq!(fake.request_count(), 0);
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_script(vec![FakeFault::status(500)]))
        .await
        .unwrap();
    let response = model(&fake).invoke(&conversation()).await.unwrap();
    assert_eq!(response.content, "Fake answer to: hello there");
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried() {
    let fake = FakeOpenAi::start(
        FakeConfig::default().with_script(vec![FakeFault::status_retry_after(429, "1")]),
    )
    .await
    .unwrap();
    let model = OpenAIChat::new("gpt-4o-mini")
        .api_key(KEY)
        .base_url(fake.base_url());
    let events = collect(&model, &conversation()).await;
    assert!(
        matches!(events.last(), Some(Ok(ModelStreamEvent::Completed(_)))),
        "{events:?}"
    );
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn client_error_surfaces_the_provider_message_without_retry() {
    let fake =
        FakeOpenAi::start(FakeConfig::default().with_fault(FakeFault::error(400, "bad thing")))
            .await
            .unwrap();
    let err = model(&fake).invoke(&conversation()).await.unwrap_err();
    assert_eq!(
        err,
        ModelError::Api {
            status: 400,
            message: "bad thing".into()
        }
    );
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn hanging_server_times_out() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_fault(FakeFault::Hang))
        .await
        .unwrap();
    let model = model(&fake)
        .timeout(Duration::from_millis(200))
        .max_retries(0);
    let err = model.invoke(&conversation()).await.unwrap_err();
    assert!(matches!(err, ModelError::Timeout(_)), "{err:?}");
    let events = collect(&model, &conversation()).await;
    assert!(
        matches!(events.as_slice(), [Err(ModelError::Timeout(_))]),
        "{events:?}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_fault(FakeFault::Malformed))
        .await
        .unwrap();
    let err = model(&fake).invoke(&conversation()).await.unwrap_err();
    assert!(matches!(err, ModelError::InvalidResponse(_)), "{err:?}");
    let events = collect(&model(&fake), &conversation()).await;
    assert!(
        matches!(events.last(), Some(Err(ModelError::InvalidResponse(_)))),
        "{events:?}"
    );
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn stream_error_chunk_ends_the_stream() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_fault(FakeFault::StreamError {
        message: "overloaded".into(),
    }))
    .await
    .unwrap();
    let events = collect(&model(&fake), &conversation()).await;
    assert_eq!(
        events,
        vec![
            Ok(ModelStreamEvent::Delta("Partial".into())),
            Err(ModelError::Provider("overloaded".into())),
        ]
    );
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn connection_reset_is_retried() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_script(vec![FakeFault::Reset]))
        .await
        .unwrap();
    let response = model(&fake).invoke(&conversation()).await.unwrap();
    assert_eq!(response.content, "Fake answer to: hello there");
    assert_eq!(fake.request_count(), 2);
}
