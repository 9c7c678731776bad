//! The offline `Echo` model.

use std::sync::Arc;

use agno_server::Message;
use agno_server::model::{Echo, Model, ModelRequest, ModelResponse, ModelStreamEvent, Usage};
use futures_util::StreamExt;

fn request() -> ModelRequest {
    ModelRequest::new(vec![
        Message::new("system", "Be brief."),
        Message::new("user", "first question"),
        Message::new("assistant", "Echo: first question"),
        Message::new("user", "hello  big world"),
    ])
}

#[tokio::test]
async fn answers_the_last_user_message_deterministically() {
    let model: Arc<dyn Model> = Arc::new(Echo::new());
    assert_eq!(model.id(), "echo");
    assert_eq!(model.provider(), "Echo");

    let first = model.invoke(&request()).await.unwrap();
    let second = model.invoke(&request()).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        first,
        ModelResponse {
            tool_calls: Vec::new(),
            content: "Echo: hello  big world".into(),
            // 2 + 2 + 3 + 3 words in, 4 words out.
            usage: Usage {
                input_tokens: 10,
                output_tokens: 4
            },
        }
    );
}

#[tokio::test]
async fn streams_words_then_completed() {
    let model = Echo::new();
    let events: Vec<_> = model.invoke_stream(&request()).collect().await;
    let events: Vec<ModelStreamEvent> = events.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        events,
        vec![
            ModelStreamEvent::Delta("Echo:".into()),
            ModelStreamEvent::Delta(" hello".into()),
            ModelStreamEvent::Delta("  big".into()),
            ModelStreamEvent::Delta(" world".into()),
            ModelStreamEvent::Completed(model.invoke(&request()).await.unwrap()),
        ]
    );
}

#[tokio::test]
async fn without_user_message() {
    let model = Echo::new();
    let response = model
        .invoke(&ModelRequest::new(vec![Message::new("system", "x")]))
        .await
        .unwrap();
    assert_eq!(response.content, "Echo: ");
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 1,
            output_tokens: 1
        }
    );
}
