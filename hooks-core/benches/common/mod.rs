//! The hooks and the run the benchmarks share (`mod common;` in each bench
//! binary; cargo does not build this directory as a bench of its own).

use hooks_core::{AgentInfo, HookContext, HookRef, RunId, RunInput, RunShared, hook, hook_ref};

#[hook]
pub fn sync_no_args() {}

#[hook]
pub fn sync_refs(run_input: &RunInput, agent: &AgentInfo, run_id: &RunId) {
    std::hint::black_box((run_input, agent, run_id));
}

#[hook]
pub fn sync_owned(run_input: RunInput) {
    std::hint::black_box(run_input);
}

#[hook]
pub async fn async_no_args() {}

#[hook]
pub async fn async_refs(run_input: &RunInput, agent: &AgentInfo) {
    std::hint::black_box((run_input, agent));
}

#[hook]
pub async fn async_owned(run_input: RunInput) {
    std::hint::black_box(run_input);
}

#[hook(run_in_background = true)]
pub fn background_noop(run_input: &RunInput) {
    std::hint::black_box(run_input);
}

/// A constructor of one kind of inline hook.
pub type MakeHook = fn() -> HookRef;

/// Every kind of inline hook measured, by name.
pub const INLINE_KINDS: [(&str, MakeHook); 6] = [
    ("sync_no_args", || hook_ref(sync_no_args)),
    ("sync_refs", || hook_ref(sync_refs)),
    ("sync_owned", || hook_ref(sync_owned)),
    ("async_no_args", || hook_ref(async_no_args)),
    ("async_refs", || hook_ref(async_refs)),
    ("async_owned", || hook_ref(async_owned)),
];

/// The phase sizes measured.
pub const PHASE_SIZES: [usize; 4] = [0, 1, 10, 100];

/// `n` hooks made by `make`.
pub fn phase(make: MakeHook, n: usize) -> Vec<HookRef> {
    (0..n).map(|_| make()).collect()
}

/// The run the hooks see: the seed's message, a run id, a default agent.
pub fn context() -> HookContext {
    HookContext::new(
        RunInput::new("Hello, how are you?"),
        RunShared {
            run_id: RunId("run-1".into()),
            ..RunShared::default()
        },
    )
}
