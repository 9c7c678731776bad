//! The data of one run that hooks draw their arguments from.

use std::sync::Arc;

use crate::tool_hooks::ToolState;
use crate::{
    AgentInfo, Extensions, ExtraFields, Identity, Job, Phase, RunContext, RunId, RunInput,
    RunOutput, Session, ToolCall, ToolMeta, ToolResult, UserId,
};

/// What does not change while the hooks of a run execute: shared by every
/// hook of the run and by every background snapshot without copying.
#[derive(Debug, Clone, Default)]
pub struct RunShared {
    /// The run's id.
    pub run_id: RunId,
    /// The agent.
    pub agent: Arc<AgentInfo>,
    /// The session as loaded before the run.
    pub session: Session,
    /// State, dependencies and metadata.
    pub run_context: RunContext,
    /// The user.
    pub user_id: UserId,
    /// Who the run is for, and whether a verified token said so.
    pub identity: Arc<Identity>,
    /// Unknown request fields.
    pub extra: ExtraFields,
    /// Values the program registered for its own argument types.
    pub extensions: Arc<Extensions>,
}

/// The run as the hooks of one phase see it.
///
/// Cloning is cheap (three reference counts): the input and output are
/// copied on write, only when an inline hook changes them while a
/// background snapshot still holds the old value.
#[derive(Debug, Clone)]
pub struct HookContext {
    phase: Phase,
    input: Arc<RunInput>,
    output: Option<Arc<RunOutput>>,
    shared: Arc<RunShared>,
    /// The durable job this context is run as, if any.
    job: Option<Arc<Job>>,
    /// In the tool phases: the call (and, after it, its result).
    tool: Option<Arc<ToolState>>,
}

/// The bytes a JSON value holds, roughly: its strings and keys, and a
/// word for each value.
fn json_bytes(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    8 + match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(json_bytes).sum(),
        Value::Object(map) => map.iter().map(|(k, v)| k.len() + json_bytes(v)).sum(),
        _ => 0,
    }
}

fn map_bytes(map: &serde_json::Map<String, serde_json::Value>) -> usize {
    map.iter().map(|(k, v)| k.len() + json_bytes(v)).sum()
}

impl HookContext {
    /// Roughly how many bytes of run data this context holds: the input,
    /// the output (content and messages), the state, dependencies,
    /// metadata and extra fields; what a pending background hook keeps
    /// alive. Walks the JSON values (no serialisation); the fixed-size
    /// parts are left out.
    pub fn approx_bytes(&self) -> usize {
        let output = self.output.as_deref().map_or(0, |o| {
            o.content.as_ref().map_or(0, String::len)
                + o.messages
                    .iter()
                    .map(|m| m.role.len() + m.content.as_ref().map_or(0, String::len))
                    .sum::<usize>()
                + o.input.as_ref().map_or(0, |i| i.input_content.len())
        });
        let shared = &*self.shared;
        let context = &shared.run_context;
        // The session's state is usually the run context's (one Arc).
        let session_state = if Arc::ptr_eq(&shared.session.session_state, &context.session_state) {
            0
        } else {
            map_bytes(&shared.session.session_state)
        };
        self.input.input_content.len()
            + output
            + map_bytes(&context.session_state)
            + session_state
            + map_bytes(&context.dependencies)
            + map_bytes(&context.metadata)
            + map_bytes(&shared.extra.0)
    }

    /// A context for the pre-hooks of a run.
    pub fn new(input: RunInput, shared: RunShared) -> Self {
        Self {
            phase: Phase::Pre,
            input: Arc::new(input),
            output: None,
            shared: Arc::new(shared),
            job: None,
            tool: None,
        }
    }

    /// A context rebuilt from its parts (a durable job's snapshot, read
    /// back from a store): `output` is `Some` in the post phase.
    pub fn restore(
        phase: Phase,
        input: RunInput,
        output: Option<RunOutput>,
        shared: RunShared,
    ) -> Self {
        Self {
            phase,
            input: Arc::new(input),
            output: output.map(Arc::new),
            shared: Arc::new(shared),
            job: None,
            tool: None,
        }
    }

    /// This context, run as the durable job `job` (hooks that take a
    /// [`Job`] argument read it).
    pub fn with_job(mut self, job: Job) -> Self {
        self.job = Some(Arc::new(job));
        self
    }

    /// The durable job this context is run as, if any.
    pub fn job(&self) -> Option<&Job> {
        self.job.as_deref()
    }

    /// This context in a tool phase: `Phase::Tool` for `call` (with the
    /// chain that runs it), `Phase::ToolPost` once `result` is known.
    pub(crate) fn with_tool(&self, phase: Phase, state: ToolState) -> HookContext {
        HookContext {
            phase,
            input: self.input.clone(),
            output: None,
            shared: self.shared.clone(),
            job: None,
            tool: Some(Arc::new(state)),
        }
    }

    /// This context after a tool call: post-tool hooks see `call`, its
    /// `result` and the tool's `meta`.
    pub fn after_tool_call(
        &self,
        call: ToolCall,
        result: ToolResult,
        meta: Option<&'static ToolMeta>,
    ) -> HookContext {
        self.with_tool(Phase::ToolPost, ToolState::after(call, result, meta))
    }

    /// This context before a tool call, without the chain that runs it (a
    /// background tool hook's snapshot, read back from a store).
    pub fn before_tool_call(&self, call: ToolCall) -> HookContext {
        self.with_tool(Phase::Tool, ToolState::before(call))
    }

    /// The tool call, in the tool phases.
    pub fn tool_call(&self) -> Option<&ToolCall> {
        self.tool.as_deref().map(|t| &t.call)
    }

    /// The tool call's result, in the post-tool phase.
    pub fn tool_result(&self) -> Option<&ToolResult> {
        self.tool.as_deref().and_then(|t| t.result.as_ref())
    }

    /// Keeps `answer` as the tool call's answer (a tool hook that decided
    /// the call); outside a tool phase there is no call, and nothing kept.
    pub(crate) fn answer_tool_call(&mut self, answer: String) {
        if let Some(state) = self.tool.as_mut() {
            Arc::make_mut(state).answer = Some(answer);
        }
    }

    /// The tool state, taken out (the chain reads what the hook did).
    pub(crate) fn take_tool(&mut self) -> Option<ToolState> {
        self.tool.take().map(Arc::unwrap_or_clone)
    }

    /// Moves to the post-hook phase with the model's `output`.
    pub fn enter_post(&mut self, output: RunOutput) {
        self.phase = Phase::Post;
        self.output = Some(Arc::new(output));
    }

    /// The phase the context is in.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The run input (as changed by the hooks so far).
    pub fn input(&self) -> &RunInput {
        &self.input
    }

    /// The run input, for changing it (copied first if a background hook
    /// still holds the current one).
    pub fn input_mut(&mut self) -> &mut RunInput {
        Arc::make_mut(&mut self.input)
    }

    /// The run output, in the post phase.
    pub fn output(&self) -> Option<&RunOutput> {
        self.output.as_deref()
    }

    /// The run output for changing it, in the post phase.
    pub fn output_mut(&mut self) -> Option<&mut RunOutput> {
        self.output.as_mut().map(Arc::make_mut)
    }

    /// What does not change during the run.
    pub fn shared(&self) -> &RunShared {
        &self.shared
    }

    /// What does not change during the run, as the shared handle.
    pub(crate) fn shared_arc(&self) -> &Arc<RunShared> {
        &self.shared
    }

    /// Takes the input out (without copying unless a snapshot holds it).
    pub fn take_input(&mut self) -> RunInput {
        let input = std::mem::take(&mut self.input);
        Arc::unwrap_or_clone(input)
    }

    /// Takes the output out, leaving none.
    pub fn take_output(&mut self) -> Option<RunOutput> {
        self.output.take().map(Arc::unwrap_or_clone)
    }

    /// Every argument readable by shared reference.
    pub fn args(&self) -> HookArgs<'_> {
        HookArgs {
            phase: self.phase,
            input: Some(&self.input),
            output: self.output.as_deref(),
            shared: &self.shared,
            job: self.job.as_deref(),
            tool: self.tool.as_deref(),
        }
    }

    /// `&mut ToolCall` plus every other argument, in the tool phases.
    pub fn split_tool_call_mut(&mut self) -> Option<(&mut ToolCall, HookArgs<'_>)> {
        let state = Arc::make_mut(self.tool.as_mut()?);
        let args = HookArgs {
            phase: self.phase,
            input: Some(&self.input),
            output: self.output.as_deref(),
            shared: &self.shared,
            job: self.job.as_deref(),
            tool: None,
        };
        Some((&mut state.call, args))
    }

    /// `&mut RunInput` plus every other argument (the view then has no
    /// input: taking `&RunInput` too is a duplicate argument).
    pub fn split_input_mut(&mut self) -> (&mut RunInput, HookArgs<'_>) {
        let args = HookArgs {
            phase: self.phase,
            input: None,
            output: self.output.as_deref(),
            shared: &self.shared,
            job: self.job.as_deref(),
            tool: self.tool.as_deref(),
        };
        (Arc::make_mut(&mut self.input), args)
    }

    /// `&mut RunOutput` plus every other argument, or `None` before the
    /// post phase.
    pub fn split_output_mut(&mut self) -> Option<(&mut RunOutput, HookArgs<'_>)> {
        let output = self.output.as_mut()?;
        let args = HookArgs {
            phase: self.phase,
            input: Some(&self.input),
            output: None,
            shared: &self.shared,
            job: self.job.as_deref(),
            tool: self.tool.as_deref(),
        };
        Some((Arc::make_mut(output), args))
    }
}

/// A read-only view of a run, from which each argument of a hook is
/// extracted by its type ([`FromHookArgs`](crate::FromHookArgs)).
#[derive(Debug, Clone, Copy)]
pub struct HookArgs<'a> {
    phase: Phase,
    input: Option<&'a RunInput>,
    output: Option<&'a RunOutput>,
    shared: &'a RunShared,
    job: Option<&'a Job>,
    tool: Option<&'a ToolState>,
}

impl<'a> HookArgs<'a> {
    /// The phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The run input, unless a `&mut RunInput` of the same hook holds it.
    pub fn input(&self) -> Option<&'a RunInput> {
        self.input
    }

    /// The run output, in the post phase.
    pub fn output(&self) -> Option<&'a RunOutput> {
        self.output
    }

    /// What does not change during the run.
    pub fn shared(&self) -> &'a RunShared {
        self.shared
    }

    /// The durable job the hook runs as, if it runs as one.
    pub fn job(&self) -> Option<&'a Job> {
        self.job
    }

    /// The tool call and what runs it, in the tool phases.
    pub(crate) fn tool(&self) -> Option<&'a ToolState> {
        self.tool
    }

    /// The tool call, in the tool phases (unless a `&mut ToolCall` of the
    /// same hook holds it).
    pub fn tool_call(&self) -> Option<&'a ToolCall> {
        self.tool.map(|t| &t.call)
    }

    /// A value the program registered with its agent, by type.
    pub fn extension<T: std::any::Any + Send + Sync>(&self) -> Option<&'a T> {
        self.shared.extensions.get::<T>()
    }
}
