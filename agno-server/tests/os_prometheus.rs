//! The Prometheus exposition over real HTTP: `GET /metrics` negotiated by
//! `Accept`, parsed by a validating OpenMetrics parser (and the 0.0.4
//! text format by its Prometheus parser); runs, hooks by name and
//! outcome, durable jobs and the SQLite store move as runs happen; label
//! sets stay bounded whatever the run, session and user ids; the key (or
//! `open_metrics`) guards it.

mod os_support;

use std::collections::BTreeSet;

use agno_server::{Agent, AgentOS, CheckError, CheckTrigger, Echo, RunInput, SqliteDb, hook};
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
use os_support::Server;

/// Counted in the exposition by name.
#[hook]
fn audit_ok(run_input: &RunInput) {
    let _ = run_input.input_content();
}

/// Fails on every run whose message says `fail`.
#[hook(run_in_background = true, durable = false)]
fn flaky_mail(run_input: &RunInput) -> Result<(), std::io::Error> {
    if run_input.input_content().contains("fail") {
        return Err(std::io::Error::other("the mail server is down"));
    }
    Ok(())
}

/// Blocks runs that say `forbidden`.
#[hook]
fn no_forbidden(run_input: &RunInput) -> Result<(), CheckError> {
    if run_input.input_content().contains("forbidden") {
        return Err(CheckError::input(
            "not allowed",
            CheckTrigger::InputNotAllowed,
        ));
    }
    Ok(())
}

/// A durable post-hook (the store's job queue).
#[hook(run_in_background = true, durable = true)]
fn durable_note(run_input: &RunInput) {
    let _ = run_input.input_content();
}

fn agent(dir: &tempfile::TempDir) -> Agent {
    Agent::builder()
        .id("metered")
        .model(Echo::new())
        .db(SqliteDb::new(dir.path().join("agent.db")).unwrap())
        .pre_hooks((no_forbidden, audit_ok))
        .post_hooks((flaky_mail, durable_note))
        .build()
        .unwrap()
}

/// Waits until every background hook has ended: the in-memory ones
/// (the dispatcher is idle) and the durable ones (every job written is
/// done), polled for at most 30 s.
async fn settled(agent: &Agent) {
    agent.dispatcher().wait_idle().await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let jobs = agent.jobs().counters();
        if jobs.completed + jobs.failed == jobs.enqueued && jobs.running == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs not done within 30 s: {jobs:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

async fn scrape(server: &Server, accept: &str) -> (u16, String, String) {
    let response = server
        .client
        .get(server.url("/metrics"))
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// What Prometheus 2.42 sends.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

type Exposition = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

async fn parsed(server: &Server) -> Exposition {
    let (status, content_type, text) = scrape(server, PROMETHEUS_ACCEPT).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("the exposition does not parse: {e:?}\n{text}"))
}

/// The value of the sample of `family` whose labels include `labels`
/// (a counter's or gauge's value, a histogram's count); 0 if none.
fn value(exposition: &Exposition, family: &str, labels: &[(&str, &str)]) -> f64 {
    let Some(family) = exposition.families.get(family) else {
        return 0.0;
    };
    family
        .iter_samples()
        .filter(|sample| {
            let set = sample.get_labelset().unwrap();
            labels
                .iter()
                .all(|(name, want)| set.get_label_value(name) == Some(*want))
        })
        .map(|sample| match &sample.value {
            OpenMetricsValue::Counter(c) => c.value.as_f64(),
            OpenMetricsValue::Gauge(g) => g.as_f64(),
            OpenMetricsValue::Histogram(h) => h.count.unwrap_or(0) as f64,
            other => panic!("unexpected value {other:?}"),
        })
        .sum()
}

/// Every series (family, label set) of the exposition.
fn series(exposition: &Exposition) -> BTreeSet<String> {
    let mut all = BTreeSet::new();
    for (name, family) in &exposition.families {
        for sample in family.iter_samples() {
            let labels: Vec<String> = sample
                .get_labelset()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            all.insert(format!("{name}{{{}}}", labels.join(",")));
        }
    }
    all
}

async fn run(server: &Server, message: &str, user: &str, session: &str) -> u16 {
    server
        .post_form(
            "/agents/metered/runs",
            &[
                ("message", message),
                ("stream", "false"),
                ("user_id", user),
                ("session_id", session),
            ],
        )
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn runs_hooks_jobs_and_the_store_move_in_the_exposition() {
    let dir = tempfile::tempdir().unwrap();
    let agent = agent(&dir);
    let server = Server::agent(agent.clone()).await;
    let before = parsed(&server).await;
    assert_eq!(value(&before, "agno_hooks", &[("hook", "flaky_mail")]), 0.0);

    assert_eq!(run(&server, "hello", "u1", "s1").await, 200);
    assert_eq!(run(&server, "please fail", "u1", "s1").await, 200);
    assert_eq!(run(&server, "please fail again", "u2", "s2").await, 200);
    assert_eq!(run(&server, "this is forbidden", "u2", "s2").await, 200);
    // Every background hook has ended, in memory and durable.
    settled(&server.agents[0]).await;

    let after = parsed(&server).await;
    let runs = |status| {
        value(
            &after,
            "agno_run_duration_seconds",
            &[("agent", "metered"), ("status", status)],
        )
    };
    assert_eq!(runs("COMPLETED"), 3.0);
    assert_eq!(runs("ERROR"), 1.0, "the blocked run");
    let hooks = |hook, mode, outcome| {
        value(
            &after,
            "agno_hooks",
            &[("hook", hook), ("mode", mode), ("outcome", outcome)],
        )
    };
    assert_eq!(
        hooks("audit_ok", "inline", "ok"),
        3.0,
        "not run after the block"
    );
    assert_eq!(hooks("no_forbidden", "inline", "ok"), 3.0);
    assert_eq!(hooks("no_forbidden", "inline", "blocked"), 1.0);
    assert_eq!(
        hooks("flaky_mail", "background", "failed"),
        2.0,
        "the failing hook's counter moved"
    );
    assert_eq!(hooks("flaky_mail", "background", "ok"), 1.0);
    assert_eq!(hooks("durable_note", "durable", "ok"), 3.0);
    assert_eq!(
        value(
            &after,
            "agno_hook_duration_seconds",
            &[
                ("hook", "durable_note"),
                ("phase", "post"),
                ("mode", "durable")
            ]
        ),
        3.0
    );
    assert_eq!(
        value(&after, "agno_jobs_completed", &[("agent", "metered")]),
        3.0
    );
    assert_eq!(
        value(&after, "agno_jobs_enqueued", &[("agent", "metered")]),
        3.0
    );
    assert_eq!(
        value(
            &after,
            "agno_model_call_duration_seconds",
            &[("agent", "metered"), ("model", "echo"), ("outcome", "ok")]
        ),
        3.0
    );
    assert!(value(&after, "agno_model_tokens", &[("kind", "output")]) > 0.0);
    assert_eq!(
        value(
            &after,
            "agno_http_request_duration_seconds",
            &[
                ("route", "/agents/{agent_id}/runs"),
                ("status", "200"),
                ("method", "POST")
            ]
        ),
        4.0
    );
    assert!(
        value(
            &after,
            "agno_sqlite_commit_duration_seconds",
            &[("store", "db-0")]
        ) >= 4.0
    );
    assert!(value(&after, "agno_sqlite_commit_batch_writes", &[]) >= 4.0);
    assert!(after.families.contains_key("agno_sqlite_wal_bytes"));
    assert!(
        after
            .families
            .contains_key("agno_jobs_oldest_queued_age_seconds")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn label_sets_stay_bounded_whatever_the_ids() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::agent(agent(&dir)).await;
    // Every outcome once, so that each series exists.
    for message in ["hello", "fail", "forbidden"] {
        assert_eq!(run(&server, message, "first", "first").await, 200);
    }
    let _ = server.get("/sessions/first?type=agent").await;
    let _ = server.get("/no/such/route/abc").await;
    settled(&server.agents[0]).await;
    // Twice: the first scrape's own request is counted after it answered.
    let _ = parsed(&server).await;
    let few = series(&parsed(&server).await);

    // 10 000 runs, each of its own user and session, with ids in paths
    // too; 4 at a time.
    let server = std::sync::Arc::new(server);
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..2_500 {
                let id = format!("{worker}-{i}");
                let message = ["hello", "fail", "forbidden"][i % 3];
                assert_eq!(
                    run(
                        &server,
                        message,
                        &format!("user-{id}"),
                        &format!("session-{id}")
                    )
                    .await,
                    200
                );
                if i % 50 == 0 {
                    let _ = server
                        .get(&format!("/sessions/session-{id}?type=agent"))
                        .await;
                    let _ = server.get(&format!("/no/such/route/{id}")).await;
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    settled(&server.agents[0]).await;
    let exposition = parsed(&server).await;
    assert!(value(&exposition, "agno_run_duration_seconds", &[]) >= 10_003.0);
    let many = series(&exposition);
    assert_eq!(
        many.difference(&few).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "10 000 sessions and users made new series"
    );
    for line in &many {
        assert!(
            !line.contains("user-") && !line.contains("session-"),
            "{line}"
        );
    }
    let server = std::sync::Arc::into_inner(server).unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn accept_decides_and_the_text_format_parses() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::agent(agent(&dir)).await;
    assert_eq!(run(&server, "hello", "u", "s").await, 200);
    let (status, content_type, text) = scrape(&server, "text/plain;version=0.0.4").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let exposition = openmetrics_parser::prometheus::parse_prometheus(&text)
        .unwrap_or_else(|e| panic!("the text format does not parse: {e:?}\n{text}"));
    assert!(
        exposition.families.contains_key("agno_hooks_total"),
        "{text}"
    );
    // Refused by q=0: not asked for; Agno's JSON instead, as for Agno's
    // client.
    for accept in [
        "text/plain;q=0, application/json",
        "*/*",
        "application/json",
    ] {
        let (status, content_type, body) = scrape(&server, accept).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            content_type.starts_with("application/json"),
            "{accept}: {content_type}"
        );
        assert!(body.starts_with("{\"metrics\":"), "{body}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_key_guards_the_exposition_unless_opened() {
    let dir = tempfile::tempdir().unwrap();
    let os = |open| {
        AgentOS::builder()
            .agent(agent(&dir))
            .security_key("k")
            .open_metrics(open)
            .build()
            .unwrap()
    };
    let server = Server::start(os(false)).await;
    let (status, _, _) = scrape(&server, PROMETHEUS_ACCEPT).await;
    assert_eq!(status, 401);
    let with_key = server
        .client
        .get(server.url("/metrics"))
        .header("accept", PROMETHEUS_ACCEPT)
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status().as_u16(), 200);
    server.shutdown().await;

    let server = Server::start(os(true)).await;
    let (status, _, text) = scrape(&server, PROMETHEUS_ACCEPT).await;
    assert_eq!(status, 200, "{text}");
    // Only the exposition is opened: Agno's JSON still needs the key.
    let (status, _, _) = scrape(&server, "application/json").await;
    assert_eq!(status, 401);
    server.shutdown().await;
}

#[tokio::test]
async fn metrics_off_keeps_only_the_levels() {
    let dir = tempfile::tempdir().unwrap();
    let os = AgentOS::builder()
        .agent(agent(&dir))
        .ignore_env_security_key()
        .metrics(false)
        .build()
        .unwrap();
    let server = Server::start(os).await;
    assert_eq!(run(&server, "hello", "u", "s").await, 200);
    settled(&server.agents[0]).await;
    let exposition = parsed(&server).await;
    assert!(!exposition.families.contains_key("agno_hooks"));
    assert!(
        !exposition
            .families
            .contains_key("agno_http_request_duration_seconds")
    );
    assert_eq!(
        value(&exposition, "agno_jobs_completed", &[("agent", "metered")]),
        1.0
    );
    server.shutdown().await;
}
