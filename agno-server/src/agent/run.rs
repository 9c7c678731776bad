//! The run lifecycle: session, pre-hooks, model, post-hooks, store.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::{Stream, StreamExt};
use hooks_core::{
    CheckError, DurableHooks, ExtraFields, HookContext, HookEvent, Message, Metrics, RunContext,
    RunId, RunInput, RunOutput, RunShared, RunStatus, Session, UserId,
};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::cancel::Registered;
use super::events::{self, RunEvent, RunEventKind, TEXT};
use super::prompt::history;
use super::{Agent, AgentError, RunRequest};
use crate::clock::now_secs;
use crate::db::{AgentData, DbError, JobFence, ModelInfo, SessionRecord, SessionType};
use crate::jobs::EarlyJob;
use crate::model::{ModelError, ModelRequest, ModelResponse, ModelStreamEvent};

/// A new run or session id: a UUID, version 7 (RFC 9562), whose leading
/// bits are the time in milliseconds. Ids made later sort later, so the
/// store's primary-key indexes on `session_id` and `run_id` grow at their
/// right edge instead of taking every new id at a random page: a busy
/// server dirties a few pages per batch of runs, not two or three random
/// ones per run (BENCHMARKS.md, "The write path, second pass"). Agno makes version
/// 4 ids; both are 36-character UUID strings and neither is parsed.
pub(super) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

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

/// Where a run's events go: nowhere (non-streaming) or a channel.
struct Events<'a> {
    tx: Option<&'a mpsc::UnboundedSender<RunEvent>>,
    agent_id: &'a str,
    agent_name: Option<&'a str>,
    run_id: String,
    session_id: String,
}

impl Events<'_> {
    fn emit(&self, kind: RunEventKind) {
        if let Some(tx) = self.tx {
            // A closed stream (the client left) does not stop the run.
            let _ = tx.send(RunEvent {
                created_at: now_secs(),
                agent_id: self.agent_id.to_owned(),
                agent_name: self.agent_name.map(str::to_owned),
                run_id: self.run_id.clone(),
                session_id: self.session_id.clone(),
                kind,
            });
        }
    }

    fn error(&self, content: &str, error_type: &str, check: Option<&CheckError>) {
        self.emit(RunEventKind::RunError {
            content: content.to_owned(),
            error_type: error_type.to_owned(),
            error_id: check.map(|c| c.trigger.as_str().to_owned()),
            additional_data: check.and_then(|c| c.additional_data.clone()),
        });
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
            if let Err(error) = agent.execute_with(request, ids, Some(&tx)).await {
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

    /// Calls the model streaming, emitting `RunContent` for each delta;
    /// `None` when `cancelled` came between two chunks (none is emitted
    /// after it).
    async fn stream_model(
        &self,
        request: &ModelRequest,
        events: &Events<'_>,
        first_token: &mut Option<f64>,
        model_started: Instant,
        cancelled: &tokio_util::sync::CancellationToken,
    ) -> Result<Option<ModelResponse>, ModelError> {
        let mut stream = self.inner.model.invoke_stream(request);
        let mut streamed = 0;
        while let Some(event) = stream.next().await {
            if cancelled.is_cancelled() {
                return Ok(None);
            }
            match event? {
                ModelStreamEvent::Delta(delta) => {
                    if first_token.is_none() {
                        *first_token = Some(model_started.elapsed().as_secs_f64());
                    }
                    streamed += delta.len();
                    events.emit(RunEventKind::RunContent {
                        content: delta,
                        content_type: TEXT.into(),
                    });
                }
                ModelStreamEvent::Completed(response) => return Ok(Some(response)),
            }
        }
        Err(ModelError::InvalidResponse(format!(
            "the stream ended without a completion after {streamed} bytes"
        )))
    }
}

/// A run's ids, made before anything else (a stream reports them even if
/// the run fails at once).
pub(super) struct RunIds {
    pub(super) run_id: String,
    pub(super) session_id: String,
    /// A background run's job and attempt: its result is written only
    /// while it still holds them.
    pub(super) fence: Option<JobFence>,
}

impl RunIds {
    pub(super) fn new(request: &RunRequest) -> Self {
        Self {
            run_id: new_id(),
            session_id: request.session_id.clone().unwrap_or_else(new_id),
            fence: None,
        }
    }
}

/// Why a step ended the run early: `ERROR` (a check, the model),
/// `CANCELLED`, or not stored at all (the store failed).
enum Failure {
    /// A hook's check rejected the run.
    Check(CheckError),
    /// The model could not answer.
    Model(String),
    /// The store failed (reading the history): the run is not stored and
    /// the caller gets the error.
    Store(AgentError),
    /// A caller cancelled it.
    Cancelled,
}

/// A run between its steps: what the steps share, and the output being
/// made.
struct Run<'a> {
    agent: &'a Agent,
    events: Events<'a>,
    started: Instant,
    /// Whether the session existed before this run (it has history).
    stored: bool,
    /// The session row this run writes (only the state keys it changed).
    session: SessionRecord,
    cx: HookContext,
    output: RunOutput,
    /// The run's durable background hooks, stored with it.
    durable: DurableHooks,
    /// Its durable pre-hooks started at their place: each is stored with
    /// the run only if it has not finished by then.
    early: Vec<EarlyJob>,
    /// Its place among the runs under way (cancel by id).
    registered: Registered,
    /// A background run's job and attempt ([`RunIds::fence`]).
    fence: Option<JobFence>,
}

impl<'a> Run<'a> {
    /// Step 1: loads the session (a run without a session id starts a new
    /// one: nothing to load) and makes the run's context and output.
    async fn load(
        agent: &'a Agent,
        request: RunRequest,
        ids: RunIds,
        tx: Option<&'a mpsc::UnboundedSender<RunEvent>>,
    ) -> Result<Run<'a>, AgentError> {
        let started = Instant::now();
        let inner = &*agent.inner;
        let info = &inner.info;
        let RunIds {
            run_id,
            session_id,
            fence,
        } = ids;
        let ids_run_id = run_id.clone();
        let created_at = now_secs();
        let mut stored = match (&inner.db, &request.session_id) {
            (Some(db), Some(_)) => db.get_session(&session_id).await?,
            _ => None,
        };
        // Taken, not copied: the run keeps one copy of the state, shared
        // by its session, its run context and every hook's snapshot.
        let mut state = stored
            .as_mut()
            .map(|s| std::mem::take(&mut s.session_state))
            .unwrap_or_default();
        // What this run changes in the state: the store sets these keys on
        // the state as it is when the run is saved, so runs of the session
        // in flight at the same time keep each other's keys.
        let state_changes = request.session_state;
        state.extend(state_changes.iter().map(|(k, v)| (k.clone(), v.clone())));
        // Refused before the run starts when it is already too large; the
        // store checks again as it merges (runs in flight at once), with
        // the record's `max_state_bytes`.
        let limit = inner.max_session_state_bytes;
        let bytes = if state_changes.is_empty() {
            0
        } else {
            crate::db::json_len(&state)
        };
        if bytes > limit {
            return Err(DbError::StateTooLarge {
                session_id,
                bytes,
                limit,
            }
            .into());
        }
        // A session's owner never changes: a run into another user's
        // session (or without a user into an owned one) is refused before
        // anything of it runs or reads the session's history, as Agno's
        // `assert_session_writable` refuses it. The store checks again in
        // the run's own transaction (two runs racing on a new session).
        let user_id = request.user_id;
        if let Some(owner) = stored.as_ref().and_then(|s| s.user_id.as_deref())
            && user_id.as_deref() != Some(owner)
        {
            return Err(DbError::NotOwner { session_id }.into());
        }
        let session_created = stored.as_ref().map_or(created_at, |s| s.created_at);
        let state = Arc::new(state);
        let shared = RunShared {
            run_id: RunId(run_id.clone()),
            agent: info.clone(),
            session: Session {
                session_id: session_id.clone(),
                user_id: user_id.clone(),
                session_state: state.clone(),
                created_at: session_created,
            },
            run_context: RunContext {
                session_state: state,
                dependencies: request.dependencies,
                metadata: request.metadata.clone(),
            },
            user_id: UserId(user_id.clone()),
            extra: ExtraFields(request.extra),
            extensions: inner.extensions.clone(),
        };
        let cx = HookContext::new(RunInput::new(request.message), shared);
        let output = agent.new_output(
            run_id,
            session_id.clone(),
            user_id.clone(),
            RunStatus::Running,
            created_at,
        );
        let session = SessionRecord {
            session_id,
            session_type: SessionType::Agent,
            agent_id: Some(info.id.clone()),
            user_id,
            session_name: stored.as_ref().and_then(|s| s.session_name.clone()),
            session_state: state_changes,
            agent_data: Some(agent.agent_data()),
            metadata: stored
                .as_ref()
                .and_then(|s| s.metadata.clone())
                .or_else(|| (!request.metadata.is_empty()).then_some(request.metadata)),
            summary: stored.as_ref().and_then(|s| s.summary.clone()),
            // Kept by the store as runs are written.
            total_tokens: 0,
            created_at: session_created,
            updated_at: created_at,
            max_state_bytes: Some(limit),
        };
        let run = Run {
            agent,
            events: Events {
                tx,
                agent_id: &info.id,
                agent_name: info.name.as_deref(),
                run_id: cx.shared().run_id.0.clone(),
                session_id: cx.shared().session.session_id.clone(),
            },
            started,
            stored: stored.is_some(),
            session,
            cx,
            output,
            durable: DurableHooks::new(inner.durable_hooks),
            early: Vec::new(),
            registered: {
                agent.listen_for_cancels();
                inner.running.register(&ids_run_id)
            },
            fence,
        };
        run.events.emit(RunEventKind::RunStarted {
            model: inner.model.id().to_owned(),
            model_provider: inner.model.provider().to_owned(),
        });
        Ok(run)
    }

    /// Step 2: the pre-hooks, which may change the input or reject it.
    async fn pre_hooks(&mut self) -> Result<(), Failure> {
        let inner = &*self.agent.inner;
        let events = &self.events;
        let result = inner
            .dispatcher
            .run_phase_into(
                &inner.pre_hooks,
                &mut self.cx,
                self.agent.runs_hooks_in_background(),
                &mut self.durable,
                |event, cx| {
                    if events.tx.is_none() {
                        return;
                    }
                    let run_input = cx.input().clone();
                    events.emit(match event {
                        HookEvent::Started { name, .. } => RunEventKind::PreHookStarted {
                            pre_hook_name: name.to_owned(),
                            run_input,
                        },
                        HookEvent::Completed { name, .. } => RunEventKind::PreHookCompleted {
                            pre_hook_name: name.to_owned(),
                            run_input,
                        },
                    });
                },
            )
            .await;
        self.output.input = Some(self.cx.input().clone());
        // Durable pre-hooks start now, as in-memory ones do: one that is
        // done by the time the run is stored needs no row.
        if inner.db.is_some() && !self.durable.is_empty() {
            let pre = std::mem::replace(&mut self.durable, DurableHooks::new(inner.durable_hooks));
            let (early, late) = self.agent.jobs().start_early(&self.agent.host(), pre);
            self.early = early;
            self.durable = late;
        }
        result.map_err(Failure::Check)
    }

    /// Step 3: the model, given the system message, the session's recent
    /// history and the input.
    async fn model(&mut self) -> Result<ModelResponse, Failure> {
        let agent = self.agent;
        let inner = &*agent.inner;
        // Runs exist only in a stored session.
        let earlier = match (&inner.db, inner.num_history_runs, self.stored) {
            (Some(db), n @ 1.., true) => {
                let session_id = &self.cx.shared().session.session_id;
                match db.recent_runs(session_id, n).await {
                    // Only this user's runs (and those of no user, from
                    // before the session had an owner).
                    Ok(mut runs) => {
                        let user = self.cx.shared().user_id.as_deref();
                        runs.retain(|r| r.user_id.is_none() || r.user_id.as_deref() == user);
                        history(&runs)
                    }
                    Err(error) => return Err(Failure::Store(error.into())),
                }
            }
            _ => Vec::new(),
        };
        // Sized for the system, user and assistant messages: the output
        // keeps this vector, and a background post-hook keeps the output.
        let mut messages = Vec::with_capacity(earlier.len() + 3);
        if let Some(system) = &inner.system_message {
            messages.push(Message::new("system", system.clone()));
        }
        messages.extend(earlier);
        messages.push(Message {
            created_at: Some(now_secs()),
            ..Message::new("user", self.cx.input().input_content.clone())
        });
        let request = ModelRequest { messages };

        self.events.emit(RunEventKind::ModelRequestStarted {
            model: inner.model.id().to_owned(),
            model_provider: inner.model.provider().to_owned(),
        });
        let model_started = Instant::now();
        let mut first_token = None;
        let cancelled = self.registered.token.clone();
        // A cancel is looked at first on every wake-up: once asked, not
        // one more chunk of the answer goes out.
        let answer = tokio::select! {
            biased;
            () = cancelled.cancelled() => None,
            answer = async {
                if self.events.tx.is_some() {
                    agent
                        .stream_model(&request, &self.events, &mut first_token, model_started, &cancelled)
                        .await
                } else {
                    inner.model.invoke(&request).await.map(Some)
                }
            } => answer.transpose(),
        };
        let ModelRequest { mut messages } = request;
        let response = match answer {
            None => {
                self.output.messages = messages;
                return Err(Failure::Cancelled);
            }
            Some(Ok(response)) => response,
            Some(Err(error)) => {
                let error = error.to_string();
                tracing::error!(agent = %inner.info.id, run_id = %self.output.run_id, "model request failed: {}", error.escape_debug());
                self.output.messages = messages;
                return Err(Failure::Model(format!(
                    "model request failed: {}",
                    error.escape_debug()
                )));
            }
        };
        self.events.emit(RunEventKind::ModelRequestCompleted {
            model: inner.model.id().to_owned(),
            model_provider: inner.model.provider().to_owned(),
            input_tokens: response.usage.input_tokens,
            output_tokens: response.usage.output_tokens,
            duration: model_started.elapsed().as_secs_f64(),
        });
        self.events.emit(RunEventKind::RunContentCompleted {});
        messages.push(Message {
            created_at: Some(now_secs()),
            ..Message::new("assistant", response.content.clone())
        });
        self.output.messages = messages;
        self.output.metrics = Some(Metrics {
            input_tokens: response.usage.input_tokens,
            output_tokens: response.usage.output_tokens,
            total_tokens: response.usage.total_tokens(),
            duration: None,
            time_to_first_token: first_token,
        });
        Ok(response)
    }

    /// Between steps: whether a caller cancelled the run.
    fn check_cancelled(&self) -> Result<(), Failure> {
        if self.registered.token.is_cancelled() {
            Err(Failure::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Step 4: the post-hooks, on the model's answer; they may change the
    /// output or reject it.
    async fn post_hooks(&mut self, answer: ModelResponse) -> Result<(), Failure> {
        let inner = &*self.agent.inner;
        let events = &self.events;
        let mut output = std::mem::take(&mut self.output);
        output.content = Some(answer.content);
        self.cx.enter_post(output);
        let result = inner
            .dispatcher
            .run_phase_into(
                &inner.post_hooks,
                &mut self.cx,
                self.agent.runs_hooks_in_background(),
                &mut self.durable,
                |event, _| {
                    events.emit(match event {
                        HookEvent::Started { name, .. } => RunEventKind::PostHookStarted {
                            post_hook_name: name.to_owned(),
                        },
                        HookEvent::Completed { name, .. } => RunEventKind::PostHookCompleted {
                            post_hook_name: name.to_owned(),
                        },
                    });
                },
            )
            .await;
        self.output = self.cx.take_output().unwrap_or_default();
        result.map_err(Failure::Check)
    }

    /// Step 5, the only way a run ends: sets its status, stores it with
    /// its durable jobs in one transaction, starts those jobs, and tells
    /// the stream.
    async fn finish(mut self, outcome: Result<(), Failure>) -> Result<RunOutput, AgentError> {
        let duration = Some(self.started.elapsed().as_secs_f64());
        match &outcome {
            Err(Failure::Store(_)) => {}
            Ok(()) => self.output.status = RunStatus::Completed,
            Err(Failure::Check(check)) => {
                self.output.status = RunStatus::Error;
                self.output.content = Some(check.message.clone());
            }
            Err(Failure::Model(message)) => {
                self.output.status = RunStatus::Error;
                self.output.content = Some(message.clone());
            }
            Err(Failure::Cancelled) => {
                self.output.status = RunStatus::Cancelled;
                if self.output.content.is_none() {
                    self.output.content = Some(format!("Run {} was cancelled", self.output.run_id));
                }
            }
        }
        self.output
            .metrics
            .get_or_insert_with(Metrics::default)
            .duration = duration;
        if let Err(Failure::Store(error)) = outcome {
            return Err(error);
        }
        self.store().await?;
        match outcome {
            Err(Failure::Store(_)) => {}
            Ok(()) => self.events.emit(events::completed(&self.output)),
            Err(Failure::Check(check)) => {
                self.events
                    .error(&check.message, check.kind.error_type(), Some(&check))
            }
            Err(Failure::Model(message)) => self.events.error(&message, "model_error", None),
            Err(Failure::Cancelled) => {
                tracing::info!(run_id = %self.output.run_id, "run cancelled");
                self.events.emit(RunEventKind::RunCancelled {
                    reason: self.output.content.clone().unwrap_or_default(),
                })
            }
        }
        Ok(self.output)
    }

    /// Stores the run, and its durable jobs in the same transaction; the
    /// jobs start once it is committed.
    async fn store(&mut self) -> Result<(), AgentError> {
        let agent = self.agent;
        let Some(db) = &agent.inner.db else {
            return Ok(());
        };
        let session = std::mem::take(&mut self.session);
        let durable = std::mem::take(&mut self.durable);
        let early = std::mem::take(&mut self.early);
        let fence = self.fence.take();
        if durable.is_empty() && early.is_empty() {
            return Ok(db
                .save_run_with_jobs(session, &self.output, Vec::new(), fence)
                .await?);
        }
        let jobs = agent.jobs();
        let mut prepared = jobs.prepare(agent.id(), durable, early, &self.output)?;
        db.save_run_with_jobs(session, &self.output, prepared.take_rows(), fence)
            .await?;
        jobs.launch(&agent.host(), prepared);
        Ok(())
    }
}
#[cfg(test)]
mod tests {
    use super::new_id;

    #[test]
    fn ids_are_version_7_uuids_that_sort_in_the_order_made() {
        let ids: Vec<String> = (0..1_000).map(|_| new_id()).collect();
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 7, "{id}");
            assert_eq!(id.len(), 36);
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids out of order");
    }
}
