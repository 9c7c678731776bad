//! Heap memory held by one pending background hook of the seed's shape:
//! runs the seed's agent (offline `Echo` model, no database, `log_request`
//! in the background) 10 000 times with a background post-hook taking
//! `&RunOutput, &AgentInfo` that never finishes during the count, and
//! prints the bytes and allocations still live per run. The first line,
//! without the post-hook, is the baseline: its ~170 bytes per run are
//! `stats_alloc`'s accounting of reallocations, not memory kept (the same
//! runs, 500 000 of them, leave the process RSS flat), so a pending hook
//! costs its line minus the baseline.
//!
//! `cargo run --release -p agno-server --example pending_hook_memory`
//!
//! Every allocation goes through `stats_alloc`'s counting wrapper around the
//! system allocator; the figures are the bytes asked for (the allocator's
//! size classes and page use come on top: see BENCHMARKS.md for RSS).

use std::alloc::System;
use std::sync::OnceLock;
use std::time::Duration;

use agno_server::{
    Agent, AgentInfo, Dispatcher, DispatcherConfig, Echo, HookRef, RunInput, RunOutput, hook,
    hook_ref,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tokio::sync::Semaphore;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Never opened while counting: the gated hooks stay pending.
static GATE: OnceLock<Semaphore> = OnceLock::new();

/// Runs measured per configuration.
const RUNS: usize = 10_000;

#[hook(run_in_background = true)]
fn log_request(run_input: &RunInput, agent: &AgentInfo) {
    std::hint::black_box((run_input, agent));
}

/// Pending on a semaphore (no timer).
#[hook(run_in_background = true)]
async fn gated(_run_output: &RunOutput, _agent: &AgentInfo) {
    let _ = GATE.get_or_init(|| Semaphore::new(0)).acquire().await;
}

/// Pending on a timer, as the seed's `send_notification`.
#[hook(run_in_background = true)]
async fn sleeping(_run_output: &RunOutput, _agent: &AgentInfo) {
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let configs: [(&str, Vec<HookRef>); 3] = [
        ("no background post-hook", vec![]),
        ("pending on a semaphore", vec![hook_ref(gated)]),
        ("pending on a timer", vec![hook_ref(sleeping)]),
    ];
    println!("| post-hook | live bytes per run | live allocations per run | hooks in flight |");
    println!("|---|---|---|---|");
    for (label, post_hooks) in configs {
        let dispatcher = Dispatcher::new(DispatcherConfig::default());
        let agent = Agent::builder()
            .id("background-task-agent")
            .name("BackgroundTaskAgent")
            .model(Echo::new())
            .instructions("You are a helpful assistant")
            .pre_hooks([log_request])
            .post_hooks(post_hooks)
            .markdown(true)
            .dispatcher(dispatcher.clone())
            .build()?;
        // Warm-up: lazy statics, the in-flight table, the runtime's queues.
        for _ in 0..100 {
            agent.run("Hello, how are you?").await?;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let region = Region::new(GLOBAL);
        for _ in 0..RUNS {
            agent.run("Hello, how are you?").await?;
        }
        // Lets the `log_request` hooks of the last runs finish.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stats = region.change();
        // Reallocations count their growth (or, negative, their shrinking).
        let live_bytes = stats.bytes_allocated as isize + stats.bytes_reallocated
            - stats.bytes_deallocated as isize;
        let live_allocs = stats.allocations as isize - stats.deallocations as isize;
        println!(
            "| {label} | {} | {:.1} | {} |",
            live_bytes / RUNS as isize,
            live_allocs as f64 / RUNS as f64,
            dispatcher.stats().in_flight
        );
    }
    Ok(())
}
