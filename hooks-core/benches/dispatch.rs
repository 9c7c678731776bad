//! The dispatcher's own cost: inline hooks per phase (0, 1, 10, 100; sync
//! and async; no arguments, references, owned), background dispatch (the
//! caller's side, and spawn + completion of 100k), registry lookup, and a
//! tool call through its hooks (none, an observer, a wrapper).
//! Heap allocations are counted by the `allocations` bench, not here (a
//! counting allocator would add its own cost to these timings).
//!
//! `cargo bench -p hooks-core --bench dispatch -- --warm-up-time 1 --measurement-time 3`

mod common;

use std::time::{Duration, Instant};

use common::{INLINE_KINDS, PHASE_SIZES, background_noop, context, phase};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hooks_core::{
    Dispatcher, DispatcherConfig, HookRef, Next, ToolCall, ToolCallOptions, ToolError, ToolRef,
    hook, hook_ref, registry, run_tool_call, tool,
};
use tokio::runtime::Runtime;

fn multi_thread() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Times `iters` phases inside one `block_on`, so the figure is the
/// dispatcher's, not the executor's entry.
fn phase_time(rt: &Runtime, hooks: &[HookRef], iters: u64) -> Duration {
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
    let rt = multi_thread();
    let mut group = c.benchmark_group("inline_phase");
    for (kind, make) in INLINE_KINDS {
        for n in PHASE_SIZES {
            let hooks = phase(make, n);
            group.throughput(Throughput::Elements(n.max(1) as u64));
            group.bench_with_input(BenchmarkId::new(kind, n), &hooks, |b, hooks| {
                b.iter_custom(|iters| phase_time(&rt, hooks, iters))
            });
        }
    }
    group.finish();
}

/// Background hooks dispatched between two waits: the backlog stays that
/// of a busy server, not millions of queued tasks (whose memory, touched
/// for the first time, would be what is measured).
const BATCH: u64 = 1_000;

/// Dispatches the background `hooks` `iters` times and returns the time
/// the caller spent; waits for the hooks after each batch, untimed.
async fn dispatch_loop(dispatcher: &Dispatcher, hooks: &[HookRef], iters: u64) -> Duration {
    let mut cx = context();
    let mut elapsed = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let batch = left.min(BATCH);
        left -= batch;
        let start = Instant::now();
        for _ in 0..batch {
            dispatcher.run_phase(hooks, &mut cx).await.unwrap();
        }
        elapsed += start.elapsed();
        dispatcher.wait_idle().await;
    }
    elapsed
}

/// The caller's loop in `block_on`, i.e. on a thread that is not one of
/// the runtime's workers.
fn caller_outside(rt: &Runtime, hooks: &[HookRef], iters: u64) -> Duration {
    let dispatcher = Dispatcher::default();
    rt.block_on(dispatch_loop(&dispatcher, hooks, iters))
}

/// The caller's loop in a task on a worker, as a request handler runs.
fn caller_on_worker(rt: &Runtime, hooks: &[HookRef], iters: u64) -> Duration {
    let dispatcher = Dispatcher::default();
    let hooks = hooks.to_vec();
    rt.block_on(async move {
        tokio::spawn(async move { dispatch_loop(&dispatcher, &hooks, iters).await })
            .await
            .unwrap()
    })
}

/// A dispatcher that accepts 100k background hooks at once: the default's
/// shape (`max_concurrent` equal to `max_pending`), both raised from 65 536.
fn dispatcher_for_100k() -> Dispatcher {
    Dispatcher::new(DispatcherConfig {
        max_pending: 100_000,
        max_concurrent: 100_000,
        ..DispatcherConfig::default()
    })
}

fn background(c: &mut Criterion) {
    let rt = multi_thread();
    let single = current_thread();
    let hooks = vec![hook_ref(background_noop)];
    let mut group = c.benchmark_group("background");
    // The caller's side of one background hook: snapshot + spawn. The
    // hooks are waited for outside the timed loop.
    //
    // Current-thread runtime: the spawned hooks cannot run during the
    // loop, so this is the caller's cost alone.
    group.bench_function("caller_side_per_hook_current_thread", |b| {
        b.iter_custom(|iters| caller_outside(&single, &hooks, iters))
    });
    // 2 workers, caller in a task on one of them (a request handler): the
    // other worker runs the hooks meanwhile, on the same 2 cores.
    group.bench_function("caller_side_per_hook_on_worker", |b| {
        b.iter_custom(|iters| caller_on_worker(&rt, &hooks, iters))
    });
    // 2 workers, caller in `block_on` (a third thread): every spawn goes
    // through the runtime's shared queue and wakes a worker.
    group.bench_function("caller_side_per_hook_outside_runtime", |b| {
        b.iter_custom(|iters| caller_outside(&rt, &hooks, iters))
    });
    // Spawn and completion of 100k no-op background hooks, the caller on
    // a worker; waited for with `wait_idle`.
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("spawn_and_complete_100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dispatcher = dispatcher_for_100k();
                let hooks = hooks.clone();
                total += rt.block_on(async move {
                    tokio::spawn(async move {
                        let mut cx = context();
                        let start = Instant::now();
                        for _ in 0..100_000 {
                            dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
                        }
                        dispatcher.wait_idle().await;
                        start.elapsed()
                    })
                    .await
                    .unwrap()
                });
            }
            total
        })
    });
    group.finish();
}

fn lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("registry");
    group.bench_function("get_by_name", |b| {
        b.iter(|| registry::get(std::hint::black_box("sync_refs")).unwrap())
    });
    group.bench_function("get_by_path", |b| {
        b.iter(|| registry::get(std::hint::black_box("dispatch::common::sync_refs")).unwrap())
    });
    group.bench_function("all", |b| b.iter(|| registry::all().len()));
    group.finish();
}

/// Adds two numbers.
#[tool]
fn bench_add(a: i64, b: i64) -> i64 {
    a + b
}

/// Looks at the call.
#[hook]
fn tool_observer(call: &ToolCall) {
    std::hint::black_box(call);
}

/// Passes the call on and returns its result.
#[hook]
async fn tool_wrapper(call: ToolCall, next: Next) -> Result<String, ToolError> {
    next.run(call).await
}

/// One tool call (`bench_add(1, 2)`, its arguments parsed, its result
/// made text) through no hook, one observer, one wrapper: the tool hook's
/// cost per call is the difference.
fn tool_calls(c: &mut Criterion) {
    let rt = multi_thread();
    let dispatcher = Dispatcher::default();
    let cx = context();
    let tool: ToolRef = std::sync::Arc::new(bench_add);
    let serde_json::Value::Object(arguments) = serde_json::json!({"a": 1, "b": 2}) else {
        unreachable!()
    };
    let call = ToolCall {
        id: "call_1".into(),
        name: "bench_add".into(),
        arguments,
    };
    let mut group = c.benchmark_group("tool_call");
    let chains: [(&str, Vec<HookRef>); 3] = [
        ("no_hooks", Vec::new()),
        ("one_observer", vec![hook_ref(tool_observer)]),
        ("one_wrapper", vec![hook_ref(tool_wrapper)]),
    ];
    for (name, hooks) in chains {
        let hooks: std::sync::Arc<[HookRef]> = hooks.into();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let outcome = run_tool_call(
                            &dispatcher,
                            hooks.clone(),
                            tool.clone(),
                            &cx,
                            ToolCallOptions::default(),
                            call.clone(),
                        )
                        .await;
                        assert_eq!(outcome.result.as_deref(), Ok("3"));
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, inline, background, lookup, tool_calls);
criterion_main!(benches);
