//! Running an agent: a run answered whole ([`Agent::run`]) or as a stream
//! of events ([`Agent::run_stream`]); its steps are in `steps.rs`.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use hooks_core::{RunOutput, RunStatus};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::events::{RunEvent, RunEventKind, TEXT};
use super::ids::RunIds;
use super::steps::Run;
use super::{Agent, AgentError, RunRequest};
use crate::clock::now_secs;
use crate::db::{AgentData, ModelInfo};
/// The events of a streaming run ([`Agent::run_stream`]), ending with
/// `RunCompleted` or `RunError`.
pub struct RunEventStream {
    rx: mpsc::UnboundedReceiver<RunEvent>,
}

impl Stream for RunEventStream {
    type Item = RunEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RunEvent>> {
        self.rx.poll_recv(cx)
    }
}
impl Agent {
    /// Runs the agent: loads or creates the session, runs the pre-hooks,
    /// calls the model, runs the post-hooks, stores the run and returns it.
    ///
    /// A check error or a model failure ends the run with status `ERROR`
    /// (stored too); `Err` is only for a store that fails.
    pub async fn run(&self, request: impl Into<RunRequest>) -> Result<RunOutput, AgentError> {
        self.execute(request.into(), None).await
    }

    /// Runs the agent and streams its events (Agno's names and order). The
    /// run goes on to its end (and is stored) even if the stream is dropped.
    pub fn run_stream(&self, request: impl Into<RunRequest>) -> RunEventStream {
        let (run, stream) = self.streaming(request.into());
        tokio::spawn(run);
        stream
    }

    /// Like [`run_stream`](Self::run_stream), with the run's task on
    /// `tracker`, so a server can wait for every run before it stops.
    pub fn run_stream_tracked(
        &self,
        request: impl Into<RunRequest>,
        tracker: &tokio_util::task::TaskTracker,
    ) -> RunEventStream {
        let (run, stream) = self.streaming(request.into());
        tracker.spawn(run);
        stream
    }

    /// The task that carries out a streaming run, and its events. The ids
    /// are made here, before the task starts, so that even a run that
    /// fails before its first step reports its real run and session ids.
    fn streaming(
        &self,
        request: RunRequest,
    ) -> (impl Future<Output = ()> + Send + 'static, RunEventStream) {
        let (tx, rx) = mpsc::unbounded_channel();
        let agent = self.clone();
        let ids = RunIds::new(&request);
        let run = async move {
            let (run_id, session_id) = (ids.run_id.clone(), ids.session_id.clone());
            let ran = match agent.admit().await {
                Ok(()) => agent.execute_with(request, ids, Some(&tx)).await,
                Err(refused) => Err(refused),
            };
            if let Err(error) = ran {
                tracing::error!(
                    agent = agent.id(),
                    run_id = %run_id,
                    "streaming run failed: {}",
                    error.to_string().escape_debug()
                );
                let _ = tx.send(RunEvent {
                    created_at: now_secs(),
                    agent_id: agent.id().to_owned(),
                    agent_name: agent.name().map(str::to_owned),
                    run_id,
                    session_id,
                    kind: RunEventKind::RunError {
                        content: error.to_string(),
                        error_type: "internal_error".into(),
                        error_id: None,
                        additional_data: None,
                    },
                });
            }
        };
        (run.in_current_span(), RunEventStream { rx })
    }

    async fn execute(
        &self,
        request: RunRequest,
        tx: Option<&mpsc::UnboundedSender<RunEvent>>,
    ) -> Result<RunOutput, AgentError> {
        self.admit().await?;
        let ids = RunIds::new(&request);
        self.execute_with(request, ids, tx).await
    }

    /// A run's output before any step filled it: this agent's ids and
    /// model, the run's ids, `status`.
    pub(super) fn new_output(
        &self,
        run_id: String,
        session_id: String,
        user_id: Option<String>,
        status: RunStatus,
        created_at: i64,
    ) -> RunOutput {
        let inner = &*self.inner;
        RunOutput {
            run_id,
            agent_id: Some(inner.info.id.clone()),
            agent_name: inner.info.name.clone(),
            session_id: Some(session_id),
            user_id,
            content_type: Some(TEXT.into()),
            model: Some(inner.model.id().to_owned()),
            model_provider: Some(inner.model.provider().to_owned()),
            status,
            created_at,
            ..RunOutput::default()
        }
    }

    /// What the session row says of the agent (`agent_data`).
    pub(super) fn agent_data(&self) -> serde_json::Value {
        let inner = &*self.inner;
        let data = AgentData {
            agent_id: inner.info.id.clone(),
            name: inner.info.name.clone(),
            model: ModelInfo::of(&*inner.model),
        };
        // A struct of strings: writing it as JSON cannot fail.
        serde_json::to_value(data).unwrap_or_default()
    }

    /// The run, step by step: load, pre-hooks, model, post-hooks, then
    /// finish (store and answer). A step that fails the run returns a
    /// [`Failure`]; [`Run::finish`] is the one place a run ends, completed
    /// or not. `Err` is only for a store that fails.
    pub(super) async fn execute_with(
        &self,
        request: RunRequest,
        ids: RunIds,
        tx: Option<&mpsc::UnboundedSender<RunEvent>>,
    ) -> Result<RunOutput, AgentError> {
        // Every log line of the run (its hooks' too) carries its ids.
        let span = tracing::info_span!(
            "run",
            agent_id = %self.id(),
            run_id = %ids.run_id,
            session_id = %ids.session_id,
        );
        async move {
            let mut run = Run::load(self, request, ids, tx).await?;
            let outcome = async {
                run.pre_hooks().await?;
                run.check_cancelled()?;
                let answer = run.model().await?;
                run.check_cancelled()?;
                run.post_hooks(answer).await
            }
            .await;
            run.finish(outcome).await
        }
        .instrument(span)
        .await
    }
}
