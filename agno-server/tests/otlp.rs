//! OTLP export (feature `otlp`): a run's spans reach a receiver on
//! loopback that decodes the protocol (OTLP/HTTP protobuf, decoded with
//! `opentelemetry-proto`): the `run` span with the run's ids, its
//! `model_call` child, and the durable hook's span carrying the run id.
//! The run span must close while the agent lives (a durable hook's span
//! once kept it open, so it was never exported).
#![cfg(feature = "otlp")]

use std::sync::{Arc, Mutex};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_spans_reach_an_otlp_receiver() {
    let (url, received) = receiver().await;
    let otlp = Otlp::http(&url, "otlp-test").unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(otlp.layer());
    let dispatch = tracing::Dispatch::new(subscriber);
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::builder()
        .id("otlp")
        .model(Echo::new())
        .db(SqliteDb::new(dir.path().join("agent.db")).unwrap())
        .post_hooks(durable_note)
        .build()
        .unwrap();
    // Every task spawned while the run goes carries this dispatch.
    let run = {
        let _default = tracing::dispatcher::set_default(&dispatch);
        let agent = agent.clone();
        tokio::spawn(
            tracing::instrument::WithSubscriber::with_current_subscriber(async move {
                let output = agent
                    .run(agno_server::agent::RunRequest {
                        session_id: Some("s-otlp".into()),
                        ..agno_server::agent::RunRequest::from("hello")
                    })
                    .await
                    .unwrap();
                agent.shutdown(std::time::Duration::from_secs(10)).await;
                output
            }),
        )
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
    let hook_span = named("hook");
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
}
