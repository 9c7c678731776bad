//! Cancel at each of a run's step boundaries (Agno's contract): during the
//! model call, between streamed chunks, and of a background run cancelled
//! the moment it was accepted. A model of the test's own holds the run
//! where the test wants it; nothing waits on time.

use agno_server::db::prelude::*;
use std::sync::Arc;
use std::time::Duration;

use agno_server::agent::{Agent, RunEventKind};
use agno_server::db::SqliteDb;
use agno_server::model::{
    Model, ModelFuture, ModelRequest, ModelResponse, ModelStream, ModelStreamEvent, Usage,
};
use agno_server::{RunOutput, RunStatus, hook};
use futures_util::StreamExt;
use tokio::sync::{Semaphore, mpsc};

/// A model that reports each call and answers only when the test lets it:
/// `invoke` waits before answering; `invoke_stream` sends one chunk, then
/// waits, then sends the rest.
struct GatedModel {
    called: mpsc::UnboundedSender<&'static str>,
    open: Arc<Semaphore>,
}

impl GatedModel {
    fn new() -> (Self, Arc<Semaphore>, mpsc::UnboundedReceiver<&'static str>) {
        let (called, rx) = mpsc::unbounded_channel();
        let open = Arc::new(Semaphore::new(0));
        (
            Self {
                called,
                open: open.clone(),
            },
            open,
            rx,
        )
    }
}

impl Model for GatedModel {
    fn id(&self) -> &str {
        "gated"
    }
    fn provider(&self) -> &str {
        "Test"
    }
    fn invoke<'a>(&'a self, _request: &'a ModelRequest) -> ModelFuture<'a> {
        Box::pin(async move {
            let _ = self.called.send("invoke");
            self.open.acquire().await.unwrap().forget();
            Ok(ModelResponse {
                tool_calls: Vec::new(),
                content: "answered".into(),
                usage: Usage::default(),
            })
        })
    }
    fn invoke_stream<'a>(&'a self, _request: &'a ModelRequest) -> ModelStream<'a> {
        Box::pin(async_stream(self))
    }
}

fn async_stream(
    model: &GatedModel,
) -> impl futures_util::Stream<Item = Result<ModelStreamEvent, agno_server::model::ModelError>> + Send + '_
{
    futures_util::stream::unfold(0, move |step| async move {
        match step {
            0 => Some((Ok(ModelStreamEvent::Delta("first ".into())), 1)),
            1 => {
                let _ = model.called.send("between chunks");
                model.open.acquire().await.unwrap().forget();
                Some((Ok(ModelStreamEvent::Delta("second".into())), 2))
            }
            2 => Some((
                Ok(ModelStreamEvent::Completed(ModelResponse {
                    tool_calls: Vec::new(),
                    content: "first second".into(),
                    usage: Usage::default(),
                })),
                3,
            )),
            _ => None,
        }
    })
}

/// Reports that the post-hooks ran.
#[hook]
fn after(run_output: &RunOutput) {
    tracing::info!(run_id = %run_output.run_id, "post-hook ran");
    POST_HOOK_RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

static POST_HOOK_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn agent(model: GatedModel, db: &SqliteDb) -> Agent {
    Agent::builder()
        .id("gated")
        .model(model)
        .db(db.clone())
        .post_hooks(after)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_during_the_model_call_ends_the_run_before_its_post_hooks() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let (model, _open, mut called) = GatedModel::new();
    let agent = agent(model, &db);
    // A background run calls the model without streaming.
    let run_id = agent.submit("stop me", None).await.unwrap().run_id;
    assert_eq!(called.recv().await.unwrap(), "invoke");
    let before = POST_HOOK_RUNS.load(std::sync::atomic::Ordering::SeqCst);
    assert!(agent.cancel(&run_id).await.unwrap(), "under way");
    let stored = until_ended(&db, &run_id).await;
    assert_eq!(stored.status, RunStatus::Cancelled);
    assert_eq!(
        POST_HOOK_RUNS.load(std::sync::atomic::Ordering::SeqCst),
        before,
        "no post-hook ran for a cancelled run"
    );
    agent.shutdown(Duration::from_secs(10)).await;
}

/// The run `run_id` once it is neither PENDING nor RUNNING (fails the
/// test after 30 s instead of hanging).
async fn until_ended(db: &SqliteDb, run_id: &str) -> RunOutput {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let run = db.get_run(run_id).await.unwrap().unwrap();
        if !matches!(run.status, RunStatus::Pending | RunStatus::Running) {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never ended"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_between_streamed_chunks_stops_the_stream_there() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    let (model, open, mut called) = GatedModel::new();
    let agent = agent(model, &db);
    let mut stream = agent.run_stream("stream then stop");
    let run_id = stream.next().await.unwrap().run_id;
    assert_eq!(called.recv().await.unwrap(), "between chunks");
    assert!(agent.cancel_running(&run_id));
    open.add_permits(1);
    let mut contents = Vec::new();
    let mut last = None;
    while let Some(event) = stream.next().await {
        if let RunEventKind::RunContent { content, .. } = &event.kind {
            contents.push(content.clone());
        }
        last = Some(event.kind);
    }
    assert_eq!(contents, ["first "], "nothing after the cancel");
    assert!(
        matches!(last, Some(RunEventKind::RunCancelled { .. })),
        "{last:?}"
    );
    let stored = db.get_run(&run_id).await.unwrap().unwrap();
    assert_eq!(stored.status, RunStatus::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_run_cancelled_the_moment_it_is_accepted_ends_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::new(dir.path().join("agent.db")).unwrap();
    // The model holds every run that reaches it: a cancel always comes
    // before the run can end, wherever the run is by then (its task not
    // started yet, so the cancel is kept until it registers; its
    // pre-hooks; its model call).
    let (model, _open, _called) = GatedModel::new();
    let agent = agent(model, &db);
    for i in 0..20 {
        let submitted = agent.submit(format!("run {i}"), None).await.unwrap();
        agent.cancel(&submitted.run_id).await.unwrap();
        let stored = until_ended(&db, &submitted.run_id).await;
        assert_eq!(stored.status, RunStatus::Cancelled, "run {i}");
    }
    agent.shutdown(Duration::from_secs(10)).await;
}
