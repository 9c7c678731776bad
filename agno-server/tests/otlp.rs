//! OTLP export (feature `otlp`): a run's spans reach a receiver on
//! loopback that decodes the protocol (OTLP/HTTP protobuf, decoded with
//! `opentelemetry-proto`): the `run` span with the run's ids, its
//! `model_call` child, and the durable hook's span carrying the run id.
//! The run span must close while the agent lives (a durable hook's span
//! once kept it open, so it was never exported). A background or durable
//! hook's span is a root of its own, linked to its run's span, and the
//! link holds across a restart: the job keeps the run's trace context.
#![cfg(feature = "otlp")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agno_server::telemetry::otlp::Otlp;
use agno_server::{Agent, Echo, RunInput, SqliteDb, hook};
use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tracing_subscriber::layer::SubscriberExt;

#[hook(run_in_background = true, durable = true)]
fn durable_note(run_input: &RunInput) {
    tracing::info!(len = run_input.input_content().len(), "durable note");
}

#[hook(run_in_background = true, durable = false)]
fn memory_note(run_input: &RunInput) {
    tracing::info!(len = run_input.input_content().len(), "in-memory note");
}

/// While set, [`held_note`] waits until its attempt is cut (a shutdown).
static HOLD: AtomicBool = AtomicBool::new(true);
/// A permit for each [`held_note`] that ran to its end.
static HELD_DONE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

#[hook(run_in_background = true, durable = true)]
async fn held_note(run_input: &RunInput) {
    if HOLD.load(Ordering::Acquire) {
        std::future::pending::<()>().await;
    }
    tracing::info!(len = run_input.input_content().len(), "held note");
    HELD_DONE.add_permits(1);
}

/// A receiver of OTLP/HTTP: every span of every export it was sent, with
/// its service's name.
async fn receiver() -> (String, Arc<Mutex<Vec<(String, Span)>>>) {
    let spans: Arc<Mutex<Vec<(String, Span)>>> = Arc::default();
    let kept = spans.clone();
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let kept = kept.clone();
            async move {
                let request =
                    ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| a.value.as_ref())
                        .and_then(|v| match &v.value {
                            Some(Value::StringValue(s)) => Some(s.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for scope in resource.scope_spans {
                        for span in scope.spans {
                            kept.lock().unwrap().push((service.clone(), span));
                        }
                    }
                }
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, spans)
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.as_ref())
        .and_then(|v| match &v.value {
            Some(Value::StringValue(s)) => Some(s.clone()),
            Some(Value::IntValue(n)) => Some(n.to_string()),
            _ => None,
        })
}

/// An exporter to `url` and a subscriber that sends it every span.
fn exporting(url: &str, service: &str) -> (Otlp, tracing::Dispatch) {
    let otlp = Otlp::http(url, service).unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(otlp.layer());
    (otlp, tracing::Dispatch::new(subscriber))
}

/// Spawns `work` under `dispatch`: it and every task it spawns are traced.
fn spawn_traced<T: Send + 'static>(
    dispatch: &tracing::Dispatch,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    let _default = tracing::dispatcher::set_default(dispatch);
    tokio::spawn(tracing::instrument::WithSubscriber::with_current_subscriber(work))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_spans_reach_an_otlp_receiver() {
    let (url, received) = receiver().await;
    let (otlp, dispatch) = exporting(&url, "otlp-test");
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::builder()
        .id("otlp")
        .model(Echo::new())
        .db(SqliteDb::new(dir.path().join("agent.db")).unwrap())
        .post_hooks((durable_note, memory_note))
        .build()
        .unwrap();
    // Every task spawned while the run goes carries this dispatch.
    let run = {
        let agent = agent.clone();
        spawn_traced(&dispatch, async move {
            let output = agent
                .run(agno_server::agent::RunRequest {
                    session_id: Some("s-otlp".into()),
                    ..agno_server::agent::RunRequest::from("hello")
                })
                .await
                .unwrap();
            agent.shutdown(std::time::Duration::from_secs(10)).await;
            output
        })
    };
    let output = run.await.unwrap();
    let flushed = tokio::task::spawn_blocking(move || otlp.shutdown())
        .await
        .unwrap();
    flushed.unwrap();

    let spans = received.lock().unwrap().clone();
    assert!(
        spans.iter().all(|(service, _)| service == "otlp-test"),
        "{spans:?}"
    );
    let named = |name: &str| {
        spans
            .iter()
            .map(|(_, s)| s)
            .find(|s| s.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "no {name} span in {:?}",
                    spans.iter().map(|(_, s)| &s.name).collect::<Vec<_>>()
                )
            })
            .clone()
    };
    let run_span = named("run");
    assert_eq!(
        attribute(&run_span, "run_id").as_deref(),
        Some(output.run_id.as_str())
    );
    assert_eq!(
        attribute(&run_span, "session_id").as_deref(),
        Some("s-otlp")
    );
    assert_eq!(attribute(&run_span, "agent_id").as_deref(), Some("otlp"));
    let model = named("model_call");
    assert_eq!(
        model.trace_id, run_span.trace_id,
        "the model call is in the run's trace"
    );
    assert_eq!(model.parent_span_id, run_span.span_id);
    assert_eq!(
        attribute(&model, "gen_ai.request.model").as_deref(),
        Some("echo")
    );
    assert!(model.end_time_unix_nano >= model.start_time_unix_nano);
    let hook_span = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.name == "hook" && attribute(s, "mode").as_deref() == Some("durable"))
        .expect("the durable hook's span")
        .clone();
    assert_eq!(
        attribute(&hook_span, "hook").as_deref(),
        Some("durable_note")
    );
    assert_eq!(attribute(&hook_span, "mode").as_deref(), Some("durable"));
    assert_eq!(
        attribute(&hook_span, "run_id").as_deref(),
        Some(output.run_id.as_str())
    );
    // A durable attempt may run in another process, hours later: a trace
    // of its own, tied to the run by its id.
    assert_eq!(hook_span.parent_span_id, Vec::<u8>::new());
    assert!(
        attribute(&hook_span, "job").is_some()
            && attribute(&hook_span, "attempt").as_deref() == Some("1")
    );
    assert_links_to(&hook_span, &run_span);
    let memory = spans
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.name == "hook" && attribute(s, "mode").as_deref() == Some("background"))
        .expect("the in-memory background hook's span");
    assert_eq!(attribute(memory, "hook").as_deref(), Some("memory_note"));
    assert_eq!(memory.parent_span_id, Vec::<u8>::new());
    assert_links_to(memory, &run_span);
}

/// `span` is a root of its own whose one link is `run`'s span.
fn assert_links_to(span: &Span, run: &Span) {
    assert_ne!(span.trace_id, run.trace_id, "a trace of its own");
    let links: Vec<_> = span
        .links
        .iter()
        .map(|l| (l.trace_id.clone(), l.span_id.clone()))
        .collect();
    assert_eq!(
        links,
        vec![(run.trace_id.clone(), run.span_id.clone())],
        "{} links to its run's span",
        span.name
    );
}

/// A durable hook's job stored queued by one agent, run by another on the
/// same store after the first shut down: the attempt's span links to the
/// run's span, which ended in the first agent (the job kept its context).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_hooks_span_links_to_its_run_across_a_restart() {
    let (url, received) = receiver().await;
    let (otlp, dispatch) = exporting(&url, "otlp-restart");
    let dir = tempfile::tempdir().unwrap();
    // One store (one process owns a SQLite file), a new agent on it: the
    // next start, which has only what the store kept.
    let db: Arc<dyn agno_server::Db> =
        Arc::new(SqliteDb::new(dir.path().join("agent.db")).unwrap());
    let agent = |db: &Arc<dyn agno_server::Db>| {
        Agent::builder()
            .id("otlp-restart")
            .model(Echo::new())
            .db_arc(db.clone())
            .post_hooks(held_note)
            // One place: the first run's attempt holds it, so the second
            // run's job is stored queued, with its run.
            .job_options(agno_server::jobs::JobOptions {
                max_concurrent: 1,
                ..Default::default()
            })
            .build()
            .unwrap()
    };
    let first = agent(&db);
    let run_ids = {
        spawn_traced(&dispatch, async move {
            let mut ids = Vec::new();
            for input in ["one", "two"] {
                let output = first
                    .run(agno_server::agent::RunRequest {
                        session_id: Some("s-restart".into()),
                        ..agno_server::agent::RunRequest::from(input)
                    })
                    .await
                    .unwrap();
                ids.push(output.run_id);
            }
            // The held attempt is cut: both jobs stay in the store.
            first.shutdown(Duration::from_millis(200)).await;
            ids
        })
        .await
        .unwrap()
    };
    HOLD.store(false, Ordering::Release);
    let second = agent(&db);
    {
        spawn_traced(&dispatch, async move {
            // Both jobs are claimed from the store and run to their end.
            second.start_jobs();
            let ran = tokio::time::timeout(Duration::from_secs(30), HELD_DONE.acquire_many(2));
            ran.await
                .expect("both jobs ran after the restart")
                .unwrap()
                .forget();
            second.shutdown(Duration::from_secs(10)).await;
        })
        .await
        .unwrap();
    }
    tokio::task::spawn_blocking(move || otlp.shutdown())
        .await
        .unwrap()
        .unwrap();

    let spans: Vec<Span> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, s)| s.clone())
        .collect();
    for run_id in &run_ids {
        let run_span = spans
            .iter()
            .find(|s| s.name == "run" && attribute(s, "run_id").as_deref() == Some(run_id))
            .expect("the run's span");
        // The second run's job never started before the restart: its
        // span is the second agent's, from the job read back.
        let hooks: Vec<&Span> = spans
            .iter()
            .filter(|s| s.name == "hook" && attribute(s, "run_id").as_deref() == Some(run_id))
            .collect();
        assert!(!hooks.is_empty(), "no hook span for run {run_id}");
        for span in hooks {
            assert_links_to(span, run_span);
        }
    }
}
