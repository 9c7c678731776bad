//! JWT auth over real HTTP, as Agno's `JWTMiddleware` with
//! `authorization=True`: tokens refused in Agno's words, scopes per
//! route (every route of the OpenAPI document is walked), the token's
//! user as the run's (hooks see `&Identity`), and user isolation on both
//! stores. Keys are made here: RS256 pairs (`rsa`) and an HS256 secret.

mod os_support;
mod store_support;

use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agno_server::db::Db;
use agno_server::os::{Algorithm, JwtConfig, TokenSource};
use agno_server::{Agent, AgentOS, CheckError, CheckTrigger, Echo, Identity, RunInput, hook};
use jsonwebtoken::{EncodingKey, Header};
use os_support::{Captured, Server, json};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};

struct KeyPair {
    private_pem: String,
    public_pem: String,
}

fn key_pair() -> KeyPair {
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
    KeyPair {
        private_pem: key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        public_pem: key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    }
}

/// The server's key pair, and another nobody trusts.
static KEYS: LazyLock<KeyPair> = LazyLock::new(key_pair);
static OTHER_KEYS: LazyLock<KeyPair> = LazyLock::new(key_pair);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token signed with `keys` carrying `claims`.
fn signed(keys: &KeyPair, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(keys.private_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}

/// A valid token for `sub` (none when `None`) with `scopes`.
fn token(sub: Option<&str>, scopes: &[&str]) -> String {
    let mut claims = json!({"scopes": scopes, "exp": now() + 3600, "iat": now()});
    if let Some(sub) = sub {
        claims["sub"] = json!(sub);
    }
    signed(&KEYS, &claims)
}

/// Writes the run's identity into its message (Echo answers it back).
#[hook]
fn tell_identity(run_input: &mut RunInput, identity: &Identity) {
    run_input.input_content = format!(
        "{} [{}|{}|{}]",
        run_input.input_content,
        identity.user_id.as_deref().unwrap_or("-"),
        identity.verified,
        identity.scopes.join(",")
    );
}

/// A guardrail by scope: agent `premium` runs only for tokens that hold
/// `plan:premium`, whatever the form says.
#[hook]
fn premium_only(identity: &Identity) -> Result<(), CheckError> {
    if identity.verified && identity.scopes.iter().any(|s| s == "plan:premium") {
        Ok(())
    } else {
        Err(CheckError::input(
            "this agent is for premium users",
            CheckTrigger::InputNotAllowed,
        ))
    }
}

fn agent(id: &str, db: Arc<dyn Db>) -> Agent {
    Agent::builder()
        .id(id)
        .model(Echo::new())
        .db_arc(db)
        .pre_hooks(tell_identity)
        .build()
        .unwrap()
}

async fn serve(config: JwtConfig, db: Arc<dyn Db>) -> Server {
    let os = AgentOS::builder()
        .id("os-test")
        .agent(agent("a", db.clone()))
        .agent(agent("b", db))
        .ignore_env_security_key()
        .tracing(true)
        .jwt(config)
        .build()
        .unwrap();
    Server::start(os).await
}

/// `method path` with `token` (none: no header), its status and body.
async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let mut request = server.client.request(method, server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    json(request.send().await.unwrap()).await
}

async fn get(server: &Server, path: &str, token: &str) -> (u16, Value) {
    call(server, reqwest::Method::GET, path, Some(token)).await
}

/// A run of agent `agent` into `session` (JSON answer) with `token`.
async fn run_as(
    server: &Server,
    agent: &str,
    token: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let mut all = vec![("stream", "false")];
    if !fields.iter().any(|(name, _)| *name == "message") {
        all.push(("message", "hi"));
    }
    all.extend_from_slice(fields);
    json(
        server
            .client
            .post(server.url(&format!("/agents/{agent}/runs")))
            .bearer_auth(token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&all))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A form body of plain fields (letters, digits, `-`, `_`).
fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn detail(body: &Value) -> &str {
    body["detail"].as_str().unwrap_or_default()
}

// One thread: the subscriber set for this thread sees every task.
#[tokio::test(flavor = "current_thread")]
async fn tokens_are_refused_in_agnos_words_and_never_logged() {
    let (captured, _guard) = Captured::on_this_thread();
    let store = store_support::sqlite();
    let config = JwtConfig {
        verify_audience: true,
        issuer: Some("https://issuer.test".into()),
        ..JwtConfig::rs256(KEYS.public_pem.clone())
    };
    let server = serve(config, store.db.clone()).await;
    let good = |extra: Value| {
        let mut claims = json!({
            "sub": "alice", "scopes": ["agents:read"], "aud": "os-test",
            "iss": "https://issuer.test", "exp": now() + 600,
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        claims
    };
    let valid = signed(&KEYS, &good(json!({})));

    let (status, _) = call(&server, reqwest::Method::GET, "/health", None).await;
    assert_eq!(status, 200, "public routes need no token");
    let response = server
        .client
        .get(server.url("/agents"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (_, body) = json(response).await;
    assert_eq!(detail(&body), "Authorization header missing");

    let hs256_with_the_public_key = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good(json!({})),
        &EncodingKey::from_secret(KEYS.public_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let cases: Vec<(String, &str)> = vec![
        ("a b".into(), "Invalid token: Not enough segments"),
        ("".into(), "Invalid token: Not enough segments"),
        (
            signed(&KEYS, &good(json!({"exp": now() - 60}))),
            "Token has expired",
        ),
        (
            signed(&OTHER_KEYS, &good(json!({}))),
            "Invalid token: Signature verification failed",
        ),
        (
            hs256_with_the_public_key,
            "Invalid token: The specified alg value is not allowed",
        ),
        (
            signed(&KEYS, &good(json!({"aud": "another-os"}))),
            "Invalid token audience - token not valid for this AgentOS instance",
        ),
        (
            signed(&KEYS, &good(json!({"aud": null}))),
            "Invalid token: Token is missing the \"aud\" claim. Audience verification requires this claim to be present in the token.",
        ),
        (
            signed(&KEYS, &good(json!({"iss": "https://evil.test"}))),
            "Invalid token: Invalid issuer. Expected: https://issuer.test, got: https://evil.test",
        ),
        (
            signed(&KEYS, &good(json!({"nbf": now() + 600}))),
            "Invalid token: The token is not yet valid (nbf)",
        ),
    ];
    for (bad, expected) in &cases {
        let (status, body) = get(&server, "/agents", bad).await;
        assert_eq!((status, detail(&body)), (401, *expected), "token {bad:?}");
    }
    // `alg: none` claiming the admin scope: refused, whatever it says.
    let unsigned = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJtYWxsb3J5Iiwic2NvcGVzIjpbImFnZW50X29zOmFkbWluIl19.";
    let (status, body) = get(&server, "/queue/jobs", unsigned).await;
    assert_eq!(status, 401, "{body}");
    assert!(detail(&body).starts_with("Invalid token"), "{body}");
    // Within the 10 s of leeway, an expired token still passes.
    let (status, _) = get(
        &server,
        "/agents",
        &signed(&KEYS, &good(json!({"exp": now() - 3}))),
    )
    .await;
    assert_eq!(status, 200);

    // Two Authorization headers: which one counts would depend on who reads.
    let response = server
        .client
        .get(server.url("/agents"))
        .header("authorization", format!("Bearer {valid}"))
        .header("authorization", "Bearer other")
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(
        (status, detail(&body)),
        (401, "Ambiguous Authorization header")
    );

    let (status, body) = get(&server, "/agents", &valid).await;
    assert_eq!(status, 200, "{body}");
    server.shutdown().await;

    let logs = captured.text();
    assert!(logs.contains("a token was refused"), "refusals are logged");
    assert!(!logs.contains(&valid), "a token never reaches the log");
    for (bad, _) in cases.iter().filter(|(bad, _)| bad.len() > 20) {
        assert!(
            !logs.contains(bad.as_str()),
            "a refused token never reaches the log"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_route_needs_its_scope() {
    let store = store_support::sqlite();
    let server = serve(JwtConfig::rs256(KEYS.public_pem.clone()), store.db.clone()).await;
    let forbidden = |body: &Value, scope: &str| {
        assert_eq!(
            detail(body),
            format!("Insufficient permissions. Required scope(s): {scope}")
        )
    };

    // Running one agent: its scope, or the scope for all.
    let run_a = token(Some("alice"), &["agents:a:run"]);
    assert_eq!(run_as(&server, "a", &run_a, &[]).await.0, 200);
    let (status, body) = run_as(&server, "b", &run_a, &[]).await;
    assert_eq!(status, 403);
    forbidden(&body, "agents:b:run");
    assert_eq!(
        run_as(&server, "b", &token(Some("alice"), &["agents:*:run"]), &[])
            .await
            .0,
        200
    );
    let (status, body) = get(&server, "/agents", &run_a).await;
    assert_eq!(status, 403, "nothing to read");
    forbidden(&body, "agents:read");

    // The listing and the config show what the token may read.
    let read_a = token(Some("alice"), &["agents:a:read", "config:read"]);
    let (status, body) = get(&server, "/agents", &read_a).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a"]);
    let (_, body) = get(&server, "/config", &read_a).await;
    assert_eq!(body["agents"].as_array().unwrap().len(), 1, "{body}");
    let (status, body) = get(&server, "/agents/b", &read_a).await;
    assert_eq!(status, 403);
    forbidden(&body, "agents:b:read");
    let (_, body) = get(&server, "/agents", &token(Some("alice"), &["agents:read"])).await;
    assert_eq!(body.as_array().unwrap().len(), 2);

    // Reading a run needs read and run on its agent (as Agno).
    let runner = token(Some("alice"), &["agents:run", "agents:read"]);
    let (_, run) = run_as(&server, "a", &runner, &[]).await;
    let path = format!("/agents/a/runs/{}", run["run_id"].as_str().unwrap());
    let (status, body) = get(&server, &path, &token(Some("alice"), &["agents:read"])).await;
    assert_eq!(status, 403);
    forbidden(&body, "agents:a:run");
    assert_eq!(get(&server, &path, &runner).await.0, 200);

    // Sessions: read, write, delete apart.
    let (status, body) = get(&server, "/sessions", &runner).await;
    assert_eq!(status, 403);
    forbidden(&body, "sessions:read");
    let reader = token(Some("alice"), &["sessions:read"]);
    assert_eq!(get(&server, "/sessions", &reader).await.0, 200);
    let (status, body) = call(
        &server,
        reqwest::Method::DELETE,
        "/sessions/s",
        Some(&reader),
    )
    .await;
    assert_eq!(status, 403);
    forbidden(&body, "sessions:delete");

    // The job queue is every user's: the admin scope only.
    let (status, body) = get(
        &server,
        "/queue/jobs",
        &token(Some("alice"), &["agents:run", "sessions:read"]),
    )
    .await;
    assert_eq!(
        (status, detail(&body)),
        (403, "Job queue operations require an admin scope")
    );
    let admin = token(Some("ops"), &["agent_os:admin"]);
    assert_eq!(get(&server, "/queue/jobs", &admin).await.0, 200);
    assert_eq!(
        get(&server, "/sessions", &admin).await.0,
        200,
        "the admin scope holds all"
    );
    assert_eq!(
        get(&server, "/queue/jobs", &token(Some("x"), &["admin"]))
            .await
            .0,
        403,
        "a bare `admin` is no admin"
    );
    server.shutdown().await;
}

/// Every route the OpenAPI document lists, with a valid token holding no
/// scope: each answers 403 (a route added without a scope fails here),
/// and 401 without a token; the public ones answer either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_is_open_to_a_token_without_scopes() {
    let store = store_support::sqlite();
    let server = serve(JwtConfig::rs256(KEYS.public_pem.clone()), store.db.clone()).await;
    let nothing = token(Some("alice"), &[]);
    let document = serde_json::to_value(agno_server::os::openapi_document()).unwrap();
    let mut walked = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{agent_id}", "a")
            .replace("{session_id}", "s")
            .replace("{run_id}", "r")
            .replace("{job_id}", "j");
        for method in operations.as_object().unwrap().keys() {
            let Ok(method) = method.to_uppercase().parse::<reqwest::Method>() else {
                continue;
            };
            walked += 1;
            let public = agno_server::os::PUBLIC_PATHS.contains(&path.as_str());
            let (with_token, body) = call(&server, method.clone(), &concrete, Some(&nothing)).await;
            let (without, _) = call(&server, method.clone(), &concrete, None).await;
            if public {
                assert!(
                    with_token < 400 && without < 400,
                    "{method} {path} is public"
                );
            } else {
                assert_eq!(with_token, 403, "{method} {path} with no scope: {body}");
                assert_eq!(without, 401, "{method} {path} without a token");
            }
        }
    }
    assert!(walked >= 20, "the document lists every route ({walked})");
    server.shutdown().await;
}

async fn poll_run(server: &Server, token: &str, run_id: &str) -> Value {
    for _ in 0..500 {
        let (status, run) = get(server, &format!("/agents/a/runs/{run_id}"), token).await;
        assert_eq!(status, 200, "{run}");
        if run["status"] == "COMPLETED" {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the background run did not complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_the_tokens_user_and_its_hooks_see_the_token() {
    let store = store_support::sqlite();
    let server = serve(
        JwtConfig::hs256("a-secret-of-32-bytes-at-least!!!"),
        store.db.clone(),
    )
    .await;
    let alice = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "alice", "scopes": ["agents:run", "agents:read"], "exp": now() + 600}),
        &EncodingKey::from_secret(b"a-secret-of-32-bytes-at-least!!!").unwrap(),
    )
    .unwrap();
    let (status, body) = run_as(&server, "a", &alice, &[("user_id", "bob")]).await;
    assert_eq!(
        (status, detail(&body)),
        (403, "user_id does not match the authenticated user"),
        "naming another user is refused, not silently replaced"
    );
    let (status, run) = run_as(&server, "a", &alice, &[("user_id", "alice")]).await;
    assert_eq!(status, 200, "{run}");
    let (status, run) = run_as(&server, "a", &alice, &[]).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["user_id"], "alice", "the token's user is the run's");
    assert_eq!(
        run["content"],
        "Echo: hi [alice|true|agents:run,agents:read]"
    );

    // A background run carries the identity to where it runs.
    let response = server
        .client
        .post(server.url("/agents/a/runs"))
        .bearer_auth(&alice)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("message", "later"),
            ("stream", "false"),
            ("background", "true"),
        ]))
        .send()
        .await
        .unwrap();
    let (status, accepted) = json(response).await;
    assert_eq!(status, 202, "{accepted}");
    let done = poll_run(&server, &alice, accepted["run_id"].as_str().unwrap()).await;
    assert_eq!(done["user_id"], "alice");
    assert_eq!(
        done["content"],
        "Echo: later [alice|true|agents:run,agents:read]"
    );
    server.shutdown().await;

    // A token read from a cookie.
    let cookie_server = serve(
        JwtConfig {
            token_source: TokenSource::Cookie,
            ..JwtConfig::hs256("a-secret-of-32-bytes-at-least!!!")
        },
        store.db.clone(),
    )
    .await;
    let response = cookie_server
        .client
        .get(cookie_server.url("/agents"))
        .header("cookie", format!("theme=dark; access_token={alice}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, body) = call(
        &cookie_server,
        reqwest::Method::GET,
        "/agents",
        Some(&alice),
    )
    .await;
    assert_eq!(
        (status, detail(&body)),
        (401, "JWT cookie 'access_token' missing")
    );
    cookie_server.shutdown().await;
}

#[tokio::test]
async fn a_configuration_without_a_usable_key_is_refused_at_build() {
    let build = |config: JwtConfig| {
        AgentOS::builder()
            .agent(Agent::builder().id("a").model(Echo::new()).build().unwrap())
            .ignore_env_security_key()
            .jwt(config)
            .build()
    };
    let error = build(JwtConfig::default()).unwrap_err().to_string();
    assert!(error.contains("no verification key"), "{error}");
    let error = build(JwtConfig::rs256("not a pem"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("is not a RS256 key"), "{error}");
    let error = build(JwtConfig {
        jwks_file: Some("/nonexistent/jwks.json".into()),
        ..JwtConfig::default()
    })
    .unwrap_err()
    .to_string();
    assert!(error.contains("/nonexistent/jwks.json"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_file_chooses_the_key_by_kid() {
    let store = store_support::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    let encoding = EncodingKey::from_rsa_pem(KEYS.private_pem.as_bytes()).unwrap();
    let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some("key-1".into());
    std::fs::write(&jwks, json!({"keys": [jwk]}).to_string()).unwrap();
    let server = serve(
        JwtConfig {
            jwks_file: Some(jwks.to_string_lossy().into_owned()),
            ..JwtConfig::default()
        },
        store.db.clone(),
    )
    .await;
    let claims = json!({"sub": "alice", "scopes": ["agents:read"], "exp": now() + 600});
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("key-1".into());
    let with_kid = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
    assert_eq!(get(&server, "/agents", &with_kid).await.0, 200);
    header.kid = Some("key-2".into());
    let unknown_kid = jsonwebtoken::encode(&header, &claims, &encoding).unwrap();
    let (status, body) = get(&server, "/agents", &unknown_kid).await;
    assert_eq!(
        (status, detail(&body)),
        (401, "Invalid token: No verification keys configured")
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardrail_refuses_by_the_tokens_scopes() {
    let store = store_support::sqlite();
    let premium = Agent::builder()
        .id("premium")
        .model(Echo::new())
        .db_arc(store.db.clone())
        .pre_hooks(premium_only)
        .build()
        .unwrap();
    let os = AgentOS::builder()
        .agent(premium)
        .ignore_env_security_key()
        .jwt(JwtConfig::rs256(KEYS.public_pem.clone()))
        .build()
        .unwrap();
    let server = Server::start(os).await;
    let (status, run) = run_as(
        &server,
        "premium",
        &token(Some("alice"), &["agents:run", "plan:premium"]),
        &[],
    )
    .await;
    assert_eq!(
        (status, &run["status"]),
        (200, &json!("COMPLETED")),
        "{run}"
    );
    let (status, run) = run_as(
        &server,
        "premium",
        &token(Some("bob"), &["agents:run"]),
        &[("plan", "premium")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(run["status"], "ERROR");
    assert_eq!(run["content"], "this agent is for premium users");
    server.shutdown().await;
}

/// Every operation of the OpenAPI document, called by bob (every scope
/// but admin) on alice's session, run and job ids: none answers with
/// anything of hers, and none changes it. A route added later that reads
/// user data without scoping it fails here.
async fn under_isolation_no_documented_route_shows_another_users_data(db: Arc<dyn Db>) {
    let config = JwtConfig {
        user_isolation: true,
        ..JwtConfig::rs256(KEYS.public_pem.clone())
    };
    let server = serve(config, db).await;
    let scopes = [
        "agents:run",
        "agents:read",
        "sessions:read",
        "sessions:write",
        "sessions:delete",
        "config:read",
        "traces:read",
    ];
    let alice = token(Some("alice"), &scopes);
    let bob = token(Some("bob"), &scopes);
    let secret = format!("alice-secret-{}", uuid::Uuid::new_v4().simple());
    let hers = format!("s-alice-{}", uuid::Uuid::new_v4().simple());
    let mut fields = vec![("message", secret.as_str()), ("session_id", hers.as_str())];
    let (status, run) = run_as(&server, "a", &alice, &fields).await;
    assert_eq!(status, 200, "{run}");
    let her_run = run["run_id"].as_str().unwrap().to_owned();
    fields.push(("background", "true"));
    let (status, queued) = run_as(&server, "a", &alice, &fields).await;
    assert_eq!(status, 202, "{queued}");
    let her_job = queued["run_id"].as_str().unwrap().to_owned();
    poll_run(&server, &alice, &her_job).await;
    for agent in &server.agents {
        agent.flush_traces().await;
    }
    let (status, traces) = get(&server, &format!("/traces?session_id={hers}"), &alice).await;
    assert_eq!(status, 200, "{traces}");
    // The background run's trace may still be on its way.
    assert!(
        traces["meta"]["total_count"].as_u64() >= Some(1),
        "{traces}"
    );
    let her_trace = traces["data"][0]["trace_id"].as_str().unwrap().to_owned();
    // A search names no user: bob's finds none of hers.
    for group_by in ["run", "session"] {
        let response = server
            .client
            .post(server.url("/traces/search"))
            .bearer_auth(&bob)
            .json(&serde_json::json!({ "group_by": group_by }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(!body.contains(&secret) && !body.contains(&hers), "{body}");
    }

    let document = serde_json::to_value(agno_server::os::openapi_document()).unwrap();
    let mut walked = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{agent_id}", "a")
            .replace("{session_id}", &hers)
            .replace("{run_id}", &her_run)
            .replace("{job_id}", &her_job)
            .replace("{trace_id}", &her_trace);
        for method in operations.as_object().unwrap().keys() {
            let Ok(method) = method.to_uppercase().parse::<reqwest::Method>() else {
                continue;
            };
            for query in ["", "?user_id=alice"] {
                walked += 1;
                let url = server.url(&format!("{concrete}{query}"));
                let response = server
                    .client
                    .request(method.clone(), url)
                    .bearer_auth(&bob)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body = response.text().await.unwrap();
                assert!(
                    !body.contains(&secret),
                    "{method} {concrete}{query} answered {status} with alice's data: {body}"
                );
                if path.contains("{session_id}")
                    || path.contains("{run_id}")
                    || path.contains("{job_id}")
                    || path.contains("{trace_id}")
                {
                    assert!(
                        [403, 404, 415, 422].contains(&status),
                        "{method} {concrete}{query} on alice's ids answered {status}: {body}"
                    );
                }
            }
        }
    }
    assert!(walked >= 40, "{walked}");
    // Nothing of hers changed.
    let (status, session) = get(&server, &format!("/sessions/{hers}"), &alice).await;
    assert_eq!(status, 200, "{session}");
    let (_, runs) = get(&server, &format!("/sessions/{hers}/runs"), &alice).await;
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");
    server.shutdown().await;
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = super::store_support::sqlite();
                    super::$name(store.db.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = super::store_support::postgres().await;
                    super::$name(store.db.clone()).await;
                }
            )*
        }
    };
}

on_both_stores!(
    isolation_scopes_every_session_and_run_route_to_the_tokens_user,
    under_isolation_no_documented_route_shows_another_users_data,
);

async fn isolation_scopes_every_session_and_run_route_to_the_tokens_user(db: Arc<dyn Db>) {
    let config = JwtConfig {
        user_isolation: true,
        ..JwtConfig::rs256(KEYS.public_pem.clone())
    };
    let server = serve(config, db).await;
    let scopes = [
        "agents:run",
        "agents:read",
        "sessions:read",
        "sessions:write",
        "sessions:delete",
    ];
    let alice = token(Some("alice"), &scopes);
    let bob = token(Some("bob"), &scopes);
    let admin = token(Some("ops"), &["agent_os:admin"]);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (hers, his) = (format!("s-alice-{suffix}"), format!("s-bob-{suffix}"));
    let (status, her_run) = run_as(&server, "a", &alice, &[("session_id", &hers)]).await;
    assert_eq!(status, 200, "{her_run}");
    let her_run = her_run["run_id"].as_str().unwrap().to_owned();
    assert_eq!(
        run_as(&server, "a", &bob, &[("session_id", &his)]).await.0,
        200
    );

    // Listing: his own only; asking for hers is refused.
    let (status, body) = get(&server, "/sessions?user_id=alice", &bob).await;
    assert_eq!(
        (status, detail(&body)),
        (403, "user_id does not match the authenticated user")
    );
    let (_, page) = get(&server, "/sessions?limit=1000", &bob).await;
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&his.as_str()) && !ids.contains(&hers.as_str()),
        "{ids:?}"
    );

    // Hers, to him, does not exist.
    let not_found = |status: u16, body: &Value, what: &str| {
        assert_eq!(status, 404, "{what}: {body}");
    };
    for path in [
        format!("/sessions/{hers}"),
        format!("/sessions/{hers}/runs"),
        format!("/sessions/{hers}/runs/{her_run}"),
        format!("/agents/a/runs/{her_run}"),
    ] {
        let (status, body) = get(&server, &path, &bob).await;
        not_found(status, &body, &path);
    }
    let rename = server
        .client
        .post(server.url(&format!("/sessions/{hers}/rename")))
        .bearer_auth(&bob)
        .json(&json!({"session_name": "mine now"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rename.status(), 404);
    let (status, body) = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/sessions/{hers}"),
        Some(&bob),
    )
    .await;
    not_found(status, &body, "delete");
    let delete_many = server
        .client
        .delete(server.url("/sessions"))
        .bearer_auth(&bob)
        .json(&json!({"session_ids": [hers]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        delete_many.status(),
        204,
        "deletes his sessions among these: none"
    );
    let (status, body) = run_as(&server, "a", &bob, &[("session_id", &hers)]).await;
    assert_eq!((status, detail(&body)), (404, "Session not found"));
    let cancel = format!("/agents/a/runs/{her_run}/cancel");
    let (status, body) = call(&server, reqwest::Method::POST, &cancel, Some(&bob)).await;
    assert_eq!((status, detail(&body)), (404, "Run not found"));
    assert_eq!(
        call(&server, reqwest::Method::POST, &cancel, Some(&alice))
            .await
            .0,
        200
    );

    // Hers is whole, and she sees it.
    let (status, session) = get(&server, &format!("/sessions/{hers}"), &alice).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["user_id"], "alice");
    assert!(session["session_name"] != "mine now");
    let (_, runs) = get(&server, &format!("/sessions/{hers}/runs"), &alice).await;
    assert_eq!(runs.as_array().unwrap().len(), 1);

    // An admin sees everyone's, and may filter.
    let (_, page) = get(&server, "/sessions?limit=1000", &admin).await;
    let all: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap())
        .collect();
    assert!(all.contains(&hers.as_str()) && all.contains(&his.as_str()));
    let (_, page) = get(&server, "/sessions?user_id=alice&limit=1000", &admin).await;
    let hers_only: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_str().unwrap())
        .collect();
    assert!(hers_only.contains(&hers.as_str()) && !hers_only.contains(&his.as_str()));
    assert_eq!(
        get(&server, &format!("/sessions/{hers}"), &admin).await.0,
        200
    );

    // A token naming no user has nobody's data.
    let (status, body) = get(&server, "/sessions", &token(None, &scopes)).await;
    assert_eq!(
        (status, detail(&body)),
        (403, "Authenticated request is missing a user identity")
    );
    server.shutdown().await;
}
