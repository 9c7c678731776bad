//! Bad requests over real HTTP: each gets the right 4xx and a JSON
//! `{"detail": ...}`, no panic, and no session row; and the bearer-key
//! cases of `OS_SECURITY_KEY`.

mod os_support;

use agno_server::db::prelude::*;
use agno_server::os::Limits;
use agno_server::{Agent, AgentOS, Echo, SqliteDb};
use os_support::{Server, json, multipart_body};
use serde_json::json;

const RUNS: &str = "/agents/echo/runs";

async fn server(limits: Limits, key: Option<&str>) -> (Server, SqliteDb, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let agent = Agent::builder()
        .id("echo")
        .model(Echo::new())
        .db(db.clone())
        .build()
        .unwrap();
    let mut os = AgentOS::builder()
        .agent(agent)
        .limits(limits)
        .ignore_env_security_key();
    if let Some(key) = key {
        os = os.security_key(key);
    }
    (Server::start(os.build().unwrap()).await, db, dir)
}

/// One bad request: what to send and what must come back.
struct Case {
    what: &'static str,
    method: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    detail: serde_json::Value,
}

fn case(
    what: &'static str,
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    status: u16,
    detail: impl Into<serde_json::Value>,
) -> Case {
    Case {
        what,
        method: "POST",
        path: RUNS,
        content_type,
        body: body.into(),
        status,
        detail: detail.into(),
    }
}

const MP: Option<&str> = Some("multipart/form-data; boundary=XyZ");
const URL: Option<&str> = Some("application/x-www-form-urlencoded");

fn cases() -> Vec<Case> {
    let missing = json!([{"type": "missing", "loc": ["body", "message"], "msg": "Field required", "input": null}]);
    vec![
        Case {
            what: "unknown agent",
            path: "/agents/nobody/runs",
            ..case("", URL, "message=hi", 404, "Agent not found")
        },
        case("missing message (multipart)", MP, multipart_body("XyZ", &[("stream", b"false")]), 422, missing.clone()),
        case("missing message (urlencoded)", URL, "stream=false", 422, missing.clone()),
        case("empty message", URL, "message=&stream=false", 422, missing),
        case(
            "broken multipart boundary",
            MP,
            b"--WrongBoundary\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhi\r\n--WrongBoundary--\r\n".to_vec(),
            400,
            "*malformed multipart form",
        ),
        case(
            "multipart body cut short",
            MP,
            b"--XyZ\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhi".to_vec(),
            400,
            "*malformed multipart form",
        ),
        case(
            "multipart without a boundary",
            Some("multipart/form-data"),
            "message=hi",
            400,
            "*malformed multipart form",
        ),
        case(
            "message not valid UTF-8 (multipart)",
            MP,
            multipart_body("XyZ", &[("message", b"\xff\xfe hi"), ("stream", b"false")]),
            400,
            "form field 'message' is not valid UTF-8",
        ),
        case(
            "message not valid UTF-8 (urlencoded)",
            URL,
            "message=%FF%FE&stream=false",
            400,
            "form field 'message' is not valid UTF-8",
        ),
        case(
            "invalid JSON in session_state",
            URL,
            "message=hi&stream=false&session_state=%7Bnope",
            400,
            "*form field 'session_state' is not valid JSON",
        ),
        case(
            "invalid JSON in metadata",
            MP,
            multipart_body("XyZ", &[("message", b"hi"), ("metadata", b"{\"a\": }")]),
            400,
            "*form field 'metadata' is not valid JSON",
        ),
        case(
            "metadata that is not an object",
            URL,
            "message=hi&metadata=%5B1%2C2%5D",
            400,
            "form field 'metadata' must be a JSON object",
        ),
        case(
            "duplicate message",
            URL,
            "message=a&message=b",
            400,
            "form field 'message' is given more than once",
        ),
        case(
            "stream that is not a bool",
            URL,
            "message=hi&stream=perhaps",
            400,
            "form field 'stream' must be true or false, not \"perhaps\"",
        ),
        case(
            "JSON body",
            Some("application/json"),
            r#"{"message": "hi"}"#,
            415,
            "expected a form: Content-Type multipart/form-data or application/x-www-form-urlencoded",
        ),
        case(
            "no content type",
            None,
            "message=hi",
            415,
            "expected a form: Content-Type multipart/form-data or application/x-www-form-urlencoded",
        ),
        case(
            "oversized body",
            URL,
            format!("message={}", "a".repeat(5000)),
            413,
            "request body is larger than the limit of 4096 bytes",
        ),
        case(
            "oversized field",
            MP,
            multipart_body("XyZ", &[("message", "b".repeat(3000).as_bytes())]),
            413,
            "form field 'message' is larger than the limit of 2048 bytes",
        ),
        case(
            "session id with control characters",
            URL,
            "message=hi&stream=false&session_id=a%00b",
            400,
            "'session_id' contains control characters",
        ),
        case(
            "path traversal in session_id",
            URL,
            "message=hi&stream=false&session_id=..%2F..%2Fetc%2Fpasswd",
            400,
            "*'session_id' may only contain",
        ),
        case(
            "SQL-looking session_id",
            URL,
            "message=hi&stream=false&session_id=x%27%3B+DROP+TABLE+agno_sessions%3B--",
            400,
            "*'session_id' may only contain",
        ),
        case(
            "duplicate session_id",
            MP,
            multipart_body("XyZ", &[("message", b"hi"), ("session_id", b"a"), ("session_id", b"b")]),
            400,
            "form field 'session_id' is given more than once",
        ),
        case(
            "user_id too long",
            URL,
            format!("message=hi&user_id={}", "u".repeat(300)),
            400,
            "'user_id' is longer than 256 bytes",
        ),
        case(
            "file upload",
            MP,
            b"--XyZ\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhi\r\n--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n".to_vec(),
            422,
            "form field 'files' is a file upload; this server does not accept files yet",
        ),
        case(
            "multipart part without a name",
            MP,
            b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nhi\r\n--XyZ--\r\n".to_vec(),
            400,
            "malformed multipart form: a part has no field name",
        ),
        case(
            "empty field name",
            URL,
            "=x&message=hi",
            400,
            "a form field has an empty name",
        ),
        case(
            "field name not valid UTF-8",
            URL,
            "%FF=1&message=hi",
            400,
            "a form field name is not valid UTF-8",
        ),
        case(
            "session_state not valid UTF-8",
            MP,
            multipart_body("XyZ", &[("message", b"hi"), ("session_state", b"{\"a\": \"\xff\"}")]),
            400,
            "form field 'session_state' is not valid UTF-8",
        ),
        case(
            "dependencies not an object",
            URL,
            "message=hi&dependencies=42",
            400,
            "form field 'dependencies' must be a JSON object",
        ),
        case(
            "background run streamed (stream defaults to true)",
            URL,
            "message=hi&background=true",
            400,
            "*background=true with stream=true (a resumable stream) is not supported by this server",
        ),
        case(
            "too many fields",
            URL,
            (0..20).map(|i| format!("f{i}=x")).collect::<Vec<_>>().join("&") + "&message=hi",
            413,
            "more than 16 form fields",
        ),
        case(
            "text/plain body",
            Some("text/plain"),
            "message=hi",
            415,
            "expected a form: Content-Type multipart/form-data or application/x-www-form-urlencoded",
        ),
        Case {
            what: "unknown agent (GET)",
            method: "GET",
            path: "/agents/nobody",
            ..case("", None, "", 404, "Agent not found")
        },
        Case {
            what: "GET on the runs route",
            method: "GET",
            ..case("", None, "", 405, "Method Not Allowed")
        },
        Case {
            what: "DELETE /agents",
            method: "DELETE",
            path: "/agents",
            ..case("", None, "", 405, "Method Not Allowed")
        },
        Case {
            what: "unknown route",
            path: "/agentz",
            ..case("", URL, "message=hi", 404, "Not Found")
        },
        Case {
            what: "wrong method",
            method: "PUT",
            ..case("", URL, "message=hi", 405, "Method Not Allowed")
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_json_4xx_and_store_nothing() {
    let limits = Limits {
        max_body_bytes: 4096,
        max_field_bytes: 2048,
        max_fields: 16,
        ..Limits::default()
    };
    let (server, db, _dir) = server(limits, None).await;
    let cases = cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    for case in cases {
        let mut request = server
            .client
            .request(case.method.parse().unwrap(), server.url(case.path))
            .body(case.body.clone());
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        let (status, body) = json(response).await;
        assert_eq!(status, case.status, "{}: {body}", case.what);
        let detail = &body["detail"];
        match case.detail.as_str().and_then(|d| d.strip_prefix('*')) {
            Some(prefix) => assert!(
                detail.as_str().is_some_and(|d| d.starts_with(prefix)),
                "{}: {detail}",
                case.what
            ),
            None => assert_eq!(detail, &case.detail, "{}", case.what),
        }
    }
    // Still serving, and nothing half-written.
    let (status, _) = json(server.get("/health").await).await;
    assert_eq!(status, 200);
    let page = db.list_sessions(Default::default()).await.unwrap();
    assert_eq!(page.total_count, 0, "{:?}", page.sessions);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_security_key_guards_every_route_but_the_public_ones() {
    let (server, _db, _dir) = server(Limits::default(), Some("s3cret")).await;
    let client = &server.client;

    let (status, body) = json(client.get(server.url("/agents")).send().await.unwrap()).await;
    assert_eq!(
        (status, body),
        (401, json!({"detail": "Authorization header required"}))
    );

    let (status, body) = json(
        client
            .get(server.url("/agents"))
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body),
        (401, json!({"detail": "Invalid authentication token"}))
    );

    let (status, body) = json(
        client
            .post(server.url(RUNS))
            .bearer_auth("s3cre")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("message=hi&stream=false")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "a prefix of the key is not the key: {body}");

    let (status, body) = json(
        client
            .post(server.url(RUNS))
            .bearer_auth("s3cret")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("message=hi&stream=false")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["content"], "Echo: hi");
    // The key never shows in an answer.
    assert!(!body.to_string().contains("s3cret"));

    for public in ["/health", "/openapi.json", "/"] {
        let (status, _) = json(client.get(server.url(public)).send().await.unwrap()).await;
        assert_eq!(status, 200, "{public} is public");
    }
    for private in ["/config", "/sessions", "/hooks", "/agents/echo"] {
        let (status, _) = json(client.get(server.url(private)).send().await.unwrap()).await;
        assert_eq!(status, 401, "{private} needs the key");
    }
    // The docs page and its files are public too, and served from the
    // binary (Swagger UI reading /openapi.json).
    let page = client.get(server.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let init = client
        .get(server.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/openapi.json"));
    let css = client
        .get(server.url("/docs/swagger-ui.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    // A path that only looks like the docs is not public.
    let (status, _) = json(client.get(server.url("/docsx")).send().await.unwrap()).await;
    assert_eq!(status, 401);
    server.shutdown().await;
}
