//! `OpenAIResponses` against the fake OpenAI server on 127.0.0.1.

use std::time::Duration;

use agno_server::Message;
use agno_server::fake_openai::{FakeConfig, FakeFault, FakeOpenAi, FakeOpenAiHandle};
use agno_server::model::{
    Model, ModelError, ModelRequest, ModelResponse, ModelStreamEvent, OpenAIResponses, Usage,
};
use futures_util::StreamExt;
use serde_json::json;

const KEY: &str = "sk-test-responses-123";

/// A client of `fake` with fast retries.
fn model(fake: &FakeOpenAiHandle) -> OpenAIResponses {
    OpenAIResponses::new("gpt-5.2")
        .api_key(KEY)
        .base_url(fake.base_url())
        .retry_base_delay(Duration::from_millis(1))
        .retry_max_delay(Duration::from_millis(20))
}

fn conversation() -> ModelRequest {
    ModelRequest::new(vec![
        Message::new("system", "You are terse."),
        Message::new("user", "hello"),
        Message::new("assistant", "hi"),
        Message::new("user", "what is two plus two"),
    ])
}

async fn collect(
    model: &OpenAIResponses,
    request: &ModelRequest,
) -> Vec<Result<ModelStreamEvent, ModelError>> {
    model.invoke_stream(request).collect().await
}

#[tokio::test]
async fn invoke_returns_content_and_usage_and_sends_the_agno_body() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let model = model(&fake);
    assert_eq!(model.id(), "gpt-5.2");
    assert_eq!(model.provider(), "OpenAI");

    let response = model.invoke(&conversation()).await.unwrap();
    assert_eq!(
        response,
        ModelResponse {
            tool_calls: Vec::new(),
            content: "Fake answer to: what is two plus two".into(),
            // 3 + 1 + 1 + 5 input words, 8 answer words.
            usage: Usage {
                input_tokens: 10,
                output_tokens: 8
            },
        }
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/responses");
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Bearer sk-test-responses-123")
    );
    assert_eq!(
        requests[0].body,
        json!({
            "model": "gpt-5.2",
            "input": [
                {"role": "developer", "content": "You are terse."},
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": "hi"},
                {"role": "user", "content": "what is two plus two"}
            ]
        })
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn trailing_slash_in_base_url_is_fine() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let model = model(&fake).base_url(format!("{}/", fake.base_url()));
    let response = model.invoke(&conversation()).await.unwrap();
    assert_eq!(response.content, "Fake answer to: what is two plus two");
    assert_eq!(fake.requests()[0].path, "/v1/responses");
}

#[tokio::test]
async fn stream_yields_deltas_in_order_then_completed() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let model = model(&fake);
    let events = collect(&model, &conversation()).await;

    let events: Vec<ModelStreamEvent> = events.into_iter().map(Result::unwrap).collect();
    let (last, deltas) = events.split_last().unwrap();
    let deltas: Vec<&str> = deltas
        .iter()
        .map(|e| match e {
            ModelStreamEvent::Delta(d) => d.as_str(),
            other => panic!("expected a delta, got {other:?}"),
        })
        .collect();
    assert_eq!(
        deltas,
        vec![
            "Fake", " answer", " to:", " what", " is", " two", " plus", " two"
        ]
    );
    assert_eq!(
        last,
        &ModelStreamEvent::Completed(ModelResponse {
            tool_calls: Vec::new(),
            content: deltas.concat(),
            usage: Usage {
                input_tokens: 10,
                output_tokens: 8
            },
        })
    );

    let body = &fake.requests()[0].body;
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["model"], json!("gpt-5.2"));
    assert_eq!(
        body["input"][0],
        json!({"role": "developer", "content": "You are terse."})
    );
}

#[tokio::test]
async fn missing_key_fails_before_any_request() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let model = model(&fake).without_api_key();

    let err = model.invoke(&conversation()).await.unwrap_err();
    assert!(matches!(err, ModelError::MissingApiKey { .. }), "{err:?}");
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");

    let events = collect(&model, &conversation()).await;
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0], Err(ModelError::MissingApiKey { .. })));

    assert_eq!(fake.request_count(), 0);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_script(vec![FakeFault::status(500)]))
        .await
        .unwrap();
    let response = model(&fake).invoke(&conversation()).await.unwrap();
    assert_eq!(response.content, "Fake answer to: what is two plus two");
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0], requests[1]);
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_retried() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_script(vec![
        FakeFault::status(500),
        FakeFault::status_retry_after(429, "1"),
    ]))
    .await
    .unwrap();
    // The default max delay (8 s) lets the 1 s `Retry-After` through.
    let model = OpenAIResponses::new("gpt-5.2")
        .api_key(KEY)
        .base_url(fake.base_url())
        .retry_base_delay(Duration::from_millis(1));
    let response = model.invoke(&conversation()).await.unwrap();
    assert_eq!(response.content, "Fake answer to: what is two plus two");
    assert_eq!(fake.request_count(), 3);
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
    assert!(!err.to_string().contains(KEY));
    assert_eq!(fake.request_count(), 1);

    let events = collect(&model(&fake), &conversation()).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].as_ref().unwrap_err().status(), Some(400));
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn wrong_key_is_an_api_error_that_does_not_leak_the_key() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_expected_api_key("sk-right"))
        .await
        .unwrap();
    let err = model(&fake).invoke(&conversation()).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(!err.to_string().contains(KEY));
    assert!(!format!("{err:?}").contains(KEY));
    assert!(!format!("{:?}", model(&fake)).contains(KEY));
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn gives_up_after_max_retries() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_fault(FakeFault::status(503)))
        .await
        .unwrap();
    let err = model(&fake)
        .max_retries(2)
        .invoke(&conversation())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retryable());
    assert_eq!(fake.request_count(), 3);

    let err = model(&fake)
        .max_retries(0)
        .invoke(&conversation())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(fake.request_count(), 4);
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
    assert_eq!(events.len(), 1);
    assert!(
        matches!(events[0], Err(ModelError::Timeout(_))),
        "{events:?}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_fault(FakeFault::Malformed))
        .await
        .unwrap();
    let model = model(&fake);

    let err = model.invoke(&conversation()).await.unwrap_err();
    assert!(matches!(err, ModelError::InvalidResponse(_)), "{err:?}");

    let events = collect(&model, &conversation()).await;
    assert!(
        matches!(events.last(), Some(Err(ModelError::InvalidResponse(_)))),
        "{events:?}"
    );
    // Not retried: the server answered 200.
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn connection_reset_is_retried_then_reported() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_script(vec![FakeFault::Reset]))
        .await
        .unwrap();
    let response = model(&fake).invoke(&conversation()).await.unwrap();
    assert_eq!(response.content, "Fake answer to: what is two plus two");
    assert_eq!(fake.request_count(), 2);

    let fake = FakeOpenAi::start(FakeConfig::default().with_fault(FakeFault::Reset))
        .await
        .unwrap();
    let err = model(&fake)
        .max_retries(1)
        .invoke(&conversation())
        .await
        .unwrap_err();
    assert!(matches!(err, ModelError::Connection(_)), "{err:?}");
    assert_eq!(fake.request_count(), 2);
}

#[tokio::test]
async fn unreachable_server_is_a_connection_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let model = OpenAIResponses::new("gpt-5.2")
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .retry_base_delay(Duration::from_millis(1));
    let err = model.invoke(&conversation()).await.unwrap_err();
    assert!(matches!(err, ModelError::Connection(_)), "{err:?}");
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn stream_retries_before_the_first_byte() {
    let fake = FakeOpenAi::start(
        FakeConfig::default().with_script(vec![FakeFault::status(502), FakeFault::Reset]),
    )
    .await
    .unwrap();
    let events = collect(&model(&fake), &conversation()).await;
    match events.last() {
        Some(Ok(ModelStreamEvent::Completed(r))) => {
            assert_eq!(r.content, "Fake answer to: what is two plus two")
        }
        other => panic!("expected Completed, got {other:?}"),
    }
    assert_eq!(fake.request_count(), 3);
}

#[tokio::test]
async fn stream_error_event_ends_the_stream_without_retry() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_fault(FakeFault::StreamError {
        message: "the model broke".into(),
    }))
    .await
    .unwrap();
    let events = collect(&model(&fake), &conversation()).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], Ok(ModelStreamEvent::Delta("Partial".into())));
    assert_eq!(
        events[1],
        Err(ModelError::Provider("the model broke".into()))
    );
    assert_eq!(fake.request_count(), 1);
}

#[tokio::test]
async fn one_client_serves_concurrent_calls() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_record_requests(false))
        .await
        .unwrap();
    let model = std::sync::Arc::new(model(&fake));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let model = model.clone();
        tasks.push(tokio::spawn(async move {
            let request = ModelRequest::new(vec![Message::new("user", format!("question {i}"))]);
            model.invoke(&request).await.map(|r| r.content)
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(
            task.await.unwrap().unwrap(),
            format!("Fake answer to: question {i}")
        );
    }
    assert_eq!(fake.request_count(), 20);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_base_url_without_v1_says_what_it_called() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let without_v1 = fake.base_url().trim_end_matches("/v1").to_owned();
    let err = model(&fake)
        .base_url(without_v1.clone())
        .invoke(&conversation())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("POST {without_v1}/responses")),
        "{text}"
    );
    assert!(text.contains("usually ends in /v1"), "{text}");
    assert!(!text.contains(KEY));
}
