//! An inline hook observed by the server's Prometheus series allocates
//! nothing once its series exist (counted by a wrapper around the system
//! allocator, `stats_alloc`).

use std::alloc::System;
use std::sync::Arc;

use agno_server::telemetry::Metrics;
use agno_server::{RunInput, hook};
use hooks_core::{Dispatcher, HookContext, RunId, RunShared, hook_ref};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[hook]
fn noop(run_input: &RunInput) {
    std::hint::black_box(run_input);
}

#[test]
fn an_observed_inline_hook_allocates_nothing() {
    let dispatcher = Dispatcher::default();
    assert!(dispatcher.observe(Arc::new(Metrics::new())));
    let hooks = [hook_ref(noop)];
    let mut cx = HookContext::new(
        RunInput::new("Hello"),
        RunShared {
            run_id: RunId("run-1".into()),
            ..RunShared::default()
        },
    );
    let phase = |cx: &mut HookContext| {
        let mut fut = std::pin::pin!(dispatcher.run_phase(&hooks, cx));
        let mut poll_cx = std::task::Context::from_waker(std::task::Waker::noop());
        match fut.as_mut().poll(&mut poll_cx) {
            std::task::Poll::Ready(result) => result.unwrap(),
            std::task::Poll::Pending => panic!("the phase waited"),
        }
    };
    // The first run makes the hook's series (and tracing's callsite cache).
    phase(&mut cx);
    let region = Region::new(GLOBAL);
    for _ in 0..1_000 {
        phase(&mut cx);
    }
    let stats = region.change();
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "an observed inline hook allocated: {stats:?}"
    );
}
