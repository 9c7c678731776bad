//! What authenticating a request costs, through the whole router
//! (`GET /agents`, one agent, in process, no socket): no auth, the
//! security key, an HS256 JWT and an RS256 JWT (2048-bit key, scopes
//! checked), the JWTs verified every time (`remembered_tokens: 0`) and
//! remembered after the first (the default), measured in one run so
//! their ratios compare.
//!
//! `cargo bench -p agno-server --bench auth -- --warm-up-time 1 --measurement-time 3`

use std::time::{SystemTime, UNIX_EPOCH};

use agno_server::os::{Algorithm, JwtConfig};
use agno_server::{Agent, AgentOS, Echo};
use axum::body::Body;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{EncodingKey, Header};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use tower::ServiceExt;

const SECRET: &str = "a-bench-secret-of-32-bytes-or-more";

fn router(
    configure: impl FnOnce(agno_server::AgentOSBuilder) -> agno_server::AgentOSBuilder,
) -> axum::Router {
    let agent = Agent::builder().id("a").model(Echo::new()).build().unwrap();
    configure(AgentOS::builder().agent(agent).ignore_env_security_key())
        .build()
        .unwrap()
        .get_app()
}

fn every_time(config: JwtConfig) -> JwtConfig {
    JwtConfig {
        remembered_tokens: 0,
        ..config
    }
}

fn claims() -> serde_json::Value {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    serde_json::json!({"sub": "alice", "scopes": ["agents:read"], "exp": now + 3600})
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rsa = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
    let private_pem = rsa.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public_pem = rsa
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let hs_token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap();
    let rs_token = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims(),
        &EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    let cases = [
        ("open", router(|b| b), None),
        (
            "security_key",
            router(|b| b.security_key("k")),
            Some("k".to_owned()),
        ),
        (
            "jwt_hs256_verified_each_time",
            router(|b| b.jwt(every_time(JwtConfig::hs256(SECRET)))),
            Some(hs_token.clone()),
        ),
        (
            "jwt_rs256_verified_each_time",
            router(|b| b.jwt(every_time(JwtConfig::rs256(public_pem.clone())))),
            Some(rs_token.clone()),
        ),
        (
            "jwt_hs256_remembered",
            router(|b| b.jwt(JwtConfig::hs256(SECRET))),
            Some(hs_token),
        ),
        (
            "jwt_rs256_remembered",
            router(|b| b.jwt(JwtConfig::rs256(public_pem.clone()))),
            Some(rs_token),
        ),
    ];
    let mut group = c.benchmark_group("auth_get_agents");
    for (name, app, bearer) in &cases {
        let request = || {
            let mut request = axum::http::Request::get("/agents").header("host", "127.0.0.1");
            if let Some(bearer) = bearer {
                request = request.header("authorization", format!("Bearer {bearer}"));
            }
            request.body(Body::empty()).unwrap()
        };
        let status = runtime
            .block_on(app.clone().oneshot(request()))
            .unwrap()
            .status();
        assert_eq!(status, 200, "{name}");
        group.bench_function(*name, |b| {
            b.iter(|| runtime.block_on(app.clone().oneshot(request())).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
