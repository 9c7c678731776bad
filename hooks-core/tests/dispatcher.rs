//! The dispatcher's semantics: order, mutation, checks, panics,
//! background copies, not waiting, the global flag, shutdown.
#![allow(clippy::assertions_on_constants)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use hooks_core::{
    CheckError, CheckTrigger, Dispatcher, DispatcherConfig, Hook, HookCall, HookContext, HookEvent,
    HookMeta, HookRef, RunId, RunInput, RunOutput, WhenFull, hook, hook_ref,
};
use support::{Gate, Log, context, harness};

/// Deadlock guard only: a test that would hang fails instead. Never a
/// speed assertion.
const GUARD: Duration = Duration::from_secs(30);

#[hook]
fn first(log: &Log, run_input: &RunInput) {
    log.push(format!("first:{}", run_input.input_content));
}

#[hook]
async fn second(run_input: &RunInput, log: &Log) {
    tokio::task::yield_now().await;
    log.push(format!("second:{}", run_input.input_content));
}

#[hook]
fn shout(run_input: &mut RunInput) {
    run_input.input_content = run_input.input_content.to_uppercase();
}

#[hook]
fn reject_secrets(run_input: &RunInput) -> Result<(), CheckError> {
    if run_input.input_content.contains("secret") {
        return Err(CheckError::input(
            "no secrets",
            CheckTrigger::InputNotAllowed,
        ));
    }
    Ok(())
}

#[hook]
fn explode(log: &Log) {
    log.push("explode");
    panic!("boom");
}

#[hook]
fn fails(log: &Log) -> Result<(), std::io::Error> {
    log.push("fails");
    Err(std::io::Error::other("disk full"))
}

#[hook]
fn observer(log: &Log, run_id: &RunId) {
    log.push(format!("observer:{run_id}"));
}

#[hook(run_in_background = true)]
async fn waits_for_gate(gate: &Gate, run_input: &RunInput) {
    let _permit = gate.open.acquire().await.expect("gate closed");
    let _ = gate
        .done
        .send(format!("background saw:{}", run_input.input_content));
}

#[hook]
async fn gated_observer(gate: &Gate) {
    let _permit = gate.open.acquire().await.expect("gate closed");
    let _ = gate.done.send("gated_observer done".to_owned());
}

fn list(hooks: Vec<HookRef>) -> Vec<HookRef> {
    hooks
}

#[tokio::test]
async fn inline_hooks_run_in_list_order() {
    let h = harness();
    let mut cx = context("hi", &h.extensions);
    let hooks = list(vec![hook_ref(second), hook_ref(first), hook_ref(second)]);
    let mut events = Vec::new();
    Dispatcher::default()
        .run_phase_observed(&hooks, &mut cx, |e, _| {
            if let HookEvent::Started { name, .. } = e {
                events.push(name.to_owned());
            }
        })
        .await
        .unwrap();
    assert_eq!(h.log.entries(), ["second:hi", "first:hi", "second:hi"]);
    assert_eq!(events, ["second", "first", "second"]);
}

#[tokio::test]
async fn a_change_is_seen_by_the_next_hook() {
    let h = harness();
    let mut cx = context("hello", &h.extensions);
    let hooks = list(vec![hook_ref(first), hook_ref(shout), hook_ref(second)]);
    Dispatcher::default()
        .run_phase(&hooks, &mut cx)
        .await
        .unwrap();
    assert_eq!(h.log.entries(), ["first:hello", "second:HELLO"]);
    assert_eq!(cx.input().input_content, "HELLO");
}

#[tokio::test]
async fn a_check_error_stops_the_phase() {
    let h = harness();
    let mut cx = context("a secret", &h.extensions);
    let hooks = list(vec![
        hook_ref(first),
        hook_ref(reject_secrets),
        hook_ref(second),
    ]);
    let dispatcher = Dispatcher::default();
    let err = dispatcher.run_phase(&hooks, &mut cx).await.unwrap_err();
    assert_eq!(err.trigger, CheckTrigger::InputNotAllowed);
    assert_eq!(err.message, "no secrets");
    assert_eq!(h.log.entries(), ["first:a secret"], "second must not run");
    assert_eq!(dispatcher.stats().inline_checks_failed, 1);
}

#[tokio::test]
async fn a_panicking_or_failing_hook_does_not_fail_the_run() {
    let h = harness();
    let mut cx = context("x", &h.extensions);
    let hooks = list(vec![hook_ref(explode), hook_ref(fails), hook_ref(first)]);
    let dispatcher = Dispatcher::default();
    dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
    assert_eq!(h.log.entries(), ["explode", "fails", "first:x"]);
    let stats = dispatcher.stats();
    assert_eq!(stats.inline_panicked, 1);
    assert_eq!(stats.inline_failed, 1);
    assert_eq!(stats.inline_run, 3);
}

/// A hand-written background hook that changes its context: its change
/// must land on its own copy, never on the run.
struct Scribbler;

static SCRIBBLER: HookMeta = HookMeta {
    run_in_background: true,
    ..HookMeta::new("scribbler")
};

impl Hook for Scribbler {
    fn meta(&self) -> &'static HookMeta {
        &SCRIBBLER
    }
    fn call<'a>(&'a self, cx: &'a mut HookContext) -> HookCall<'a> {
        cx.input_mut().input_content.push_str(" scribbled");
        let seen = cx.input().input_content.clone();
        let gate = cx.shared().extensions.get::<Gate>().expect("gate");
        let _ = gate.done.send(seen);
        HookCall::Ready(Ok(()))
    }
}

#[tokio::test]
async fn background_hooks_work_on_a_copy() {
    let mut h = harness();
    let mut cx = context("original", &h.extensions);
    let hooks = list(vec![hook_ref(Scribbler), hook_ref(second)]);
    let dispatcher = Dispatcher::default();
    dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
    let seen = tokio::time::timeout(GUARD, h.done.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen, "original scribbled", "the hook changed its copy");
    assert_eq!(cx.input().input_content, "original", "the run is unchanged");
    assert_eq!(h.log.entries(), ["second:original"]);
}

#[tokio::test]
async fn the_caller_does_not_wait_for_background_hooks() {
    let mut h = harness();
    let mut cx = context("ping", &h.extensions);
    let hooks = list(vec![hook_ref(waits_for_gate), hook_ref(first)]);
    let dispatcher = Dispatcher::default();
    // The background hook can only finish after the gate opens, and the
    // gate opens only after run_phase returned: had run_phase waited for
    // it, this would deadlock (and the guard would fail the test).
    tokio::time::timeout(GUARD, dispatcher.run_phase(&hooks, &mut cx))
        .await
        .expect("run_phase waited for a background hook")
        .unwrap();
    assert_eq!(h.log.entries(), ["first:ping"]);
    assert!(
        h.done.try_recv().is_err(),
        "background hook cannot have finished yet"
    );
    assert_eq!(dispatcher.stats().in_flight, 1);
    h.open.add_permits(1);
    let seen = tokio::time::timeout(GUARD, h.done.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen, "background saw:ping");
    dispatcher.wait_idle().await;
    let stats = dispatcher.stats();
    assert_eq!((stats.spawned, stats.completed, stats.in_flight), (1, 1, 0));
}

#[tokio::test]
async fn background_hook_sees_the_input_at_its_position() {
    let mut h = harness();
    let mut cx = context("quiet", &h.extensions);
    let hooks = list(vec![hook_ref(shout), hook_ref(waits_for_gate)]);
    let dispatcher = Dispatcher::default();
    dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
    h.open.add_permits(1);
    let seen = tokio::time::timeout(GUARD, h.done.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen, "background saw:QUIET");
}

#[tokio::test]
async fn global_flag_moves_observers_but_not_mutating_or_blocking_hooks() {
    let mut h = harness();
    let mut cx = context("hey", &h.extensions);
    let hooks = list(vec![
        hook_ref(gated_observer),
        hook_ref(shout),
        hook_ref(reject_secrets),
        hook_ref(observer),
    ]);
    assert!(gated_observer::META.movable_to_background());
    assert!(!shout::META.movable_to_background());
    assert!(!reject_secrets::META.movable_to_background());
    let dispatcher = Dispatcher::new(DispatcherConfig {
        run_hooks_in_background: true,
        ..Default::default()
    });
    let mut inline = Vec::new();
    // gated_observer blocks until the gate opens: it must have been moved
    // to the background, or this would deadlock.
    tokio::time::timeout(
        GUARD,
        dispatcher.run_phase_observed(&hooks, &mut cx, |e, _| {
            if let HookEvent::Started { name, .. } = e {
                inline.push(name.to_owned());
            }
        }),
    )
    .await
    .expect("an observer was kept inline")
    .unwrap();
    assert_eq!(inline, ["shout", "reject_secrets"]);
    assert_eq!(cx.input().input_content, "HEY");
    h.open.add_permits(1);
    assert_eq!(
        tokio::time::timeout(GUARD, h.done.recv())
            .await
            .unwrap()
            .unwrap(),
        "gated_observer done"
    );
    dispatcher.wait_idle().await;
    assert_eq!(h.log.entries(), ["observer:run-1"]);
}

#[tokio::test]
async fn global_flag_holds_back_observers_when_a_check_rejects() {
    let h = harness();
    let mut cx = context("secret", &h.extensions);
    let hooks = list(vec![hook_ref(observer), hook_ref(reject_secrets)]);
    let dispatcher = Dispatcher::new(DispatcherConfig {
        run_hooks_in_background: true,
        ..Default::default()
    });
    assert!(dispatcher.run_phase(&hooks, &mut cx).await.is_err());
    dispatcher.wait_idle().await;
    assert_eq!(dispatcher.stats().spawned, 0);
    assert!(h.log.entries().is_empty());
}

#[tokio::test]
async fn one_failing_background_hook_does_not_affect_another() {
    #[hook(run_in_background = true)]
    fn bg_panics() {
        panic!("background boom");
    }
    #[hook(run_in_background = true)]
    fn bg_logs(log: &Log) {
        log.push("bg_logs");
    }
    let h = harness();
    let mut cx = context("x", &h.extensions);
    let hooks = list(vec![hook_ref(bg_panics), hook_ref(bg_logs)]);
    let dispatcher = Dispatcher::default();
    dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
    dispatcher.wait_idle().await;
    let stats = dispatcher.stats();
    assert_eq!((stats.panicked, stats.completed), (1, 1));
    assert_eq!(h.log.entries(), ["bg_logs"]);
}

#[tokio::test]
async fn shutdown_drains_in_flight_hooks() {
    let mut h = harness();
    let dispatcher = Dispatcher::default();
    for i in 0..5 {
        let mut cx = context(&format!("n{i}"), &h.extensions);
        dispatcher
            .run_phase(&[hook_ref(waits_for_gate)], &mut cx)
            .await
            .unwrap();
    }
    assert_eq!(dispatcher.stats().in_flight, 5);
    let drain = tokio::spawn({
        let dispatcher = dispatcher.clone();
        async move { dispatcher.shutdown(GUARD).await }
    });
    // New work is refused once shutdown began.
    while !dispatcher.is_shut_down() {
        tokio::task::yield_now().await;
    }
    let mut cx = context("late", &h.extensions);
    dispatcher
        .run_phase(&[hook_ref(waits_for_gate)], &mut cx)
        .await
        .unwrap();
    h.open.add_permits(5);
    let report = drain.await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!((report.waited_for, report.finished), (5, 5));
    assert_eq!(report.stats.rejected, 1);
    let mut seen = Vec::new();
    while let Ok(s) = h.done.try_recv() {
        seen.push(s);
    }
    seen.sort();
    assert_eq!(seen.len(), 5, "{seen:?}");
}

#[tokio::test(start_paused = true)]
async fn shutdown_reports_what_it_had_to_cut() {
    let h = harness();
    let dispatcher = Dispatcher::default();
    let mut cx = context("stuck", &h.extensions);
    dispatcher
        .run_phase(&[hook_ref(waits_for_gate)], &mut cx)
        .await
        .unwrap();
    // The gate never opens; with paused time the deadline passes at once.
    let report = dispatcher.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.cut.len(), 1);
    assert_eq!(report.cut[0].name, "waits_for_gate");
    assert_eq!(report.cut[0].run_id, "run-1");
    assert_eq!(report.stats.cut, 1);
    assert_eq!(report.stats.in_flight, 0);
}

#[tokio::test]
async fn a_full_queue_refuses_loudly_instead_of_growing() {
    let mut h = harness();
    let dispatcher = Dispatcher::new(DispatcherConfig {
        max_concurrent: 1,
        max_pending: 2,
        ..Default::default()
    });
    for _ in 0..4 {
        let mut cx = context("q", &h.extensions);
        dispatcher
            .run_phase(&[hook_ref(waits_for_gate)], &mut cx)
            .await
            .unwrap();
    }
    let stats = dispatcher.stats();
    assert_eq!((stats.spawned, stats.rejected, stats.in_flight), (2, 2, 2));
    h.open.add_permits(2);
    for _ in 0..2 {
        tokio::time::timeout(GUARD, h.done.recv())
            .await
            .unwrap()
            .unwrap();
    }
    dispatcher.wait_idle().await;
    assert_eq!(dispatcher.stats().completed, 2);
}

#[tokio::test]
async fn a_byte_budget_bounds_what_pending_hooks_hold() {
    let mut h = harness();
    let big = "x".repeat(600_000);
    let dispatcher = Dispatcher::new(DispatcherConfig {
        max_pending_bytes: 1_000_000,
        ..Default::default()
    });
    // One run of 600 kB: alone, let in (even past the budget, it would be).
    let mut cx = context(&big, &h.extensions);
    assert!(cx.approx_bytes() >= 600_000);
    dispatcher
        .run_phase(&[hook_ref(waits_for_gate)], &mut cx)
        .await
        .unwrap();
    // A second one would hold 1.2 MB: refused, though max_pending is far.
    let mut cx = context(&big, &h.extensions);
    dispatcher
        .run_phase(&[hook_ref(waits_for_gate)], &mut cx)
        .await
        .unwrap();
    // A small one still fits.
    let mut cx = context("small", &h.extensions);
    dispatcher
        .run_phase(&[hook_ref(waits_for_gate)], &mut cx)
        .await
        .unwrap();
    let stats = dispatcher.stats();
    assert_eq!((stats.spawned, stats.rejected), (2, 1));
    assert!(
        (600_000..1_000_000).contains(&stats.pending_bytes),
        "{stats:?}"
    );
    h.open.add_permits(2);
    for _ in 0..2 {
        tokio::time::timeout(GUARD, h.done.recv())
            .await
            .unwrap()
            .unwrap();
    }
    dispatcher.wait_idle().await;
    assert_eq!(dispatcher.stats().pending_bytes, 0, "released when done");
    // With the room back, a large one is let in again.
    let mut cx = context(&big, &h.extensions);
    dispatcher
        .run_phase(&[hook_ref(waits_for_gate)], &mut cx)
        .await
        .unwrap();
    assert_eq!(dispatcher.stats().spawned, 3);
    h.open.add_permits(1);
    dispatcher.wait_idle().await;
}

/// Yields to the (current-thread) runtime until `done` holds; a bounded
/// number of turns, so a broken build fails instead of spinning.
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition not reached");
}

/// A `WhenFull::Wait` dispatcher with room for one background hook, taken
/// by the run "first" (its hook waits on the gate), and the run "second"
/// started on its own task and waiting for room.
async fn full_dispatcher_and_a_waiting_run(
    h: &support::Harness,
) -> (Dispatcher, tokio::task::JoinHandle<Result<(), CheckError>>) {
    let dispatcher = Dispatcher::new(DispatcherConfig {
        max_pending: 1,
        when_full: WhenFull::Wait,
        ..Default::default()
    });
    let mut cx = context("first", &h.extensions);
    dispatcher
        .run_phase(&[hook_ref(waits_for_gate)], &mut cx)
        .await
        .unwrap();
    let second_run = tokio::spawn({
        let (dispatcher, extensions) = (dispatcher.clone(), h.extensions.clone());
        async move {
            let mut cx = context("second", &extensions);
            dispatcher
                .run_phase(&[hook_ref(waits_for_gate)], &mut cx)
                .await
        }
    });
    until(|| dispatcher.stats().waited == 1).await;
    (dispatcher, second_run)
}

#[tokio::test]
async fn when_full_wait_holds_the_phase_until_there_is_room() {
    let mut h = harness();
    let (dispatcher, second_run) = full_dispatcher_and_a_waiting_run(&h).await;
    assert!(
        !second_run.is_finished(),
        "the phase waits while the dispatcher is full"
    );
    let stats = dispatcher.stats();
    assert_eq!((stats.spawned, stats.rejected, stats.in_flight), (1, 0, 1));

    // The first hook finishes: the second is let in, and nothing was lost.
    h.open.add_permits(1);
    tokio::time::timeout(GUARD, second_run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    h.open.add_permits(1);
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(
            tokio::time::timeout(GUARD, h.done.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    seen.sort();
    assert_eq!(seen, ["background saw:first", "background saw:second"]);
    dispatcher.wait_idle().await;
    let stats = dispatcher.stats();
    assert_eq!((stats.completed, stats.rejected, stats.waited), (2, 0, 1));
}

#[tokio::test(start_paused = true)]
async fn shutdown_refuses_the_callers_waiting_for_room() {
    let h = harness();
    let (dispatcher, waiting) = full_dispatcher_and_a_waiting_run(&h).await;
    // The gate never opens: the running hook is cut at the deadline and the
    // waiting caller is refused, not left hanging.
    let report = dispatcher.shutdown(Duration::from_secs(5)).await;
    tokio::time::timeout(GUARD, waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(report.cut.len(), 1);
    let stats = dispatcher.stats();
    assert_eq!((stats.spawned, stats.rejected, stats.cut), (1, 1, 1));
}

#[tokio::test]
async fn post_hooks_change_the_output() {
    #[hook]
    fn sign(run_output: &mut RunOutput, run_input: &RunInput) {
        let content = run_output.content.get_or_insert_default();
        content.push_str(&format!(" (re: {})", run_input.input_content));
    }
    let h = harness();
    let mut cx = context("q", &h.extensions);
    cx.enter_post(RunOutput {
        content: Some("answer".into()),
        ..Default::default()
    });
    Dispatcher::default()
        .run_phase(&[hook_ref(sign)], &mut cx)
        .await
        .unwrap();
    assert_eq!(
        cx.output().unwrap().content.as_deref(),
        Some("answer (re: q)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_hook_runs_on_the_blocking_pool_and_keeps_its_changes() {
    #[hook(blocking = true)]
    fn slow_upper(run_input: &mut RunInput) {
        std::thread::sleep(Duration::from_millis(1));
        run_input.input_content = run_input.input_content.to_uppercase();
    }
    assert!(slow_upper::META.blocking);
    let h = harness();
    let mut cx = context("abc", &h.extensions);
    Dispatcher::default()
        .run_phase(&[hook_ref(slow_upper), hook_ref(first)], &mut cx)
        .await
        .unwrap();
    assert_eq!(h.log.entries(), ["first:ABC"]);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_inline_hook_is_cut_by_its_timeout() {
    #[hook]
    async fn hangs() {
        std::future::pending::<()>().await;
    }
    let h = harness();
    let mut cx = context("t", &h.extensions);
    let dispatcher = Dispatcher::new(DispatcherConfig {
        hook_timeout: Some(Duration::from_secs(1)),
        ..Default::default()
    });
    dispatcher
        .run_phase(&[hook_ref(hangs), hook_ref(first)], &mut cx)
        .await
        .unwrap();
    assert_eq!(dispatcher.stats().inline_timed_out, 1);
    assert_eq!(h.log.entries(), ["first:t"]);
}

#[test]
fn metadata_is_what_the_macro_saw() {
    let m = waits_for_gate::META;
    assert_eq!(m.name, "waits_for_gate");
    assert!(m.is_async && m.run_in_background && !m.mutates && !m.can_block);
    assert!(m.phases.pre && m.phases.post);
    assert!(m.module_path.ends_with("dispatcher"));
    assert!(m.file.ends_with("dispatcher.rs"));
    assert!(m.line > 0);
    assert!(shout::META.mutates && shout::META.phases.pre && !shout::META.phases.post);
    assert!(reject_secrets::META.can_block);
    assert!(
        !fails::META.can_block,
        "an io::Error cannot carry a check error"
    );
    assert_eq!(Arc::new(first).meta().name, "first");
}

/// Every log line, kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A program that drops its last dispatcher handle (its agent) with a
/// background hook still running, without `shutdown`, is told so: the
/// hook would be cut in silence when the runtime stops.
#[tokio::test(flavor = "current_thread")]
async fn dropping_the_last_handle_with_hooks_running_warns() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let h = harness();
    let mut cx = context("late", &h.extensions);
    let hooks = list(vec![hook_ref(waits_for_gate)]);
    let dispatcher = Dispatcher::default();
    let clone = dispatcher.clone();
    dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
    drop(clone);
    let text = || String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(!text().contains("last handle"), "a handle remains");
    drop(dispatcher);
    assert!(text().contains("`agent.shutdown(deadline)`"), "{}", text());

    // After a shutdown, dropping says nothing more.
    let warnings = || text().matches("last handle").count();
    assert_eq!(warnings(), 1);
    let mut cx = context("later", &h.extensions);
    let dispatcher = Dispatcher::default();
    dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
    let _ = dispatcher.shutdown(std::time::Duration::ZERO).await;
    drop(dispatcher);
    assert_eq!(warnings(), 1);
}

/// The child half of `without_a_subscriber_the_warning_goes_to_stderr`,
/// run only by it (`--ignored`, `HOOKS_CHILD=1`): no `tracing` subscriber,
/// a hook still running, the last handle dropped.
#[tokio::test]
#[ignore = "a child process of without_a_subscriber_the_warning_goes_to_stderr"]
async fn no_subscriber_child() {
    assert!(
        std::env::var_os("HOOKS_CHILD").is_some(),
        "run by its parent test only"
    );
    let h = harness();
    let mut cx = context("unheard", &h.extensions);
    let hooks = list(vec![hook_ref(waits_for_gate)]);
    let dispatcher = Dispatcher::default();
    dispatcher.run_phase(&hooks, &mut cx).await.unwrap();
    drop(dispatcher);
}

#[test]
fn without_a_subscriber_the_warning_goes_to_stderr() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "no_subscriber_child", "--ignored", "--nocapture"])
        .env("HOOKS_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("1 passed"),
        "the child ran: {stdout}{stderr}"
    );
    assert!(
        stderr.contains("WARN hooks_core: the last handle to a dispatcher was dropped")
            && stderr.contains("`agent.shutdown(deadline)`"),
        "{stderr}"
    );
}
