//! Agents with hooks at their centre, model clients, SQLite sessions and
//! the AgentOS HTTP server.
//!
//! One dependency is enough: the hook runtime is re-exported, so
//! `use agno_server::{hook, RunInput};` works.
#![warn(missing_docs)]

pub mod agent;
pub mod db;
pub mod fake_openai;
pub mod guardrails;
pub mod jobs;
pub mod model;
pub mod os;

pub use agent::{Agent, AgentBuilder, AgentError, RunEvent, RunEventKind, RunRequest};
pub use db::{Db, SqliteDb};
pub use model::{Echo, Model, OpenAIChat, OpenAIResponses};
pub use os::{AgentOS, AgentOSBuilder};

pub use hooks_core::*;

#[doc(hidden)]
pub mod __private {
    pub use hooks_core::__private::*;
}

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
