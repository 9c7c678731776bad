//! Step 3, the model: the system message, the session's recent history
//! and the input, sent with the agent's tools. A turn that calls tools
//! runs them ([`tool_calls`](super::tool_calls)) and calls the model again
//! with their results, until it answers, a tool ends the run
//! (`stop_after_tool_call`), or a caller cancels it. The run's content is
//! the text of every turn, joined (as Agno's), and any result a tool
//! shows.

use std::time::Instant;

use futures_util::StreamExt;
use hooks_core::{Message, Metrics};
use tracing::Instrument;

use super::Agent;
use super::events::{Events, RunEventKind, TEXT};
use super::prompt::history;
use super::steps::{Failure, Run};
use super::tool_calls::{Turn, TurnContext, run_turn};
use super::trace::RunTrace;
use crate::clock::now_secs;
use crate::model::{ModelError, ModelRequest, ModelResponse, ModelStreamEvent, Usage};
use crate::telemetry::ModelOutcome;

impl Run<'_> {
    /// Step 3: the model (and the tools it calls), given the system
    /// message, the session's recent history and the input.
    pub(super) async fn model(&mut self) -> Result<ModelResponse, Failure> {
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
        let mut request = ModelRequest {
            messages,
            tools: inner.tools.definitions().to_vec(),
        };
        let started = Instant::now();
        let mut first_token = None;
        let mut usage = Usage::default();
        let mut content = String::new();
        let mut calls_made = 0;
        let ended = loop {
            let response = match self.call_model(&request, &mut first_token, started).await {
                Ok(response) => response,
                Err(failure) => break Err(failure),
            };
            usage.input_tokens += response.usage.input_tokens;
            usage.output_tokens += response.usage.output_tokens;
            content.push_str(&response.content);
            let calls = response.tool_calls;
            request.messages.push(Message {
                created_at: Some(now_secs()),
                tool_calls: calls.clone(),
                ..Message::new("assistant", response.content)
            });
            if calls.is_empty() {
                break Ok(());
            }
            let turn = run_turn(
                &inner.tools,
                &calls,
                &mut calls_made,
                TurnContext {
                    dispatcher: &inner.dispatcher,
                    options: hooks_core::ToolCallOptions {
                        run_hooks_in_background: agent.runs_hooks_in_background(),
                        timeout: inner.tools.timeout(),
                    },
                    cx: &self.cx,
                },
                &self.events,
                &mut self.output.tools,
            );
            // A cancel reaches a running tool: its call is dropped.
            let turn = tokio::select! {
                biased;
                () = self.registered.token.cancelled() => None,
                turn = turn => Some(turn),
            };
            let Some(mut turn) = turn else {
                break Err(Failure::Cancelled);
            };
            if let Err(failure) = self.after_tools(&mut turn).await {
                break Err(failure);
            }
            request.messages.extend(turn.messages);
            for shown in turn.shown {
                content.push_str(&shown);
            }
            if turn.stop {
                break Ok(());
            }
        };
        self.output.messages = request.messages;
        self.output.metrics = Some(Metrics {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            total_tokens: usage.total_tokens(),
            duration: None,
            time_to_first_token: first_token,
        });
        ended?;
        self.events.emit(RunEventKind::RunContentCompleted {});
        Ok(ModelResponse {
            content,
            tool_calls: Vec::new(),
            usage,
        })
    }

    /// After a turn's calls: their background tool hooks handed off (the
    /// durable ones kept with the run), their post-tool hooks run in call
    /// order; a check error from any tool hook fails the run.
    async fn after_tools(&mut self, turn: &mut Turn) -> Result<(), Failure> {
        let agent = self.agent;
        let dispatcher = &agent.inner.dispatcher;
        let global = agent.runs_hooks_in_background();
        dispatcher
            .hand_off_all(std::mem::take(&mut turn.background), &mut self.durable)
            .await;
        if let Some(check) = turn.refused.take() {
            return Err(Failure::Check(check));
        }
        for (hooks, mut cx) in std::mem::take(&mut turn.after) {
            dispatcher
                .run_phase_into(&hooks, &mut cx, global, &mut self.durable, |_, _| {})
                .await
                .map_err(Failure::Check)?;
        }
        Ok(())
    }

    /// One call of the model, streamed when the run streams; a cancel is
    /// looked at first on every wake-up, so once asked, not one more chunk
    /// of the answer goes out.
    async fn call_model(
        &mut self,
        request: &ModelRequest,
        first_token: &mut Option<f64>,
        run_started: Instant,
    ) -> Result<ModelResponse, Failure> {
        let agent = self.agent;
        let inner = &*agent.inner;
        self.events.emit(RunEventKind::ModelRequestStarted {
            model: inner.model.id().to_owned(),
            model_provider: inner.model.provider().to_owned(),
        });
        let model_started = Instant::now();
        let traced_at = self.trace.as_ref().map(|_| RunTrace::now());
        let cancelled = self.registered.token.clone();
        // OpenTelemetry's GenAI names: exported as they are (feature
        // `otlp`).
        let call = tracing::info_span!(
            "model_call",
            gen_ai.request.model = inner.model.id(),
            gen_ai.system = inner.model.provider(),
        );
        let answer = tokio::select! {
            biased;
            () = cancelled.cancelled() => None,
            answer = async {
                if self.events.tx.is_some() {
                    stream_model(agent, request, &self.events, first_token, run_started, &cancelled)
                        .await
                } else {
                    inner.model.invoke(request).await.map(Some)
                }
            }.instrument(call) => answer.transpose(),
        };
        if let (Some(trace), Some(start)) = (self.trace.as_mut(), traced_at) {
            let input = serde_json::json!({ "messages": request.messages });
            let (output, tokens, error) = match &answer {
                Some(Ok(r)) => (
                    Some(r.content.as_str()),
                    Some((r.usage.input_tokens, r.usage.output_tokens)),
                    None,
                ),
                Some(Err(e)) => (None, None, Some(e.to_string())),
                None => (None, None, Some("cancelled".to_owned())),
            };
            trace.model_call(
                start,
                inner.model.id(),
                inner.model.provider(),
                input,
                output,
                tokens,
                error,
            );
        }
        if let Some(metrics) = &inner.metrics {
            let outcome = match &answer {
                None => ModelOutcome::Cancelled,
                Some(Ok(response)) => {
                    metrics.tokens(response.usage.input_tokens, response.usage.output_tokens);
                    ModelOutcome::Ok
                }
                Some(Err(_)) => ModelOutcome::Error,
            };
            metrics.model_call(outcome, model_started.elapsed());
        }
        let response = match answer {
            None => return Err(Failure::Cancelled),
            Some(Ok(response)) => response,
            Some(Err(error)) => {
                let error = error.to_string();
                tracing::error!(agent = %inner.info.id, run_id = %self.output.run_id, "model request failed: {}", error.escape_debug());
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
        Ok(response)
    }
}

/// Calls the model streaming, emitting `RunContent` for each delta;
/// `None` when `cancelled` came between two chunks (none is emitted
/// after it).
async fn stream_model(
    agent: &Agent,
    request: &ModelRequest,
    events: &Events<'_>,
    first_token: &mut Option<f64>,
    run_started: Instant,
    cancelled: &tokio_util::sync::CancellationToken,
) -> Result<Option<ModelResponse>, ModelError> {
    let mut stream = agent.inner.model.invoke_stream(request);
    let mut streamed = 0;
    while let Some(event) = stream.next().await {
        if cancelled.is_cancelled() {
            return Ok(None);
        }
        match event? {
            ModelStreamEvent::Delta(delta) => {
                if first_token.is_none() {
                    *first_token = Some(run_started.elapsed().as_secs_f64());
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
