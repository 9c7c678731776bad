//! A run, step by step: load (the session, its owner, its state), the
//! pre-hooks, the model, the post-hooks, and finish (the one place a run
//! ends: its status, its store write with its durable jobs, its last
//! event).

use std::sync::Arc;
use std::time::Instant;

use hooks_core::{
    CheckError, DurableHooks, ExtraFields, HookContext, HookEvent, Identity, Metrics, RunContext,
    RunId, RunInput, RunOutput, RunShared, RunStatus, Session, UserId,
};
use tokio::sync::mpsc;

use super::cancel::Registered;
use super::events::{self, Events, RunEvent, RunEventKind};
use super::ids::RunIds;
use super::trace::RunTrace;
use super::{Agent, AgentError, RunRequest};
use crate::clock::now_secs;
use crate::db::{DbError, JobFence, SessionRecord, SessionType};
use crate::jobs::EarlyJob;
use crate::model::ModelResponse;

/// Why a step ended the run early: `ERROR` (a check, the model),
/// `CANCELLED`, or not stored at all (the store failed).
pub(super) enum Failure {
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
pub(super) struct Run<'a> {
    pub(super) agent: &'a Agent,
    pub(super) events: Events<'a>,
    pub(super) started: Instant,
    /// Whether the session existed before this run (it has history).
    pub(super) stored: bool,
    /// The session row this run writes (only the state keys it changed).
    pub(super) session: SessionRecord,
    pub(super) cx: HookContext,
    pub(super) output: RunOutput,
    /// The run's durable background hooks, stored with it.
    pub(super) durable: DurableHooks,
    /// Its durable pre-hooks started at their place: each is stored with
    /// the run only if it has not finished by then.
    pub(super) early: Vec<EarlyJob>,
    /// Its place among the runs under way (cancel by id).
    pub(super) registered: Registered,
    /// A background run's job and attempt ([`RunIds::fence`]).
    pub(super) fence: Option<JobFence>,
    /// Its trace, when the agent stores them (`AgentOS` with tracing on).
    pub(super) trace: Option<RunTrace>,
}

impl<'a> Run<'a> {
    /// Step 1: loads the session (a run without a session id starts a new
    /// one: nothing to load) and makes the run's context and output.
    pub(super) async fn load(
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
            identity: Arc::new(
                request
                    .identity
                    .unwrap_or_else(|| Identity::unverified(user_id.clone())),
            ),
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
        let run_user = user_id.clone();
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
        let trace = inner.traces.as_ref().map(|writer| {
            RunTrace::start(
                writer.clone(),
                &info.id,
                info.name.as_deref(),
                &ids_run_id,
                &cx.shared().session.session_id,
                cx.shared().user_id.as_deref(),
                &cx.input().input_content,
            )
        });
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
                inner.running.register(&ids_run_id, run_user)
            },
            fence,
            trace,
        };
        run.events.emit(RunEventKind::RunStarted {
            model: inner.model.id().to_owned(),
            model_provider: inner.model.provider().to_owned(),
        });
        Ok(run)
    }

    /// Step 2: the pre-hooks, which may change the input or reject it.
    pub(super) async fn pre_hooks(&mut self) -> Result<(), Failure> {
        let inner = &*self.agent.inner;
        let events = &self.events;
        let trace = &mut self.trace;
        let result = inner
            .dispatcher
            .run_phase_into(
                &inner.pre_hooks,
                &mut self.cx,
                self.agent.runs_hooks_in_background(),
                &mut self.durable,
                |event, cx| {
                    if let Some(trace) = trace.as_mut() {
                        match event {
                            HookEvent::Started { name, phase } => trace.hook_started(name, phase),
                            HookEvent::Completed { name, phase } => {
                                trace.hook_completed(name, phase)
                            }
                        }
                    }
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

    /// Between steps: whether a caller cancelled the run.
    pub(super) fn check_cancelled(&self) -> Result<(), Failure> {
        if self.registered.token.is_cancelled() {
            Err(Failure::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Step 4: the post-hooks, on the model's answer; they may change the
    /// output or reject it.
    pub(super) async fn post_hooks(&mut self, answer: ModelResponse) -> Result<(), Failure> {
        let inner = &*self.agent.inner;
        let events = &self.events;
        let trace = &mut self.trace;
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
                    if let Some(trace) = trace.as_mut() {
                        match event {
                            HookEvent::Started { name, phase } => trace.hook_started(name, phase),
                            HookEvent::Completed { name, phase } => {
                                trace.hook_completed(name, phase)
                            }
                        }
                    }
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
    pub(super) async fn finish(
        mut self,
        outcome: Result<(), Failure>,
    ) -> Result<RunOutput, AgentError> {
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
        let stored = match &outcome {
            Err(Failure::Store(_)) => Ok(()),
            _ => self.store().await,
        };
        if let Some(trace) = self.trace.take() {
            trace.finish(&self.output);
        }
        if let Some(metrics) = &self.agent.inner.metrics {
            // A run its store could not take is an error, whatever it was.
            let failed = stored.is_err() || matches!(outcome, Err(Failure::Store(_)));
            let status = if failed {
                RunStatus::Error
            } else {
                self.output.status
            };
            metrics.run(status, self.started.elapsed());
        }
        if let Err(Failure::Store(error)) = outcome {
            return Err(error);
        }
        stored?;
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
