//! Agents with hooks at their centre, model clients, SQLite sessions, a
//! durable job queue and the AgentOS HTTP server: Agno's `@hook` and
//! `AgentOS`, in Rust.
//!
//! # A server in twenty lines
//!
//! ```no_run
//! use agno_server::{hook, Agent, AgentInfo, AgentOS, Echo, Job, RunOutput, SqliteDb};
//!
//! /// Inline: the response waits for it, and it sees every run.
//! #[hook]
//! async fn log_analytics(run_output: &RunOutput, agent: &AgentInfo) {
//!     agno_server::tracing::info!(agent = agent.display_name(), run = %run_output.run_id, "analytics");
//! }
//!
//! /// In the background, durable: written with its run, run again after a
//! /// crash (at least once: `job.id` is the idempotency key).
//! #[hook(run_in_background = true, durable = true)]
//! async fn send_notification(run_output: &RunOutput, job: &Job) -> std::io::Result<()> {
//!     let _ = (&run_output.content, &job.id);
//!     Ok(())
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let agent = Agent::builder()
//!         .id("assistant")
//!         .model(Echo::new()) // or OpenAIResponses::new("gpt-5.2")
//!         .db(SqliteDb::new("tmp/agent.db")?)
//!         .post_hooks((log_analytics, send_notification)) // a tuple: each hook is its own type
//!         .build()?;
//!     // Logs to standard output unless the program installed a `tracing`
//!     // subscriber (`RUST_LOG` sets the level); drains on SIGTERM.
//!     AgentOS::builder().agent(agent).build()?.serve("127.0.0.1:7777").await?;
//!     Ok(())
//! }
//! ```
//!
//! # What a program adds
//!
//! The hook runtime ([`hooks_core`]) is re-exported here: `use
//! agno_server::{hook, RunInput}` works with this one dependency, and so
//! does logging from a hook (`agno_server::tracing::info!`). A program
//! also depends on `tokio` (for `#[tokio::main]`), and on `futures-util`
//! to iterate [`Agent::run_stream`] with `StreamExt`; `tracing-subscriber`
//! only to choose its own log format. `scripts/first_hour.sh` (run by CI)
//! builds such a program in a crate of its own and checks what it logs.
//!
//! # Errors, your own argument types, stopping
//!
//! - A hook returns `()` or `Result<(), E>`: `std::io::Result<()>`,
//!   `Result<(), String>`, `Box<dyn Error + Send + Sync>` and, with the
//!   default `anyhow` feature, `anyhow::Result<()>`. A `CheckError` is a
//!   guardrail: it ends the run with status `ERROR`.
//! - A hook can take a type of your own: implement [`FromHookArgs`] for
//!   it and give the value it reads once, with
//!   [`AgentBuilder::extension`] (the README's "Your own argument
//!   types" shows one).
//! - A program that runs agents without the server waits for their
//!   background work before it exits: [`Agent::shutdown`] (the server
//!   does it on SIGTERM). A program that forgets is warned when the agent
//!   is dropped with hooks still running: in its log, or on standard
//!   error when it installed no `tracing` subscriber.
//!
//! # Where things are
//!
//! - [`agent`]: [`Agent`] and its builder; a run is a sequence of steps
//!   (load, pre-hooks, model, post-hooks, finish). A program's own hook
//!   argument types read values given with [`AgentBuilder::extension`]
//!   (see [`FromHookArgs`]).
//! - [`jobs`]: durable background hooks and background runs.
//! - [`db`]: the store ([`Db`]; [`SqliteDb`] and [`PostgresDb`] in Agno's
//!   table layouts).
//! - [`model`]: OpenAI Responses and Chat Completions, and the offline
//!   [`Echo`].
//! - [`os`]: [`AgentOS`], Agno's HTTP API.
//! - [`guardrails`]: Agno's built-in guardrails.
//! - `fake_openai` (feature `fake-openai`): an OpenAI-compatible fake
//!   server, for tests.
//!
//! The README has the whole tour: arguments, return types, several hooks in
//! a phase, inline or background, durability, shutdown, limits.
#![warn(missing_docs)]

pub mod agent;
mod clock;
pub mod db;
#[cfg(feature = "fake-openai")]
pub mod fake_openai;
pub mod guardrails;
pub mod jobs;
pub mod model;
pub mod os;
pub mod telemetry;

pub use agent::{
    Agent, AgentBuilder, AgentError, AgentShutdown, RunEvent, RunEventKind, RunRequest, Submitted,
};
pub use db::{Db, PostgresDb, SqliteDb};
pub use jobs::{JobOptions, WhenBacklogged};
pub use model::{Echo, Model, OpenAIChat, OpenAIResponses};
pub use os::{AgentOS, AgentOSBuilder, JwtConfig};

/// The `tracing` crate the server logs with: a hook logs through it
/// (`agno_server::tracing::info!(..)`) without a dependency of its own.
pub use tracing;

/// The hook runtime this crate is built on, whole (for what the list below
/// leaves out: the dispatcher's job sink, phase markers, ...).
pub use hooks_core;

// What a program writing hooks and serving agents uses, by name.
// Writing hooks: the attribute, its arguments, its results.
pub use hooks_core::{
    AgentInfo, AnyPhase, CheckError, CheckFree, CheckKind, CheckTrigger, ExtraFields, FromHookArgs,
    HookArgs, HookError, Identity, IntoHookResult, Job, Message, Metrics, OptionalFromHookArgs,
    PostHooksOnly, PreHooksOnly, RunContext, RunId, RunInput, RunOutput, RunStatus, Session,
    UserId, hook,
};
// Tools the model may call.
pub use hooks_core::schemars;
pub use hooks_core::{
    FromToolArgs, FunctionCall, IntoToolList, IntoToolOutput, Json, MessageToolCall, Tool,
    ToolError, ToolExecution, ToolMeta, ToolMetrics, ToolParam, ToolRef, tool,
};
// Hooks around tool calls.
pub use hooks_core::{Next, ToolCall, ToolResult};
// Attaching, writing by hand and inspecting hooks.
pub use hooks_core::{
    BoxHookFuture, Extensions, Hook, HookCall, HookContext, HookDef, HookMeta, HookRef,
    IntoHookList, Phase, PhaseSet, Phases, Registration, RegistryError, RunShared, hook_ref, hooks,
    registry,
};
// Running them.
pub use hooks_core::{
    Dispatcher, DispatcherConfig, DispatcherStats, HookEvent, InFlightHook, ShutdownReport,
    WhenFull,
};

#[doc(hidden)]
pub mod __private {
    pub use hooks_core::__private::*;
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
