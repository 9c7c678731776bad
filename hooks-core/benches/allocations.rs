//! Heap allocations per hook and per phase, counted by a wrapper around the
//! system allocator (`stats_alloc`: it forwards to `std::alloc::System` and
//! counts each call with an atomic add, so no `unsafe` is written here).
//! Prints tables; times nothing (the `dispatch` bench does, without the
//! counting allocator in the way).
//!
//! `cargo bench -p hooks-core --bench allocations`

mod common;

use std::alloc::System;

use common::{INLINE_KINDS, PHASE_SIZES, background_noop, context, phase};
use hooks_core::{Dispatcher, HookRef, hook_ref, registry};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tokio::runtime::Runtime;

/// Every allocation of this program goes through the counter.
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Phases per measurement: the counts are divided by it.
const ROUNDS: usize = 1_000;

/// Allocations (with reallocations) and bytes made by `f`, on the whole
/// program (the current-thread runtime has no other thread).
fn count(f: impl FnOnce()) -> (usize, usize) {
    let region = Region::new(GLOBAL);
    f();
    totals(&region.change())
}

/// Allocations (with reallocations) and bytes of a region's change.
fn totals(stats: &stats_alloc::Stats) -> (usize, usize) {
    (
        stats.allocations + stats.reallocations,
        stats.bytes_allocated + stats.bytes_reallocated.max(0) as usize,
    )
}

/// A table cell: allocations and bytes, each divided by `n`.
fn per((allocs, bytes): (f64, f64), n: f64) -> String {
    format!("{:.2} ({:.0} B)", allocs / n, bytes / n)
}

/// [`per`] of integer totals.
fn per_item((allocs, bytes): (usize, usize), n: usize) -> String {
    per((allocs as f64, bytes as f64), n as f64)
}

/// Allocations and bytes per phase of `hooks` (after one warm-up phase:
/// lazy statics, the tracing callsite cache).
fn per_phase(rt: &Runtime, hooks: &[HookRef]) -> (f64, f64) {
    let dispatcher = Dispatcher::default();
    let mut cx = context();
    rt.block_on(async {
        dispatcher.run_phase(hooks, &mut cx).await.unwrap();
        let (allocs, bytes) = count(|| {
            futures_executor_lite(async {
                for _ in 0..ROUNDS {
                    dispatcher.run_phase(hooks, &mut cx).await.unwrap();
                }
            })
        });
        (allocs as f64 / ROUNDS as f64, bytes as f64 / ROUNDS as f64)
    })
}

/// Polls `fut` to completion on this thread. Every future here finishes
/// without waiting (the hooks never yield), so a no-op waker suffices and
/// the counted region holds the phases alone, not the runtime's entry.
fn futures_executor_lite(fut: impl Future<Output = ()>) {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(
        fut.as_mut().poll(&mut cx).is_ready(),
        "a benchmark hook waited"
    );
}

fn inline(rt: &Runtime) {
    println!("inline phase: heap allocations (bytes) per phase; per hook from the phase of 100");
    print!("{:<14}", "kind");
    for n in PHASE_SIZES {
        print!("{:>18}", format!("{n} hooks"));
    }
    println!("{:>18}", "per hook");
    for (kind, make) in INLINE_KINDS {
        print!("{kind:<14}");
        let mut empty = (0.0, 0.0);
        let mut full = (0.0, 0.0);
        for n in PHASE_SIZES {
            let (allocs, bytes) = per_phase(rt, &phase(make, n));
            print!("{:>18}", per((allocs, bytes), 1.0));
            if n == 0 {
                empty = (allocs, bytes);
            }
            full = (allocs, bytes);
        }
        let last = *PHASE_SIZES.last().unwrap() as f64;
        println!("{:>18}", per((full.0 - empty.0, full.1 - empty.1), last));
    }
}

fn background(rt: &Runtime) {
    const HOOKS: usize = 10_000;
    let dispatcher = Dispatcher::default();
    let hooks = vec![hook_ref(background_noop)];
    let mut cx = context();
    rt.block_on(async {
        // Warm up: the in-flight table grows to HOOKS entries once.
        for _ in 0..HOOKS {
            dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
        }
        dispatcher.wait_idle().await;
        // On a current-thread runtime the spawned hooks cannot run before
        // the caller yields: the first region is the caller's side alone.
        let caller = count(|| {
            futures_executor_lite(async {
                for _ in 0..HOOKS {
                    dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
                }
            })
        });
        let region = Region::new(GLOBAL);
        dispatcher.wait_idle().await;
        let done = totals(&region.change());
        println!("\nbackground hook: heap allocations (bytes) per hook, {HOOKS} hooks");
        println!(
            "{:<34}{:>18}",
            "caller's side (snapshot + spawn)",
            per_item(caller, HOOKS)
        );
        println!(
            "{:<34}{:>18}",
            "the hook's task (run + finish)",
            per_item(done, HOOKS)
        );
    });
}

fn lookup() {
    let _ = registry::get("sync_refs").unwrap();
    let by_name = count(|| {
        for _ in 0..ROUNDS {
            std::hint::black_box(registry::get(std::hint::black_box("sync_refs")).unwrap());
        }
    });
    let by_path = count(|| {
        for _ in 0..ROUNDS {
            std::hint::black_box(
                registry::get(std::hint::black_box("allocations::common::sync_refs")).unwrap(),
            );
        }
    });
    println!("\nregistry: heap allocations (bytes) per lookup");
    println!(
        "{:<34}{:>18}",
        "get(\"sync_refs\")",
        per_item(by_name, ROUNDS)
    );
    println!(
        "{:<34}{:>18}",
        "get(\"<module path>::sync_refs\")",
        per_item(by_path, ROUNDS)
    );
}

fn main() {
    // `cargo bench` passes criterion-style arguments; there is nothing to
    // configure here, so they are ignored.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    inline(&rt);
    background(&rt);
    lookup();
}
