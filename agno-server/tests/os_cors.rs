//! CORS over real HTTP, as a browser would send it: closed by default (no
//! `Access-Control-*` header for any origin), and with `cors_origins` set,
//! a preflight from a listed origin is answered (before the bearer-key
//! check, which a preflight cannot pass) while other origins get nothing.

mod os_support;

use agno_server::{Agent, AgentOS, Echo};
use os_support::Server;
use reqwest::Method;

const RUNS: &str = "/agents/echo/runs";
const ALLOWED: &str = "https://app.example.com";
const OTHER: &str = "https://evil.example.net";

async fn server(origins: &[&str], key: Option<&str>) -> Server {
    let agent = Agent::builder()
        .id("echo")
        .model(Echo::new())
        .build()
        .unwrap();
    let mut os = AgentOS::builder()
        .agent(agent)
        .cors_origins(origins.iter().copied())
        .ignore_env_security_key();
    if let Some(key) = key {
        os = os.security_key(key);
    }
    Server::start(os.build().unwrap()).await
}

/// A browser's preflight for a POST of a run with a bearer key.
async fn preflight(server: &Server, origin: &str) -> reqwest::Response {
    server
        .client
        .request(Method::OPTIONS, server.url(RUNS))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap()
}

/// A GET of `path` from a page of `origin`, without the key.
async fn get_from(server: &Server, path: &str, origin: &str) -> reqwest::Response {
    server
        .client
        .get(server.url(path))
        .header("origin", origin)
        .send()
        .await
        .unwrap()
}

fn allow_origin(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn cors_is_closed_by_default() {
    let server = server(&[], None).await;

    let response = preflight(&server, ALLOWED).await;
    assert_eq!(allow_origin(&response), None);
    assert!(
        response
            .headers()
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-")),
        "no CORS header at all: {:?}",
        response.headers()
    );

    let response = get_from(&server, "/health", ALLOWED).await;
    assert_eq!(response.status(), 200);
    assert_eq!(allow_origin(&response), None);
}

#[tokio::test]
async fn listed_origins_pass_the_preflight_and_others_do_not() {
    let server = server(&[ALLOWED], Some("s3cret")).await;

    // The preflight carries no key and is answered all the same.
    let response = preflight(&server, ALLOWED).await;
    assert!(
        response.status().is_success(),
        "preflight: {}",
        response.status()
    );
    assert_eq!(allow_origin(&response), Some(ALLOWED));
    let methods = response
        .headers()
        .get("access-control-allow-methods")
        .expect("allowed methods")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST") || methods == "*", "{methods}");
    assert!(
        response
            .headers()
            .contains_key("access-control-allow-headers")
    );

    let response = preflight(&server, OTHER).await;
    assert_eq!(allow_origin(&response), None, "an unlisted origin");

    // The request itself: answered with the origin echoed, and still
    // guarded by the key.
    let response = server
        .client
        .post(server.url(RUNS))
        .header("origin", ALLOWED)
        .bearer_auth("s3cret")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("message=hi&stream=false")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(allow_origin(&response), Some(ALLOWED));

    let response = get_from(&server, "/agents", ALLOWED).await;
    assert_eq!(response.status(), 401, "CORS does not open the key check");

    server.shutdown().await;
}
