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
                    // An empty schema (`{}`, what an untyped JSON value
                    // gives) says nothing: only the document itself may.
                    let described = media_type["schema"]
                        .as_object()
                        .is_some_and(|schema| !schema.is_empty());
                    if media != "text/event-stream" && path != "/openapi.json" {
                        assert!(
                            described,
                            "{method} {path} answers {media} without a schema: {media_type}"
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
    assert!(operations > 20, "{}", doc["paths"]);
    // A JWT's scopes are documented where a route needs them.
    let forbidden = |method: &str, path: &str| {
        doc["paths"][path][method]["responses"]["403"]["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        forbidden("post", "/agents/{agent_id}/runs").contains("agents:{agent_id}:run"),
        "{}",
        forbidden("post", "/agents/{agent_id}/runs")
    );
    assert!(forbidden("delete", "/sessions").contains("sessions:delete"));
    assert!(forbidden("get", "/queue/jobs").contains("admin scope"));
    assert_eq!(
        forbidden("get", "/health"),
        "",
        "public routes need no token"
    );
    // The page that renders the document.
    let page = server.get("/docs/").await;
    assert_eq!(page.status(), 200);
    server.shutdown().await;
}

/// The router's own (method, path) pairs, read from its `Debug` text (axum
/// has no other way to list them; the layout is axum 0.8's, pinned by the
/// lock file, and the test fails loudly if it changes).
fn routes_of(router: &axum::Router) -> std::collections::BTreeSet<(String, String)> {
    let text = format!("{router:?}");
    let main = text
        .split("fallback_router:")
        .next()
        .expect("axum's Router Debug has a path router");
    let paths: std::collections::HashMap<&str, &str> =
        regex::Regex::new(r#"RouteId\((\d+)\): "([^"]*)""#)
            .unwrap()
            .captures_iter(main)
            .map(|c| (c.get(1).unwrap().as_str(), c.get(2).unwrap().as_str()))
            .collect();
    let methods =
        regex::Regex::new(r"RouteId\((\d+)\): MethodRouter\(MethodRouter \{ ([^}]*)\}").unwrap();
    let mut routes = std::collections::BTreeSet::new();
    for found in methods.captures_iter(main) {
        let path = paths[found.get(1).unwrap().as_str()];
        for field in found.get(2).unwrap().as_str().split(", ") {
            if let Some((method, "Route")) = field.split_once(": ")
                && method != "fallback"
            {
                routes.insert((method.to_owned(), path.to_owned()));
            }
        }
    }
    assert!(
        routes.len() > 10 && !paths.is_empty(),
        "could not read the router's routes from: {}",
        &text[..text.len().min(500)]
    );
    routes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_of_the_router_is_in_the_document() {
    let agent = Agent::builder()
        .id("echo")
        .model(Echo::new())
        .build()
        .unwrap();
    let os = agno_server::AgentOS::builder()
        .agent(agent)
        .ignore_env_security_key()
        .build()
        .unwrap();
    let routes = routes_of(&os.get_app());
    let server = Server::start(os).await;
    let (_, doc) = json(server.get("/openapi.json").await).await;
    server.shutdown().await;
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    // The page that renders the document is not an operation of the API
    // (Agno's document leaves its /docs out too).
    let undocumented: Vec<_> = routes
        .iter()
        .filter(|(_, path)| !path.starts_with("/docs"))
        .filter(|route| !documented.contains(*route))
        .collect();
    assert!(
        undocumented.is_empty(),
        "routes the router serves that the OpenAPI document lacks: {undocumented:?}"
    );
    assert!(
        routes.iter().any(|(_, path)| path == "/docs/"),
        "the docs page is routed"
    );
}
