//! Hooks around a tool call: the chain of tool hooks (agent-level, then
//! the tool's own, then the tool), what each link sees ([`ToolCall`],
//! [`Next`]) and what it may do, and the post-tool hooks' [`ToolResult`].
//!
//! A tool hook is a `#[hook]` attached with `tool_hooks`. By its types it
//! is one of:
//!
//! - an **observer** (`call: &ToolCall`, returns `()` or `Result<(), E>`):
//!   it runs before the tool and the chain goes on. Returning a
//!   [`CheckError`](crate::CheckError) fails the run (a guardrail on
//!   tools); any other error refuses the call, and the model gets the
//!   error's text, as Agno gives it `str(e)`.
//! - a **changer** (`call: &mut ToolCall`): what it changes reaches the
//!   next link and the tool (Agno's #9682: there, arguments given to
//!   `next_func` were ignored).
//! - a **wrapper** (`call: ToolCall, next: Next`, returns
//!   `Result<String, E>`): it awaits `next.run(call)` (or not: its answer
//!   then stands for the tool's) and returns the call's result, changed or
//!   not.
//!
//! Observers may run in the background (and durable); a changer or a
//! wrapper never can (`#[hook]` refuses it): a background hook works on a
//! copy.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures_util::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::extract::missing;
use crate::{
    CheckError, Dispatcher, FromHookArgs, FromHookArgsMut, HookArgs, HookContext, HookError,
    HookRef, Phase, PostToolHooksOnly, ToolCallsOnly, ToolError, ToolHooksOnly, ToolMeta, ToolRef,
};

/// One call of a tool, as its hooks see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The id the model gave the call.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments (a JSON object): as the model sent them, or as the
    /// hooks before this one changed them.
    pub arguments: Map<String, Value>,
}

/// What a tool call gave the model: post-tool hooks see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The tool's output, or the error's text.
    pub content: String,
    /// Whether the call failed (Agno's `tool_call_error`).
    pub is_error: bool,
}

/// The rest of a tool call's chain: the next tool hook, or the tool.
///
/// A tool hook that takes it decides the call: it returns the result
/// (`Result<String, E>`), usually what `next.run(call).await` gave.
#[derive(Clone)]
pub struct Next {
    link: Arc<ToolLink>,
    index: usize,
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("tool", &self.link.tool.meta().name)
            .field("index", &self.index)
            .finish()
    }
}

impl Next {
    /// Runs the rest of the chain, then the tool, with `call` (changed or
    /// not: what this hook passes is what they get).
    pub async fn run(self, call: ToolCall) -> Result<String, ToolError> {
        run_from(self.link, self.index, call).await
    }

    /// The tool this call is for: its metadata and its parameters' schema
    /// (`tool().parameters()`).
    pub fn tool(&self) -> &ToolRef {
        &self.link.tool
    }
}

/// The tool phases' part of a hook's context.
#[derive(Clone)]
pub(crate) struct ToolState {
    pub(crate) call: ToolCall,
    /// After the call (post-tool hooks).
    pub(crate) result: Option<ToolResult>,
    /// A wrapper's answer, read by the chain.
    pub(crate) answer: Option<String>,
    /// What runs the rest: absent after the call, in a background
    /// snapshot and in a durable job.
    next: Option<Next>,
    meta: Option<&'static ToolMeta>,
}

impl std::fmt::Debug for ToolState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolState")
            .field("call", &self.call)
            .field("result", &self.result)
            .finish_non_exhaustive()
    }
}

impl ToolState {
    /// After the call: `call` and what it gave.
    pub(crate) fn after(
        call: ToolCall,
        result: ToolResult,
        meta: Option<&'static ToolMeta>,
    ) -> Self {
        Self {
            call,
            result: Some(result),
            answer: None,
            next: None,
            meta,
        }
    }

    /// Before the call, without the chain (a restored snapshot).
    pub(crate) fn before(call: ToolCall) -> Self {
        Self {
            call,
            result: None,
            answer: None,
            next: None,
            meta: None,
        }
    }
}

/// What every link of one call shares.
struct ToolLink {
    dispatcher: Dispatcher,
    hooks: Arc<[HookRef]>,
    tool: ToolRef,
    /// The run, as the tool and the hooks read it.
    base: HookContext,
    /// The global `run_hooks_in_background` of the agent.
    global: bool,
    /// The tool's own time limit.
    timeout: Option<Duration>,
    /// A hook's check: the run fails, whatever the hooks around it do
    /// with the call's result (a guardrail nobody can bypass).
    refused: OnceLock<CheckError>,
    /// Background hooks met on the way, with their snapshots.
    background: Mutex<Vec<(HookRef, HookContext)>>,
}

/// How one tool call ended.
pub struct ToolCallOutcome {
    /// The tool's output, a wrapper's answer, or the error the model gets.
    pub result: Result<String, ToolError>,
    /// A hook's check error: the run fails with it.
    pub refused: Option<CheckError>,
    /// The background hooks of the chain, to hand off
    /// ([`Dispatcher::hand_off_all`]).
    pub background: Vec<(HookRef, HookContext)>,
}

impl std::fmt::Debug for ToolCallOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolCallOutcome")
            .field("result", &self.result)
            .field("refused", &self.refused)
            .field("background", &self.background.len())
            .finish()
    }
}

/// How an agent runs its tool calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToolCallOptions {
    /// The agent's global `run_hooks_in_background` (it moves the tool
    /// hooks that only observe, as it moves run hooks).
    pub run_hooks_in_background: bool,
    /// How long the tool itself may run (its hooks have the dispatcher's
    /// `hook_timeout`); past it, the call is stopped and the model told.
    pub timeout: Option<Duration>,
}

/// Runs `call` through the tool hooks `hooks` (in order), then `tool`,
/// on the run `cx`.
pub async fn run_tool_call(
    dispatcher: &Dispatcher,
    hooks: Arc<[HookRef]>,
    tool: ToolRef,
    cx: &HookContext,
    options: ToolCallOptions,
    call: ToolCall,
) -> ToolCallOutcome {
    let link = Arc::new(ToolLink {
        dispatcher: dispatcher.clone(),
        hooks,
        tool,
        base: cx.clone(),
        global: options.run_hooks_in_background,
        timeout: options.timeout,
        refused: OnceLock::new(),
        background: Mutex::new(Vec::new()),
    });
    let result = run_from(link.clone(), 0, call).await;
    let refused = link.refused.get().cloned();
    let background =
        std::mem::take(&mut *link.background.lock().unwrap_or_else(|p| p.into_inner()));
    ToolCallOutcome {
        result,
        refused,
        background,
    }
}

/// The chain from link `index` on (boxed: a wrapper calls it again).
fn run_from(
    link: Arc<ToolLink>,
    index: usize,
    call: ToolCall,
) -> futures_util::future::BoxFuture<'static, Result<String, ToolError>> {
    Box::pin(async move {
        let mut call = call;
        let mut index = index;
        let meta = Some(link.tool.meta());
        while let Some(hook) = link.hooks.get(index).cloned() {
            index += 1;
            let hook_meta = hook.meta();
            if hook_meta.runs_in_background(link.global) {
                // A copy, without the chain (it could not call it, and it
                // would keep the chain alive).
                let snapshot = link.base.with_tool(
                    Phase::Tool,
                    ToolState {
                        meta,
                        ..ToolState::before(call.clone())
                    },
                );
                link.background
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((hook, snapshot));
                continue;
            }
            let mut cx = link.base.with_tool(
                Phase::Tool,
                ToolState {
                    call,
                    result: None,
                    answer: None,
                    next: Some(Next {
                        link: link.clone(),
                        index,
                    }),
                    meta,
                },
            );
            let result = link.dispatcher.run_inline(&*hook, &mut cx).await;
            let state = cx.take_tool();
            match result {
                Ok(()) => {
                    let Some(state) = state else {
                        return Err(ToolError::Failed(format!(
                            "tool hook {} lost the call",
                            hook_meta.name
                        )));
                    };
                    if let Some(answer) = state.answer {
                        return Ok(answer);
                    }
                    call = state.call;
                }
                Err(HookError::Check(check)) => {
                    tracing::info!(
                        hook = hook_meta.name,
                        tool = link.tool.meta().name,
                        run_id = %link.base.shared().run_id,
                        trigger = check.trigger.as_str(),
                        "tool hook rejected the run: {}",
                        check.message.escape_debug()
                    );
                    let text = check.message.clone();
                    let _ = link.refused.set(check);
                    return Err(ToolError::Failed(text));
                }
                Err(error) => {
                    tracing::warn!(
                        hook = hook_meta.name,
                        tool = link.tool.meta().name,
                        run_id = %link.base.shared().run_id,
                        "tool hook refused the call: {}",
                        error.to_string().escape_debug()
                    );
                    return Err(ToolError::Failed(error.to_string()));
                }
            }
        }
        call_tool(&link, call).await
    })
}

/// The tool itself, its panic caught, its time limited.
async fn call_tool(link: &ToolLink, call: ToolCall) -> Result<String, ToolError> {
    let tool = &link.tool;
    let name = tool.meta().name;
    let run = link.base.args();
    let called = AssertUnwindSafe(tool.call(call.arguments, run)).catch_unwind();
    let result = match link.timeout {
        None => called.await,
        Some(limit) => match tokio::time::timeout(limit, called).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(tool = name, ?limit, "a tool ran past its time limit");
                return Err(ToolError::TimedOut { tool: name, limit });
            }
        },
    };
    result.unwrap_or_else(|_| {
        tracing::error!(tool = name, "a tool panicked");
        Err(ToolError::Failed(format!("the tool {name} panicked")))
    })
}

impl<'a> FromHookArgs<'a> for &'a ToolCall {
    type Available = ToolCallsOnly;
    const DATA: Option<&'static str> = Some("ToolCall");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.tool_call().ok_or_else(|| missing("&ToolCall", args))
    }
}

impl<'a> FromHookArgs<'a> for ToolCall {
    type Available = ToolCallsOnly;
    const DATA: Option<&'static str> = Some("ToolCall");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.tool_call()
            .cloned()
            .ok_or_else(|| missing("ToolCall", args))
    }
}

impl<'a> FromHookArgs<'a> for &'a ToolResult {
    type Available = PostToolHooksOnly;
    const DATA: Option<&'static str> = Some("ToolResult");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.tool()
            .and_then(|t| t.result.as_ref())
            .ok_or_else(|| missing("&ToolResult", args))
    }
}

impl<'a> FromHookArgs<'a> for &'a ToolMeta {
    type Available = ToolCallsOnly;
    const DATA: Option<&'static str> = Some("ToolMeta");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.tool()
            .and_then(|t| t.meta)
            .ok_or_else(|| missing("&ToolMeta", args))
    }
}

impl<'a> FromHookArgs<'a> for Next {
    type Available = ToolHooksOnly;
    const CHANGES_RUN: bool = true;
    const DATA: Option<&'static str> = Some("Next");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.tool()
            .and_then(|t| t.next.clone())
            .ok_or_else(|| missing("Next", args))
    }
}

impl<'a> FromHookArgsMut<'a> for &'a mut ToolCall {
    type Available = ToolHooksOnly;
    const DATA: &'static str = "ToolCall";
    #[inline]
    fn split(cx: &'a mut HookContext) -> Result<(Self, HookArgs<'a>), HookError> {
        let phase = cx.phase().as_str();
        cx.split_tool_call_mut().ok_or(HookError::MissingArgument {
            argument: "&mut ToolCall",
            phase,
        })
    }
}
