//! Protocol details a hostile client probes: `Host` headers (RFC 9112
//! §3.2), broken chunked bodies, the bearer scheme's case (RFC 9110
//! §11.1), client request ids that would fill or forge the log, and user
//! text that would forge log lines.

mod os_support;

use agno_server::{Agent, AgentOS, Echo, RunInput, hook};
use os_support::{Captured, Server, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn echo_agent() -> Agent {
    Agent::builder()
        .id("echo")
        .model(Echo::new())
        .build()
        .unwrap()
}

async fn serve(os: agno_server::AgentOSBuilder) -> Server {
    Server::start(os.agent(echo_agent()).build().unwrap()).await
}

/// Sends `request` as raw bytes; returns the status line and the rest.
async fn raw(server: &Server, request: &[u8]) -> String {
    let addr = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // Read the head and what comes with it (the server closes or answers).
    loop {
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the server answered")
            .unwrap();
        answer.extend_from_slice(&buf[..n]);
        if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn http_1_1_needs_exactly_one_host() {
    let server = serve(AgentOS::builder().ignore_env_security_key()).await;
    let none = raw(
        &server,
        b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(none.starts_with("HTTP/1.1 400"), "{none}");
    let two = raw(
        &server,
        b"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(two.starts_with("HTTP/1.1 400"), "{two}");
    let one = raw(
        &server,
        b"GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(one.starts_with("HTTP/1.1 200"), "{one}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_malformed_chunk_size_is_a_400_not_a_413() {
    let server = serve(AgentOS::builder().ignore_env_security_key()).await;
    let answer = raw(
        &server,
        b"POST /agents/echo/runs HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nmessage=hi\r\n0\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    server.shutdown().await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_required() {
    let server = serve(AgentOS::builder().security_key("k3y")).await;
    let get = |auth: &'static str| {
        server
            .client
            .get(server.url("/agents"))
            .header("authorization", auth)
            .send()
    };
    assert_eq!(get("Bearer k3y").await.unwrap().status(), 200);
    assert_eq!(get("bearer k3y").await.unwrap().status(), 200);
    let bare = get("k3y").await.unwrap();
    assert_eq!(bare.status(), 401);
    let body: serde_json::Value = bare.json().await.unwrap();
    assert_eq!(body["detail"], "Authorization header required");
    assert_eq!(get("Basic k3y").await.unwrap().status(), 401);
    server.shutdown().await;
}

#[tokio::test]
async fn only_a_short_plain_request_id_is_echoed() {
    let server = serve(AgentOS::builder().ignore_env_security_key()).await;
    let id_of = |id: String| {
        let request = server
            .client
            .get(server.url("/health"))
            .header("x-request-id", id);
        async move {
            request.send().await.unwrap().headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(id_of("trace-42.a:b".into()).await, "trace-42.a:b");
    let long = "x".repeat(7000);
    let replaced = id_of(long).await;
    assert_eq!(replaced.len(), 36, "a UUID of ours: {replaced}");
    let forged = id_of("a\tb".into()).await;
    assert_eq!(forged.len(), 36, "{forged}");
    server.shutdown().await;
}

/// A hook that fails with the user's text.
#[hook]
fn echoes_input_in_its_error(run_input: &RunInput) -> Result<(), String> {
    Err(format!("bad input: {}", run_input.input_content))
}

/// A guardrail whose message quotes the user's text.
#[hook]
fn refuses_quoting_the_input(run_input: &RunInput) -> Result<(), agno_server::CheckError> {
    Err(agno_server::CheckError::input(
        format!("refused: {}", run_input.input_content),
        agno_server::CheckTrigger::InputNotAllowed,
    ))
}

#[tokio::test(flavor = "current_thread")]
async fn user_text_cannot_forge_log_lines() {
    let (captured, _guard) = Captured::on_this_thread();
    let agent = Agent::builder()
        .id("echo")
        .model(Echo::new())
        .pre_hooks(echoes_input_in_its_error)
        .build()
        .unwrap();
    let guard = Agent::builder()
        .id("guard")
        .model(Echo::new())
        .pre_hooks(refuses_quoting_the_input)
        .build()
        .unwrap();
    let server = Server::start(
        AgentOS::builder()
            .agents([agent, guard])
            .ignore_env_security_key()
            .build()
            .unwrap(),
    )
    .await;
    let forged = "x\n2026-01-01T00:00:00Z  INFO forged: admin logged in";
    for path in ["/agents/echo/runs", "/agents/guard/runs"] {
        let (status, _) = server
            .post_json(path, &[("message", forged), ("stream", "false")])
            .await;
        assert_eq!(status, 200, "{path}");
    }
    // An agent id with a newline in the path is logged escaped too.
    let _ = server
        .post_form("/agents/a%0Aforged%20line/runs", &[("message", "hi")])
        .await;
    server.shutdown().await;
    let log = captured.text();
    assert!(
        log.contains("bad input"),
        "the hook failure is logged: {log}"
    );
    assert!(
        log.contains("hook rejected the run: refused: x\\n2026"),
        "the guardrail's message is logged, escaped: {log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "{log}"
    );
    assert!(!log.lines().any(|l| l.starts_with("forged")), "{log}");
}

/// A `session_state` nested near the JSON parser's limit used to be stored
/// one level deeper than it could be read: every `GET /sessions` then
/// answered 500. Now it is refused with a 400, and the list keeps working.
#[tokio::test]
async fn deeply_nested_state_is_refused_and_cannot_poison_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::builder()
        .id("echo")
        .model(Echo::new())
        .db(agno_server::SqliteDb::new(dir.path().join("agent.db")).unwrap())
        .build()
        .unwrap();
    let server = Server::agent(agent).await;
    let deep = format!("{}1{}", "{\"a\":".repeat(126), "}".repeat(126));
    let (status, body) = server
        .post_json(
            "/agents/echo/runs",
            &[
                ("message", "hi"),
                ("stream", "false"),
                ("session_state", &deep),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("levels deep"),
        "{body}"
    );
    let (status, _) = server
        .post_json(
            "/agents/echo/runs",
            &[("message", "hi"), ("stream", "false"), ("session_id", "ok")],
        )
        .await;
    assert_eq!(status, 200);
    let list = server.get("/sessions").await;
    assert_eq!(list.status(), 200);
    let body: serde_json::Value = list.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    server.shutdown().await;
}

/// `GET /hooks` says where each hook runs on this server: the global flag
/// moves a hook that cannot block, never a guardrail.
#[tokio::test]
async fn get_hooks_shows_where_each_hook_runs() {
    let server = serve(
        AgentOS::builder()
            .ignore_env_security_key()
            .run_hooks_in_background(true),
    )
    .await;
    let hooks: serde_json::Value = server.get("/hooks").await.json().await.unwrap();
    let find = |name: &str| {
        hooks["registered"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .cloned()
            .unwrap()
    };
    let observer = find("echoes_input_in_its_error");
    assert_eq!(observer["run_in_background"], false);
    assert_eq!(observer["runs_in_background"], true);
    let guard = find("PIIDetectionGuardrail");
    assert_eq!(guard["runs_in_background"], false);
    server.shutdown().await;
}

/// A page of every session at once is refused: `limit` has a ceiling.
#[tokio::test]
async fn a_session_page_has_a_size_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::builder()
        .id("echo")
        .model(Echo::new())
        .db(agno_server::SqliteDb::new(dir.path().join("agent.db")).unwrap())
        .build()
        .unwrap();
    let server = Server::agent(agent).await;
    let huge = server.get("/sessions?limit=4294967295").await;
    assert_eq!(huge.status(), 400);
    let body: serde_json::Value = huge.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("at most 1000"),
        "{body}"
    );
    assert_eq!(server.get("/sessions?limit=1000").await.status(), 200);
    server.shutdown().await;
}

/// A row that cannot be read (damaged by hand, or by a writer we do not
/// control) does not take the session list down: the others are served,
/// and the row is named in the log.
#[tokio::test]
async fn an_unreadable_row_leaves_the_list_answering() {
    let captured = Captured::default();
    // Global: the store reads (and logs) on threads of its own. The other
    // tests here capture on their own threads, which takes precedence.
    tracing::subscriber::set_global_default(captured.subscriber())
        .expect("only this test sets the global subscriber");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.db");
    let agent = Agent::builder()
        .id("echo")
        .model(Echo::new())
        .db(agno_server::SqliteDb::new(&path).unwrap())
        .build()
        .unwrap();
    let server = Server::agent(agent).await;
    for session in ["good", "damaged"] {
        let (status, _) = server
            .post_json(
                "/agents/echo/runs",
                &[
                    ("message", "hi"),
                    ("stream", "false"),
                    ("session_id", session),
                ],
            )
            .await;
        assert_eq!(status, 200);
    }
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE agno_sessions SET session_data = '{\"session_state\": [unreadable' WHERE session_id = 'damaged'",
            [],
        )
        .unwrap();
    let (status, page) = json(server.get("/sessions").await).await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["good"], "the rest is served");
    // The damaged row itself: an error that names it, not a hang or a 200.
    let (status, body) = json(server.get("/sessions/damaged").await).await;
    assert_eq!(status, 500, "{body}");
    let (status, _) = json(server.get("/sessions/good").await).await;
    assert_eq!(status, 200);
    server.shutdown().await;
    let log = captured.text();
    assert!(
        log.contains("session left out of a list") && log.contains("damaged"),
        "{log}"
    );
}
