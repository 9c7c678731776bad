//! An inline sync hook taking references costs no heap allocation: a phase
//! of 100 of them allocates exactly what a phase of 1 does (nothing).

use std::alloc::System;

use hooks_core::{
    AgentInfo, Dispatcher, HookContext, HookRef, RunId, RunInput, RunShared, hook, hook_ref,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[hook]
fn reads(run_input: &RunInput, agent: &AgentInfo, run_id: &RunId) {
    std::hint::black_box((run_input, agent, run_id));
}

#[test]
fn inline_sync_hooks_taking_references_do_not_allocate() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dispatcher = Dispatcher::default();
    let hooks: Vec<HookRef> = (0..100).map(|_| hook_ref(reads)).collect();
    let mut cx = HookContext::new(RunInput::new("hello"), RunShared::default());
    runtime.block_on(async {
        // Warm up (lazy statics, the tracing callsite cache).
        dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
        let region = Region::new(GLOBAL);
        dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
        let stats = region.change();
        assert_eq!(
            (stats.allocations, stats.reallocations),
            (0, 0),
            "100 inline hooks allocated: {stats:?}"
        );
    });
}
