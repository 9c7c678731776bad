//! The OpenAPI document against the router it describes: every operation
//! the document lists is served (the request reaches its route, not the
//! fallback), what the router does not serve is not listed, and every
//! answer of ours has a schema.

mod os_support;

use agno_server::{Agent, Echo, SqliteDb};
use os_support::{Server, json};

/// Whether an answer came from the router's fallbacks (no such route, or
/// no such method on it) rather than from a route.
fn fell_through(status: u16, body: &serde_json::Value) -> bool {
    status == 405 || (status == 404 && body["detail"] == "Not Found")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served_and_described() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let agent = Agent::builder()
        .id("echo")
        .model(Echo::new())
        .db(db)
        .build()
        .unwrap();
    let server = Server::agent(agent).await;
    let (status, doc) = json(server.get("/openapi.json").await).await;
    assert_eq!(status, 200);

    // The check itself can fail: a path the router lacks falls through.
    let (status, body) = json(server.get("/no/such/route").await).await;
    assert!(fell_through(status, &body), "{status} {body}");
    let (status, body) = json(
        server
            .client
            .put(server.url("/health"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(fell_through(status, &body), "{status} {body}");

    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        let url = path.replace("{agent_id}", "echo").replace(['{', '}'], "");
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = server
                .client
                .request(method.clone(), server.url(&url))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response
                .json::<serde_json::Value>()
                .await
                .unwrap_or_default();
            assert!(
                !fell_through(status, &body),
                "{method} {path} is documented but not served: {status} {body}"
            );
            // Every answer that has a body says what it holds.
            let ok = operation["responses"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(code, _)| code.starts_with('2'))
                .map(|(_, response)| response)
                .unwrap_or_else(|| panic!("{method} {path} has no 2xx answer"));
            if let Some(content) = ok["content"].as_object() {
                for (media, media_type) in content {
                    if media != "text/event-stream" {
                        assert!(
                            media_type["schema"].is_object(),
                            "{method} {path} answers {media} without a schema"
                        );
                    }
                }
            }
            assert!(
                operation["responses"]["4XX"]["content"]["application/json"]["schema"]["$ref"]
                    == "#/components/schemas/ErrorBody",
                "{method} {path}: errors are described"
            );
        }
    }
    assert_eq!(operations, 21, "{}", doc["paths"]);
    // The page that renders the document.
    let page = server.get("/docs/").await;
    assert_eq!(page.status(), 200);
    server.shutdown().await;
}
