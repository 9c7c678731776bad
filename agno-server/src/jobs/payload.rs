//! A durable hook's payload: the hook's name and the run as the hook saw
//! it at its position in its phase, as JSON in `agno_jobs.payload`.
//!
//! The run's input and output are not copied when they are the run as
//! stored in the same transaction (the usual case: a background post-hook
//! at the end of the list sees the run's final output): the payload says
//! so (`input_is_run`, `output_is_run`) and the restore reads the run back.
//! A payload is then a few hundred bytes instead of a second copy of the
//! run, which is what a job costs the store's writer (BENCHMARKS.md).
//!
//! Everything a hook's arguments are drawn from is here ([`HookArgs`]
//! minus the agent's extensions, which the agent that runs the job
//! provides), so every argument type, the built-in ones and a program's
//! own [`FromHookArgs`] impls, is extracted from a restored snapshot
//! exactly as from a live one: no hook needs refusing for it.
//!
//! [`HookArgs`]: hooks_core::HookArgs
//! [`FromHookArgs`]: hooks_core::FromHookArgs

use std::sync::Arc;

use hooks_core::{
    AgentInfo, ExtraFields, HookContext, Identity, Phase, RunContext, RunId, RunInput, RunOutput,
    RunShared, RunStatus, Session, ToolCall, ToolResult, UserId,
};
use serde::{Deserialize, Serialize};

type Object = serde_json::Map<String, serde_json::Value>;

/// The payload, borrowed from a live snapshot for writing. Empty maps are
/// left out, and the session's state is written once (the run's context
/// shares it); the agent is not written: the agent that runs the job
/// provides what hooks see of it (its id is the job's `component_id`).
#[derive(Serialize)]
struct PayloadRef<'a> {
    hook: &'a str,
    phase: &'static str,
    run_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<&'a RunInput>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    input_is_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<&'a RunOutput>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    output_is_run: bool,
    session_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_user_id: Option<&'a str>,
    session_created_at: i64,
    #[serde(skip_serializing_if = "Object::is_empty")]
    state: &'a Object,
    /// The run context's state, only when it is not the session's.
    #[serde(skip_serializing_if = "Option::is_none")]
    context_state: Option<&'a Object>,
    #[serde(skip_serializing_if = "Object::is_empty")]
    dependencies: &'a Object,
    #[serde(skip_serializing_if = "Object::is_empty")]
    metadata: &'a Object,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Object::is_empty")]
    extra: &'a Object,
    /// Only a verified identity: an unverified one is `user_id` again.
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<&'a Identity>,
    /// The run's trace context (`traceparent`), with the `otlp` feature:
    /// the attempt's span links to the run's (`telemetry::context`).
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_parent: Option<String>,
    /// A tool hook's call (and, after it, its result).
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call: Option<&'a ToolCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_result: Option<&'a ToolResult>,
}

/// The payload, read back.
#[derive(Debug, Deserialize)]
pub(crate) struct HookPayload {
    /// The hook's registry name.
    pub(crate) hook: String,
    phase: String,
    run_id: String,
    #[serde(default)]
    input: Option<RunInput>,
    #[serde(default)]
    input_is_run: bool,
    #[serde(default)]
    output: Option<RunOutput>,
    #[serde(default)]
    output_is_run: bool,
    session_id: String,
    #[serde(default)]
    session_user_id: Option<String>,
    session_created_at: i64,
    #[serde(default)]
    state: Object,
    #[serde(default)]
    context_state: Option<Object>,
    #[serde(default)]
    dependencies: Object,
    #[serde(default)]
    metadata: Object,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    extra: Object,
    #[serde(default)]
    identity: Option<Identity>,
    #[serde(default)]
    trace_parent: Option<String>,
    #[serde(default)]
    tool_call: Option<ToolCall>,
    #[serde(default)]
    tool_result: Option<ToolResult>,
}

/// A payload written: its JSON, and whether it refers to its run as
/// stored (the job then names the run: [`NewJob::run_id`]).
///
/// [`NewJob::run_id`]: crate::db::NewJob::run_id
pub(crate) struct Written {
    /// The JSON.
    pub(crate) json: String,
    /// Whether it reads its run back.
    pub(crate) reads_run: bool,
}

/// The JSON payload of `hook` at `snapshot`, for a run stored as `run` in
/// the same transaction.
pub(crate) fn write(
    hook: &str,
    snapshot: &HookContext,
    run: &RunOutput,
) -> Result<Written, serde_json::Error> {
    let shared = snapshot.shared();
    let input_is_run = run.input.as_ref() == Some(snapshot.input());
    let output_is_run = snapshot.output().is_some_and(|o| is_stored_run(o, run));
    let context = &shared.run_context;
    let json = serde_json::to_string(&PayloadRef {
        hook,
        phase: snapshot.phase().as_str(),
        run_id: &shared.run_id.0,
        input: (!input_is_run).then(|| snapshot.input()),
        input_is_run,
        output: if output_is_run {
            None
        } else {
            snapshot.output()
        },
        output_is_run,
        session_id: &shared.session.session_id,
        session_user_id: shared.session.user_id.as_deref(),
        session_created_at: shared.session.created_at,
        state: &shared.session.session_state,
        context_state: (!Arc::ptr_eq(&context.session_state, &shared.session.session_state))
            .then_some(&*context.session_state),
        dependencies: &context.dependencies,
        metadata: &context.metadata,
        user_id: shared.user_id.as_deref(),
        extra: &shared.extra.0,
        identity: shared.identity.verified.then_some(&*shared.identity),
        // Written within the run's span.
        trace_parent: crate::telemetry::context::current(),
        tool_call: snapshot.tool_call(),
        tool_result: snapshot.tool_result(),
    })?;
    Ok(Written {
        json,
        reads_run: input_is_run || output_is_run,
    })
}

/// Whether `seen` (a post-hook's snapshot) is `run` (as stored) but for
/// what ending the run adds: the status and the duration. Only a completed
/// run qualifies (an ended run's content may be a check's message).
fn is_stored_run(seen: &RunOutput, run: &RunOutput) -> bool {
    let RunOutput {
        run_id,
        agent_id,
        agent_name,
        session_id,
        user_id,
        input,
        content,
        content_type,
        model,
        model_provider,
        messages,
        tools,
        metrics,
        status,
        created_at,
    } = seen;
    let same_metrics = match (metrics, &run.metrics) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.input_tokens == b.input_tokens
                && a.output_tokens == b.output_tokens
                && a.total_tokens == b.total_tokens
                && a.time_to_first_token == b.time_to_first_token
                && a.duration.is_none()
        }
        _ => false,
    };
    run.status == RunStatus::Completed
        && *status == RunStatus::Running
        && same_metrics
        && *run_id == run.run_id
        && *agent_id == run.agent_id
        && *agent_name == run.agent_name
        && *session_id == run.session_id
        && *user_id == run.user_id
        && *input == run.input
        && *content == run.content
        && *content_type == run.content_type
        && *model == run.model
        && *model_provider == run.model_provider
        && *messages == run.messages
        && *tools == run.tools
        && *created_at == run.created_at
}

impl HookPayload {
    /// Reads a payload.
    pub(crate) fn read(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("the job's payload cannot be read: {e}"))
    }

    /// The run id, when the payload needs its run read back
    /// ([`HookPayload::restore`] then wants it).
    pub(crate) fn needs_run(&self) -> Option<&str> {
        (self.input_is_run || self.output_is_run).then_some(self.run_id.as_str())
    }

    /// The trace context of the run that made the job, when it was kept.
    pub(crate) fn trace_parent(&self) -> Option<&str> {
        self.trace_parent.as_deref()
    }

    /// The snapshot, rebuilt, with the extensions of the agent that runs
    /// it and, when [`HookPayload::needs_run`], the run as stored.
    pub(crate) fn restore(
        self,
        agent: Arc<AgentInfo>,
        extensions: Arc<hooks_core::Extensions>,
        run: Option<RunOutput>,
    ) -> Result<HookContext, String> {
        let Some(phase) = Phase::from_name(&self.phase) else {
            return Err(format!(
                "the job's payload names an unknown phase {:?}",
                self.phase
            ));
        };
        let gone = || format!("the job's run {} is no longer stored", self.run_id);
        let input = match (self.input, self.input_is_run) {
            (Some(input), _) => input,
            (None, true) => run
                .as_ref()
                .and_then(|r| r.input.clone())
                .ok_or_else(gone)?,
            (None, false) => return Err("the job's payload has no input".to_owned()),
        };
        let output = match (self.output, self.output_is_run) {
            (Some(output), _) => Some(output),
            (None, true) => Some(as_seen(run.ok_or_else(gone)?)),
            (None, false) => None,
        };
        let state = Arc::new(self.state);
        let shared = RunShared {
            run_id: RunId(self.run_id),
            agent,
            session: Session {
                session_id: self.session_id,
                user_id: self.session_user_id,
                session_state: state.clone(),
                created_at: self.session_created_at,
            },
            run_context: RunContext {
                session_state: self.context_state.map_or(state, Arc::new),
                dependencies: self.dependencies,
                metadata: self.metadata,
            },
            identity: Arc::new(
                self.identity
                    .unwrap_or_else(|| Identity::unverified(self.user_id.clone())),
            ),
            user_id: UserId(self.user_id),
            extra: ExtraFields(self.extra),
            extensions,
        };
        let cx = HookContext::restore(phase, input, output, shared);
        Ok(match (phase, self.tool_call, self.tool_result) {
            (Phase::Tool, Some(call), _) => cx.before_tool_call(call),
            (Phase::ToolPost, Some(call), Some(result)) => cx.after_tool_call(call, result, None),
            (Phase::Tool | Phase::ToolPost, ..) => {
                return Err("the job's payload has no tool call".to_owned());
            }
            (Phase::Pre | Phase::Post, ..) => cx,
        })
    }
}

/// The stored run as a post-hook saw it: before it was ended.
fn as_seen(mut run: RunOutput) -> RunOutput {
    run.status = RunStatus::Running;
    if let Some(metrics) = &mut run.metrics {
        metrics.duration = None;
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_survives_the_round_trip() {
        let shared = RunShared {
            run_id: RunId("run-1".into()),
            agent: Arc::new(AgentInfo {
                id: "a".into(),
                name: Some("A".into()),
                ..AgentInfo::default()
            }),
            session: Session {
                session_id: "s".into(),
                user_id: Some("u".into()),
                session_state: Arc::new(
                    serde_json::json!({"k": [1, 2]})
                        .as_object()
                        .unwrap()
                        .clone(),
                ),
                created_at: 7,
            },
            run_context: RunContext::default(),
            user_id: UserId(Some("u".into())),
            extra: ExtraFields(serde_json::json!({"x": 1}).as_object().unwrap().clone()),
            extensions: Default::default(),
            identity: Arc::new(Identity {
                user_id: Some("u".into()),
                verified: true,
                scopes: vec!["agents:run".into()],
                admin: false,
            }),
        };
        let mut cx = HookContext::new(RunInput::new("hi"), shared.clone());
        cx.enter_post(RunOutput {
            run_id: "run-1".into(),
            content: Some("hello".into()),
            ..RunOutput::default()
        });
        // Not the stored run: copied.
        let written = write("notify", &cx, &RunOutput::default()).unwrap();
        assert!(!written.reads_run);
        let json = written.json;
        let payload = HookPayload::read(&json).unwrap();
        assert_eq!(payload.hook, "notify");
        assert!(payload.needs_run().is_none());
        let back = payload
            .restore(shared.agent.clone(), Default::default(), None)
            .unwrap();
        assert_eq!(back.phase(), Phase::Post);
        assert_eq!(back.input(), cx.input());
        assert_eq!(back.output(), cx.output());
        assert_eq!(back.shared().session, shared.session);
        assert_eq!(back.shared().agent, shared.agent);
        assert_eq!(back.shared().extra, shared.extra);
        assert_eq!(back.shared().user_id, shared.user_id);
        assert_eq!(
            back.shared().identity,
            shared.identity,
            "a verified identity is kept"
        );

        // The stored run, completed: referred to, and read back as seen.
        let mut stored = cx.output().unwrap().clone();
        stored.input = Some(cx.input().clone());
        cx.output_mut().unwrap().input = stored.input.clone();
        stored.status = RunStatus::Completed;
        let written = write("notify", &cx, &stored).unwrap();
        assert!(written.reads_run);
        let json = written.json;
        assert!(!json.contains("hello"), "the output is not copied: {json}");
        let payload = HookPayload::read(&json).unwrap();
        assert_eq!(payload.needs_run(), Some("run-1"));
        let back = payload
            .restore(
                shared.agent.clone(),
                Default::default(),
                Some(stored.clone()),
            )
            .unwrap();
        assert_eq!(back.output(), cx.output());
        assert_eq!(back.input(), cx.input());

        assert_eq!(back.shared().session, shared.session);
    }
}
