//! Durable background hooks and background runs: the job queue's worker.
//!
//! A background hook that is durable is not spawned in memory: the
//! dispatcher hands it to the run ([`DurableHooks`]), the run stores it in
//! `agno_jobs` **in the same transaction as the run itself**
//! ([`SessionStore::save_run_with_jobs`]), and once that commits the
//! worker starts it at once, from the snapshot still in memory (no polling
//! delay, no read back). A durable pre-hook starts earlier, at its place
//! before the model call, and is written with its run only if it has not
//! finished by then: a quick one never costs a row. If every one of the
//! worker's `max_concurrent` places is taken, the job is stored `queued`
//! instead and read back when a place frees: a backlog waits in the
//! store, not in memory, and a durable hook is never refused for lack of
//! room.
//!
//! When the process dies, the store still has every job of every run it
//! acknowledged. At the next start the worker of each agent queues again
//! the jobs a dead process left `running` (failing those out of attempts),
//! claims what is queued, finds each hook by its registry name among the
//! agent's hooks (else in the link-time [`registry`](hooks_core::registry)),
//! restores the snapshot and runs the hook, its arguments extracted as
//! usual.
//!
//! **At least once.** A hook that was running when the process died runs
//! again: take a [`Job`](hooks_core::Job) argument for an idempotency key
//! (its id is the same on every attempt). No order among background hooks
//! is promised. A failed attempt is retried after a back-off that doubles
//! (`retry_delay`, then twice that, up to `max_retry_delay`) until
//! `max_attempts`; then the job is `failed`: kept, listed, requeueable. A
//! job whose hook or agent no longer exists fails at once, saying so.
//! Completed jobs are deleted as they complete.
//!
//! The worker knows its agent only as a `JobHost` (the agent implements
//! it), and its store only as the three traits of [`crate::db`].
//!
//! [`DurableHooks`]: hooks_core::DurableHooks
//! [`SessionStore::save_run_with_jobs`]: crate::db::SessionStore::save_run_with_jobs

mod admission;
mod backlog;
mod counters;
mod enqueue;
mod executor;
mod host;
mod lifeline;
mod options;
mod payload;
mod producer;
mod pruner;
mod retry;
mod settler;
mod state;
mod worker;

pub use backlog::BacklogState;
pub use counters::JobCounters;
pub use options::{JobOptions, WhenBacklogged};
pub use worker::{JobWorker, JobsShutdown};

pub(crate) use enqueue::EarlyJob;
pub(crate) use host::{JobHost, RunFuture};
