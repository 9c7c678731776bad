//! The SQLite write path alone: runs stored per second by `save_run`, one
//! writer at a time and 64 at once (group commit), on a real file; and, as
//! the seed's traffic does, each run in a new session, with random (UUID v4)
//! or time-ordered (UUID v7, what agents make) ids.
//!
//! `cargo bench -p agno-server --bench store -- --warm-up-time 1 --measurement-time 5`

use agno_server::db::prelude::*;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agno_server::db::{SessionRecord, SessionType, SqliteDb};
use agno_server::{Message, Metrics, RunInput, RunOutput, RunStatus};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A run shaped like the seed's: input, three messages, metrics.
fn seed_run(session_id: &str) -> RunOutput {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    seed_run_with_id(session_id, format!("run-{n}"))
}

fn seed_run_with_id(session_id: &str, run_id: String) -> RunOutput {
    RunOutput {
        run_id,
        agent_id: Some("background-task-agent".into()),
        agent_name: Some("BackgroundTaskAgent".into()),
        session_id: Some(session_id.into()),
        input: Some(RunInput::new("Hello, how are you?")),
        content: Some("Echo: Hello, how are you?".into()),
        content_type: Some("str".into()),
        model: Some("gpt-5.2".into()),
        model_provider: Some("OpenAI".into()),
        messages: vec![
            Message::new(
                "system",
                "You are a helpful assistant\n\n<additional_information>\n- Use markdown to format your answers.\n</additional_information>",
            ),
            Message::new("user", "Hello, how are you?"),
            Message::new("assistant", "Echo: Hello, how are you?"),
        ],
        metrics: Some(Metrics {
            input_tokens: 20,
            output_tokens: 5,
            total_tokens: 25,
            ..Metrics::default()
        }),
        status: RunStatus::Completed,
        created_at: 1,
        ..RunOutput::default()
    }
}

fn session(id: &str) -> SessionRecord {
    SessionRecord {
        agent_id: Some("background-task-agent".into()),
        created_at: 1,
        updated_at: 1,
        ..SessionRecord::new(id, SessionType::Agent)
    }
}

/// A 2-worker runtime, as the server's.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `tasks` tasks, task `t` doing `work(t)`, and times them to the end.
fn time_tasks<F, Fut>(rt: &Runtime, tasks: usize, work: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks).map(|t| tokio::spawn(work(t))).collect();
        for handle in handles {
            handle.await.unwrap();
        }
        start.elapsed()
    })
}

fn store(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let mut group = c.benchmark_group("save_run");
    for tasks in [1usize, 64] {
        group.throughput(Throughput::Elements(tasks as u64));
        group.bench_with_input(
            BenchmarkId::new("concurrent_tasks", tasks),
            &tasks,
            |b, &tasks| {
                b.iter_custom(|iters| {
                    time_tasks(&rt, tasks, |t| {
                        let db = db.clone();
                        async move {
                            let sid = format!("bench-{t}");
                            for _ in 0..iters {
                                db.save_run(session(&sid), &seed_run(&sid)).await.unwrap();
                            }
                        }
                    })
                })
            },
        );
    }
    group.finish();
    // Let the last checkpoint finish before the temp dir goes.
    drop(db);
    std::thread::sleep(Duration::from_millis(10));
}

/// Makes one id.
type MakeId = fn() -> uuid::Uuid;

/// The seed's traffic: no `session_id` in the request, so every run starts
/// a session, 64 at once. Each id kind gets a file of its own, so each
/// index grows only with its own kind.
fn new_session_per_run(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("save_run_new_session");
    let tasks = 64usize;
    group.throughput(Throughput::Elements(tasks as u64));
    let kinds: [(&str, MakeId); 2] = [
        ("random_v4_ids", uuid::Uuid::new_v4),
        ("time_ordered_v7_ids", uuid::Uuid::now_v7),
    ];
    for (kind, make_id) in kinds {
        let db = SqliteDb::new(dir.path().join(format!("{kind}.db"))).unwrap();
        group.bench_function(BenchmarkId::new(kind, tasks), |b| {
            b.iter_custom(|iters| {
                time_tasks(&rt, tasks, |_| {
                    let db = db.clone();
                    async move {
                        for _ in 0..iters {
                            let sid = make_id().to_string();
                            let run = seed_run_with_id(&sid, make_id().to_string());
                            db.save_run(session(&sid), &run).await.unwrap();
                        }
                    }
                })
            })
        });
        drop(db);
    }
    group.finish();
    std::thread::sleep(Duration::from_millis(10));
}

criterion_group!(benches, store, new_session_per_run);
criterion_main!(benches);
