//! Several server instances on one Postgres database, as agents see it: a
//! SIGKILLed instance's durable hooks are run by a live one once their
//! lease runs out, and a cancel sent to one instance stops the run under
//! way on another (LISTEN/NOTIFY).

mod store_support;

use agno_server::db::prelude::*;
use std::sync::Arc;
use std::time::Duration;

use agno_server::agent::Agent;
use agno_server::db::{JobStatus, PostgresDb};
use agno_server::jobs::JobOptions;
use agno_server::model::{
    Echo, Model, ModelError, ModelFuture, ModelRequest, ModelStream, ModelStreamEvent,
};
use agno_server::{FromHookArgs, HookArgs, HookError, Job, RunId, RunOutput, RunStatus, hook};
use store_support::{Schema, postgres_on};
use tokio::sync::{Semaphore, mpsc};

/// The lease of these tests: short, so a killed instance's jobs move on
/// soon (the tests wait for events, never for a time).
const LEASE: Duration = Duration::from_secs(2);

#[derive(Clone)]
struct Probe {
    seen: mpsc::UnboundedSender<(String, u32)>,
    open: Arc<Semaphore>,
}

impl<'a> FromHookArgs<'a> for &'a Probe {
    type Available = agno_server::AnyPhase;
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.extension::<Probe>()
            .ok_or_else(|| HookError::msg("no Probe"))
    }
}

/// Waits at the probe's gate, then reports (run id, attempt).
#[hook(run_in_background = true, durable = true)]
async fn notify(run_id: &RunId, job: &Job, probe: &Probe) {
    if let Ok(permit) = probe.open.acquire().await {
        permit.forget();
    }
    let _ = probe.seen.send((run_id.0.clone(), job.attempt));
}

fn probe(open: bool) -> (Probe, mpsc::UnboundedReceiver<(String, u32)>) {
    let (seen, rx) = mpsc::unbounded_channel();
    let permits = if open { Semaphore::MAX_PERMITS } else { 0 };
    let probe = Probe {
        seen,
        open: Arc::new(Semaphore::new(permits)),
    };
    (probe, rx)
}

fn options() -> JobOptions {
    JobOptions {
        poll_interval: Duration::from_millis(100),
        ..JobOptions::default()
    }
}

fn agent(db: &PostgresDb, probe: Probe) -> Agent {
    Agent::builder()
        .id("durable")
        .model(Echo::new())
        .db(db.clone())
        .post_hooks(notify)
        .extension(probe)
        .job_options(options())
        .build()
        .unwrap()
}

/// The child half of the takeover test (`--ignored`, `AGNO_PG_CHILD_SCHEMA`
/// set): stores three runs whose durable hooks wait at a closed gate,
/// prints their run ids, and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a child process of postgres_a_killed_instances_hooks_are_run_by_a_live_one"]
async fn postgres_child() {
    let name = std::env::var("AGNO_PG_CHILD_SCHEMA").expect("run by its parent test only");
    let schema = Schema { name };
    let db = postgres_on(&schema, LEASE).await;
    std::mem::forget(schema); // the parent drops it
    let (probe, _seen) = probe(false);
    let agent = agent(&db, probe);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(agent.run(format!("child {i}")).await.unwrap().run_id);
    }
    println!("STORED {}", ids.join(","));
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_killed_instances_hooks_are_run_by_a_live_one() {
    use std::io::BufRead;
    let schema = store_support::schema_name();
    // The live instance, up before the other one dies.
    let db = postgres_on(&schema, LEASE).await;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "postgres_child", "--ignored", "--nocapture"])
        .env("AGNO_PG_CHILD_SCHEMA", &schema.name)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap);
    let mut ids: Vec<String> = lines
        .find_map(|line| line.strip_prefix("STORED ").map(str::to_owned))
        .expect("the child stored its runs")
        .split(',')
        .map(str::to_owned)
        .collect();
    let (probe, mut seen) = probe(true);
    let live = agent(&db, probe);
    live.start_jobs();
    child.kill().unwrap(); // SIGKILL: no drain, no shutdown, no last renewal
    child.wait().unwrap();

    let mut ran = Vec::new();
    for _ in 0..3 {
        let (run_id, attempt) = tokio::time::timeout(Duration::from_secs(60), seen.recv())
            .await
            .expect("the killed instance's hooks were not taken over")
            .unwrap();
        assert_eq!(attempt, 2, "the killed attempt counts");
        ran.push(run_id);
    }
    ran.sort();
    ids.sort();
    assert_eq!(ran, ids);
    live.jobs().shutdown(Duration::from_secs(10)).await;
    assert_eq!(live.jobs().counters().recovered, 3);
    let stats = db.job_stats().await.unwrap();
    assert_eq!(
        (stats.counts["running"], stats.counts["queued"]),
        (0, 0),
        "{stats:?}"
    );
}

/// A model that says when it is called, and never answers.
struct Stuck(mpsc::UnboundedSender<()>);

impl Model for Stuck {
    fn id(&self) -> &str {
        "stuck"
    }
    fn provider(&self) -> &str {
        "Test"
    }
    fn invoke<'a>(&'a self, _: &'a ModelRequest) -> ModelFuture<'a> {
        let _ = self.0.send(());
        Box::pin(std::future::pending())
    }
    fn invoke_stream<'a>(&'a self, _: &'a ModelRequest) -> ModelStream<'a> {
        let _ = self.0.send(());
        Box::pin(futures_util::stream::pending::<
            Result<ModelStreamEvent, ModelError>,
        >())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_cancel_sent_to_one_instance_stops_the_run_on_another() {
    let schema = store_support::schema_name();
    let (called, mut calls) = mpsc::unbounded_channel();
    let build = |db: PostgresDb, model: Arc<dyn Model>| {
        Agent::builder()
            .id("runs")
            .model_arc(model)
            .db(db)
            .build()
            .unwrap()
    };
    let a = build(
        postgres_on(&schema, LEASE).await,
        Arc::new(Stuck(called.clone())),
    );
    let b = build(postgres_on(&schema, LEASE).await, Arc::new(Stuck(called)));
    // Both instances listen.
    a.start_jobs();
    b.start_jobs();
    let submitted = b.submit("wait for the model", None).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), calls.recv())
        .await
        .expect("the run never reached its model")
        .unwrap();
    // Sent to the instance that does not run it.
    assert!(!a.cancel(&submitted.run_id).await.unwrap());
    let db = b.db().unwrap().clone();
    let stored = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let run: RunOutput = db.get_run(&submitted.run_id).await.unwrap().unwrap();
            if run.status != RunStatus::Pending {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the run on the other instance was not cancelled");
    assert_eq!(stored.status, RunStatus::Cancelled);
    // Its job is settled right after the run is stored.
    tokio::time::timeout(Duration::from_secs(30), async {
        while db.get_job(&submitted.run_id).await.unwrap().unwrap().status != JobStatus::Completed {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the cancelled run's job was not settled");
    a.jobs().shutdown(Duration::from_secs(5)).await;
    b.jobs().shutdown(Duration::from_secs(5)).await;
}

/// More cancels in flight than the events channel holds (2 here), sent
/// while the listeners' connections are cut: every run is cancelled all
/// the same (an instance that lagged, or whose listener reconnected, reads
/// the cancels back from the store).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_cancels_are_never_dropped() {
    let schema = store_support::schema_name();
    let (called, mut calls) = mpsc::unbounded_channel();
    let build = |db: PostgresDb, model: Arc<dyn Model>| {
        Agent::builder()
            .id("runs")
            .model_arc(model)
            .db(db)
            .build()
            .unwrap()
    };
    let a = build(
        postgres_on(&schema, LEASE).await,
        Arc::new(Stuck(called.clone())),
    );
    let small = agno_server::db::PostgresDbOptions {
        schema: schema.name.clone(),
        lease: LEASE,
        events_capacity: 2,
        ..Default::default()
    };
    let b_db = PostgresDb::connect_with(&store_support::postgres_url(), small)
        .await
        .unwrap();
    let b = build(b_db, Arc::new(Stuck(called)));
    a.start_jobs();
    b.start_jobs();
    let mut runs = Vec::new();
    for i in 0..40 {
        runs.push(b.submit(format!("run {i}"), None).await.unwrap().run_id);
    }
    for _ in 0..40 {
        tokio::time::timeout(Duration::from_secs(30), calls.recv())
            .await
            .expect("a run never reached its model")
            .unwrap();
    }
    // The listeners are cut off; the cancels go out meanwhile, a burst.
    let raw = store_support::raw(&schema).await;
    raw.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = 'agno-server-listener' AND query LIKE $1",
        &[&format!("%agno_events_{}%", schema.name)],
    )
    .await
    .unwrap();
    for run_id in &runs {
        assert!(!a.cancel(run_id).await.unwrap());
    }
    let db = b.db().unwrap().clone();
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let mut left = 0;
            for run_id in &runs {
                if db.get_run(run_id).await.unwrap().unwrap().status != RunStatus::Cancelled {
                    left += 1;
                }
            }
            if left == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("a cancel was dropped");
    a.jobs().shutdown(Duration::from_secs(5)).await;
    b.jobs().shutdown(Duration::from_secs(5)).await;
}
