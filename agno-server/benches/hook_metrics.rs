//! What the Prometheus series cost an inline hook: one no-op inline hook's
//! phase on a dispatcher without an observer, and on one observed by the
//! server's `Metrics` (two clock reads, a counter and a histogram bucket),
//! in one run so they compare.
//!
//! `cargo bench -p agno-server --bench hook_metrics`

use std::sync::Arc;
use std::time::{Duration, Instant};

use agno_server::telemetry::Metrics;
use agno_server::{RunInput, hook};
use criterion::{Criterion, criterion_group, criterion_main};
use hooks_core::{Dispatcher, HookContext, RunId, RunShared, hook_ref};

#[hook]
fn noop(run_input: &RunInput) {
    std::hint::black_box(run_input);
}

fn context() -> HookContext {
    HookContext::new(
        RunInput::new("Hello, how are you?"),
        RunShared {
            run_id: RunId("run-1".into()),
            ..RunShared::default()
        },
    )
}

fn phase_time(rt: &tokio::runtime::Runtime, dispatcher: &Dispatcher, iters: u64) -> Duration {
    let hooks = [hook_ref(noop)];
    let mut cx = context();
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
        }
        start.elapsed()
    })
}

fn inline(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let plain = Dispatcher::default();
    let observed = Dispatcher::default();
    observed.observe(Arc::new(Metrics::new()));
    let mut group = c.benchmark_group("inline_hook");
    group.bench_function("no_observer", |b| {
        b.iter_custom(|iters| phase_time(&rt, &plain, iters))
    });
    group.bench_function("metrics_observer", |b| {
        b.iter_custom(|iters| phase_time(&rt, &observed, iters))
    });
    group.finish();
}

criterion_group!(benches, inline);
criterion_main!(benches);
