//! Agents with hooks at their centre, model clients, SQLite sessions and
//! the AgentOS HTTP server.
//!
//! One dependency is enough: the hook runtime is re-exported, so
//! `use agno_server::{hook, RunInput};` works.

// modules (one line each; helpers add theirs below this marker)
pub mod agent;
pub mod db;
pub mod fake_openai;
pub mod model;

pub use hooks_core::*;

#[doc(hidden)]
pub mod __private {
    pub use hooks_core::__private::*;
}
