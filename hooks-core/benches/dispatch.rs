//! The dispatcher's own cost: inline hooks per phase (0, 1, 10, 100; sync
//! and async; no arguments, references, owned), background dispatch (the
//! caller's side, and spawn + completion of 100k), and registry lookup.
//!
//! `cargo bench -p hooks-core --bench dispatch -- --warm-up-time 1 --measurement-time 3`

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hooks_core::{
    AgentInfo, Dispatcher, DispatcherConfig, HookContext, HookRef, RunId, RunInput, RunShared,
    hook, hook_ref, registry,
};

#[hook]
fn sync_no_args() {}

#[hook]
fn sync_refs(run_input: &RunInput, agent: &AgentInfo, run_id: &RunId) {
    std::hint::black_box((run_input, agent, run_id));
}

#[hook]
fn sync_owned(run_input: RunInput) {
    std::hint::black_box(run_input);
}

#[hook]
async fn async_refs(run_input: &RunInput, agent: &AgentInfo) {
    std::hint::black_box((run_input, agent));
}

#[hook(run_in_background = true)]
fn background_noop(run_input: &RunInput) {
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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Times `iters` phases inside one `block_on`, so the figure is the
/// dispatcher's, not the executor's entry.
fn phase_time(rt: &tokio::runtime::Runtime, hooks: &[HookRef], iters: u64) -> Duration {
    let dispatcher = Dispatcher::default();
    let mut cx = context();
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            dispatcher.run_phase(hooks, &mut cx).await.unwrap();
        }
        start.elapsed()
    })
}

fn inline(c: &mut Criterion) {
    let rt = runtime();
    type MakeHook = fn() -> HookRef;
    let kinds: [(&str, MakeHook); 4] = [
        ("sync_no_args", || hook_ref(sync_no_args)),
        ("sync_refs", || hook_ref(sync_refs)),
        ("sync_owned", || hook_ref(sync_owned)),
        ("async_refs", || hook_ref(async_refs)),
    ];
    let mut group = c.benchmark_group("inline_phase");
    for (kind, make) in kinds {
        for n in [0usize, 1, 10, 100] {
            let hooks: Vec<HookRef> = (0..n).map(|_| make()).collect();
            group.throughput(Throughput::Elements(n.max(1) as u64));
            group.bench_with_input(BenchmarkId::new(kind, n), &hooks, |b, hooks| {
                b.iter_custom(|iters| phase_time(&rt, hooks, iters))
            });
        }
    }
    group.finish();
}

/// Times `iters` dispatches of the background `hooks` (the caller's side),
/// then waits for them outside the timing.
fn caller_side(rt: &tokio::runtime::Runtime, hooks: &[HookRef], iters: u64) -> Duration {
    let dispatcher = Dispatcher::new(DispatcherConfig {
        max_pending: usize::MAX,
        ..DispatcherConfig::default()
    });
    let mut cx = context();
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            dispatcher.run_phase(hooks, &mut cx).await.unwrap();
        }
        let elapsed = start.elapsed();
        dispatcher.wait_idle().await;
        elapsed
    })
}

fn background(c: &mut Criterion) {
    let rt = runtime();
    let hooks = vec![hook_ref(background_noop)];
    let mut group = c.benchmark_group("background");
    // The caller's side: snapshot + spawn of one background hook. The
    // hooks run (and are waited for) outside the timed loop.
    group.bench_function("caller_side_per_hook", |b| {
        b.iter_custom(|iters| caller_side(&rt, &hooks, iters))
    });
    // The same on a current-thread runtime: the spawned hooks cannot run
    // during the timed loop, so this is the caller's cost alone, without
    // the two cores also running the hooks.
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    group.bench_function("caller_side_per_hook_current_thread", |b| {
        b.iter_custom(|iters| caller_side(&single, &hooks, iters))
    });
    // Spawn and completion of 100k no-op background hooks.
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("spawn_and_complete_100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dispatcher = Dispatcher::new(DispatcherConfig {
                    max_pending: usize::MAX,
                    ..DispatcherConfig::default()
                });
                let mut cx = context();
                total += rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..100_000 {
                        dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
                    }
                    dispatcher.wait_idle().await;
                    start.elapsed()
                });
            }
            total
        })
    });
    group.finish();
}

fn lookup(c: &mut Criterion) {
    let _ = (
        sync_no_args,
        sync_refs,
        sync_owned,
        async_refs,
        background_noop,
    );
    let mut group = c.benchmark_group("registry");
    group.bench_function("get_by_name", |b| {
        b.iter(|| registry::get(std::hint::black_box("sync_refs")).unwrap())
    });
    group.bench_function("all", |b| b.iter(|| registry::all().len()));
    group.finish();
}

criterion_group!(benches, inline, background, lookup);
criterion_main!(benches);
