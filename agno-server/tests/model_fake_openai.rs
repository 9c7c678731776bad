//! The fake OpenAI server itself, spoken to with a plain HTTP client.

use std::time::Duration;

use agno_server::fake_openai::{FakeConfig, FakeFault, FakeOpenAi};
use serde_json::{Value, json};

async fn post(url: String, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .bearer_auth("sk-x")
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn responses_json_has_the_api_shape() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let body = json!({"model": "m1", "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "parts work"}]}]});
    let response = post(format!("{}/responses", fake.base_url()), body).await;
    assert_eq!(response.status(), 200);
    let v: Value = response.json().await.unwrap();
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["model"], "m1");
    assert_eq!(v["output"][0]["content"][0]["type"], "output_text");
    assert_eq!(
        v["output"][0]["content"][0]["text"],
        "Fake answer to: parts work"
    );
    assert_eq!(v["usage"]["input_tokens"], 2);
    assert_eq!(v["usage"]["output_tokens"], 5);
    assert_eq!(v["usage"]["total_tokens"], 7);
}

#[tokio::test]
async fn chat_stream_has_usage_chunk_and_done() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_answer("fixed reply"))
        .await
        .unwrap();
    let body = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
                      "messages": [{"role": "user", "content": "q"}]});
    let response = post(format!("{}/chat/completions", fake.base_url()), body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(text.contains(r#""delta":{"content":" reply"}"#), "{text}");
    assert!(text.contains(r#""completion_tokens":2"#), "{text}");
}

#[tokio::test]
async fn responses_stream_has_the_api_events() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let body = json!({"model": "m", "stream": true, "input": [{"role": "user", "content": "a b"}]});
    let text = post(format!("{}/responses", fake.base_url()), body)
        .await
        .text()
        .await
        .unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(names.first(), Some(&"response.created"));
    assert_eq!(names.last(), Some(&"response.completed"));
    assert_eq!(
        names
            .iter()
            .filter(|n| **n == "response.output_text.delta")
            .count(),
        5
    );
}

#[tokio::test]
async fn scripted_status_with_retry_after_then_normal() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_script(vec![
        FakeFault::status_retry_after(429, "1"),
        FakeFault::error(400, "bad thing"),
    ]))
    .await
    .unwrap();
    let url = format!("{}/responses", fake.base_url());
    let body = json!({"model": "m", "input": "hi"});

    let first = post(url.clone(), body.clone()).await;
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "1");
    let second = post(url.clone(), body.clone()).await;
    assert_eq!(second.status(), 400);
    let v: Value = second.json().await.unwrap();
    assert_eq!(v["error"]["message"], "bad thing");
    let third = post(url, body).await;
    assert_eq!(third.status(), 200);

    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].authorization.as_deref(), Some("Bearer sk-x"));
    assert_eq!(requests[2].body, json!({"model": "m", "input": "hi"}));
}

#[tokio::test]
async fn expected_key_and_bad_json() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_expected_api_key("sk-right"))
        .await
        .unwrap();
    let response = post(
        format!("{}/responses", fake.base_url()),
        json!({"model": "m", "input": "x"}),
    )
    .await;
    assert_eq!(response.status(), 401);

    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/chat/completions", fake.base_url()))
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(fake.requests()[0].body, json!("{nope"));
}

#[tokio::test]
async fn recording_can_be_switched_off() {
    let fake = FakeOpenAi::start(FakeConfig::default().with_record_requests(false))
        .await
        .unwrap();
    for _ in 0..3 {
        let r = post(
            format!("{}/responses", fake.base_url()),
            json!({"model": "m", "input": "x"}),
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(fake.request_count(), 3);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn shutdown_ends_hanging_requests_and_stops_listening() {
    let fake = FakeOpenAi::start(
        FakeConfig::default()
            .with_fault(FakeFault::Hang)
            .with_delay(Duration::from_millis(1)),
    )
    .await
    .unwrap();
    let url = format!("{}/responses", fake.base_url());
    let pending = tokio::spawn(post(url.clone(), json!({"model": "m", "input": "x"})));
    while fake.request_count() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    fake.shutdown().await;
    assert_eq!(pending.await.unwrap().status(), 503);
    assert!(reqwest::Client::new().post(url).send().await.is_err());
}

#[test]
fn the_fake_binary_prints_its_usage_on_help_and_refuses_bad_arguments() {
    let bin = env!("CARGO_BIN_EXE_fake-openai");
    let help = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success(), "{help:?}");
    let stdout = String::from_utf8_lossy(&help.stdout);
    assert!(
        stdout.starts_with("usage: fake-openai --port N"),
        "{stdout}"
    );
    assert!(help.stderr.is_empty(), "nothing logged: {help:?}");
    let bad = std::process::Command::new(bin)
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unknown argument --bogus"),
        "{bad:?}"
    );
}

/// Agno's Responses model continues a turn that called tools with
/// `previous_response_id` and only the tool results: the fake answers it
/// as OpenAI does, with the stored turn's input and calls before them.
#[tokio::test]
async fn a_response_that_called_tools_is_continued_by_its_id() {
    let fake = FakeOpenAi::start(FakeConfig::default()).await.unwrap();
    let url = format!("{}/responses", fake.base_url());
    let first: Value = post(
        url.clone(),
        json!({"model": "m", "input": [{"role": "user", "content": r#"sum [call add {"a": 1}]"#}]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(first["output"][0]["type"], "function_call");
    let call_id = first["output"][0]["call_id"].as_str().unwrap();
    let second: Value = post(
        url.clone(),
        json!({"model": "m", "previous_response_id": first["id"],
               "input": [{"type": "function_call_output", "call_id": call_id, "output": "1"}]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        second["output"][0]["content"][0]["text"],
        r#"Fake answer to: sum [call add {"a": 1}] [tool results: 1]"#
    );
    // An id it does not know: the request as it is.
    let unknown: Value = post(
        url,
        json!({"model": "m", "previous_response_id": "resp_nope", "input": "alone"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        unknown["output"][0]["content"][0]["text"],
        "Fake answer to: alone"
    );
}
