//! The agent-hook runtime.
//!
//! Plain functions become hooks with [`#[hook]`](hook): the macro turns the
//! function into a unit struct of the same name that implements [`Hook`],
//! carries its [`HookMeta`], and registers itself at link time
//! ([`registry`]). The [`Dispatcher`] runs the hooks of a phase in order,
//! inline or in the background.
//!
//! ```
//! use hooks_core::{hook, AgentInfo, CheckError, CheckTrigger, RunInput, RunOutput};
//!
//! /// Runs in the background: the caller never waits for it.
//! #[hook(run_in_background = true)]
//! fn log_request(run_input: &RunInput, agent: &AgentInfo) {
//!     tracing::info!(agent = agent.display_name(), input = run_input.input_content(), "request");
//! }
//!
//! /// Runs inline and can reject the run.
//! #[hook]
//! fn no_secrets(run_input: &RunInput) -> Result<(), CheckError> {
//!     if run_input.input_content().contains("password") {
//!         return Err(CheckError::input("no secrets, please", CheckTrigger::InputNotAllowed));
//!     }
//!     Ok(())
//! }
//!
//! /// Changes what is returned and stored.
//! #[hook]
//! async fn sign(run_output: &mut RunOutput) {
//!     if let Some(content) = &mut run_output.content {
//!         content.push_str("\n-- the agent");
//!     }
//! }
//!
//! assert!(log_request::META.run_in_background);
//! assert!(no_secrets::META.can_block);
//! assert!(sign::META.mutates && !sign::META.phases.pre);
//! ```
#![warn(missing_docs)]

extern crate self as hooks_core;

mod agent_info;
mod blocking;
mod config;
mod context;
mod dispatcher;
mod error;
mod extensions;
mod extract;
mod guard;
mod hook;
mod hook_list;
mod job;
mod meta;
mod observer;
pub mod registry;
mod returns;
mod run_context;
mod run_input;
mod run_output;
mod session;
mod shutdown;
mod stats;
pub mod tool;
mod tool_hooks;

pub use agent_info::AgentInfo;
pub use config::{DispatcherConfig, WhenFull};
pub use context::{HookArgs, HookContext, RunShared};
pub use dispatcher::{Dispatcher, HookEvent, InFlightHook};
pub use error::{CheckError, CheckKind, CheckTrigger, HookError};
pub use extensions::Extensions;
pub use extract::{FromHookArgs, FromHookArgsMut, OptionalFromHookArgs};
pub use hook::{BoxHookFuture, Hook, HookCall, HookDef, HookRef};
pub use hook_list::{
    Allows, AnyPhase, ArgIn, IntoHookList, PhaseKind, PhaseSet, Post, PostHooksOnly, PostToolHooks,
    PostToolHooksOnly, Pre, PreHooksOnly, ReturnIn, RunsIn, ToolCallsOnly, ToolHooks,
    ToolHooksOnly, first_misplaced, hook_ref,
};
pub use job::{DurableHooks, Job, JobSink, NoJobs};
pub use meta::{HookMeta, Phase, Phases};
pub use observer::{HookMode, HookObserver, HookOutcome, HookRun};
pub use registry::{Registration, RegistryError};
pub use returns::{CheckFree, IntoHookResult};
pub use run_context::{ExtraFields, Identity, RunContext, RunId, UserId};
pub use run_input::RunInput;
pub use run_output::{
    FunctionCall, Message, MessageToolCall, Metrics, RunOutput, RunStatus, ToolExecution,
    ToolMetrics,
};
pub use session::Session;
pub use shutdown::ShutdownReport;
pub use stats::DispatcherStats;
pub use tool::{
    FromToolArgs, IntoToolList, IntoToolOutput, Json, Tool, ToolError, ToolMeta, ToolParam, ToolRef,
};
pub use tool_hooks::{Next, ToolCall, ToolCallOptions, ToolCallOutcome, ToolResult, run_tool_call};

/// Turns a function into a hook. See the crate docs and the README.
pub use hooks_macros::hook;

/// Turns a function into a tool the model may call. See [`tool`](mod@tool).
pub use hooks_macros::tool;

/// The JSON Schema crate tool parameters derive with
/// (`#[derive(schemars::JsonSchema)]`), at the version the runtime uses.
pub use schemars;

/// What the code `#[hook]` generates refers to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::HookArgs;
    pub use crate::blocking::run_blocking;
    pub use crate::extract::same_data;
    pub use crate::hook_list::{MutArgIn, ReturnIn};
    pub use crate::returns::{CheckProbe, MayCarryCheck};
    pub use crate::tool::{
        FromToolArgs, IntoToolOutput, ParamSpec, Tool, ToolArguments, ToolFuture, ToolMeta,
        ToolParam, ToolRegistration, parameters_schema, run_blocking_tool,
    };
    pub use crate::{
        Allows, ArgIn, FromHookArgs, FromHookArgsMut, Hook, HookCall, HookContext, HookDef,
        HookError, HookMeta, HookRef, IntoHookList, IntoHookResult, PhaseKind, PhaseSet, Phases,
        PostHooksOnly, PostToolHooks, PreHooksOnly, Registration, RunsIn, ToolHooks, hook_ref,
    };
    pub use inventory;
    pub use serde_json::{Map, Value};
    pub use std::boxed::Box;
    pub use std::result::Result::{self, Err, Ok};
}
