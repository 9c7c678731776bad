//! No secret (the model's API key, the security key) ever appears in logs
//! or error bodies, even at TRACE level and on the error paths.

mod os_support;

use agno_server::fake_openai::{FakeConfig, FakeOpenAi};
use agno_server::{Agent, AgentOS, OpenAIResponses};
use os_support::{Captured, Server, json};

const API_KEY: &str = "sk-live-THIS-MUST-NOT-LEAK-1234";
const OS_KEY: &str = "os-key-THIS-MUST-NOT-LEAK-5678";

// One thread: the subscriber set for this thread sees every task.
#[tokio::test(flavor = "current_thread")]
async fn secrets_stay_out_of_logs_and_error_bodies() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // The model rejects our key (it expects another): the error path.
    let fake = FakeOpenAi::start(FakeConfig::default().with_expected_api_key("another-key"))
        .await
        .unwrap();
    let model = OpenAIResponses::new("gpt-5.2")
        .api_key(API_KEY)
        .base_url(fake.base_url())
        .max_retries(0);
    let agent = Agent::builder()
        .id("secretive")
        .model(model)
        .build()
        .unwrap();
    let os = AgentOS::builder()
        .agent(agent)
        .security_key(OS_KEY)
        .build()
        .unwrap();
    assert!(!format!("{os:?}").contains(OS_KEY));
    let server = Server::start(os).await;

    let mut bodies = Vec::new();
    for bearer in [None, Some("wrong-key"), Some(OS_KEY)] {
        for stream in ["false", "true"] {
            let mut request = server
                .client
                .post(server.url("/agents/secretive/runs"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("message=hello&stream={stream}"));
            if let Some(bearer) = bearer {
                request = request.bearer_auth(bearer);
            }
            bodies.push(request.send().await.unwrap().text().await.unwrap());
        }
    }
    let (status, run) = json(
        server
            .client
            .post(server.url("/agents/secretive/runs"))
            .bearer_auth(OS_KEY)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("message=hello&stream=false")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(run["status"], "ERROR", "the model refused our key: {run}");
    bodies.push(run.to_string());
    server.shutdown().await;
    fake.shutdown().await;

    let logs = captured.text();
    assert!(logs.contains("run finished"), "logs were captured");
    assert!(
        logs.contains("model request failed"),
        "the failure is logged"
    );
    for secret in [API_KEY, OS_KEY] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
        for body in &bodies {
            assert!(!body.contains(secret), "{secret} leaked into {body}");
        }
    }
}
