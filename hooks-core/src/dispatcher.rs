//! The dispatcher: runs the hooks of a phase inline or in the background.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::guard::run_guarded;
use crate::stats::{Counters, bump, drop_one};
use crate::{
    CheckError, DispatcherConfig, DispatcherStats, Hook, HookContext, HookError, HookMeta,
    HookMode, HookObserver, HookOutcome, HookRef, HookRun, JobSink, NoJobs, Phase, RunShared,
    ShutdownReport, WhenFull,
};

/// What the dispatcher tells an observer while a phase runs (streaming
/// agents turn these into `PreHookStarted`/`PreHookCompleted` events).
/// Background hooks emit none, as in Agno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookEvent<'a> {
    /// An inline hook is about to run.
    Started {
        /// The hook's name.
        name: &'a str,
        /// The phase.
        phase: Phase,
    },
    /// An inline hook finished (with or without a non-check error).
    Completed {
        /// The hook's name.
        name: &'a str,
        /// The phase.
        phase: Phase,
    },
}

/// Whether a background hook may start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// A place among the `max_pending` was taken for it.
    Accepted,
    /// `max_pending` hooks are in flight.
    Full,
    /// The dispatcher is shutting down.
    Closed,
}

/// A background hook accepted and not yet finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlightHook {
    /// The hook's name.
    pub name: &'static str,
    /// The run it was started for.
    pub run_id: String,
}

/// Runs hooks: inline ones in order on the caller's task, background ones
/// on a tracked, bounded set of tasks the caller never waits for.
///
/// Cloning is cheap and clones share everything (counters, tasks). Works
/// in any tokio program; [`Dispatcher::shutdown`] drains it.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
    /// Shared by the clones a program holds, not by the hooks' tasks: when
    /// the last one goes, [`LastHandle`] warns of hooks still running.
    _handles: Arc<LastHandle>,
}

/// Dropped with the last [`Dispatcher`] handle (the agent, the server): if
/// background hooks are still running and nobody called
/// [`Dispatcher::shutdown`], they are cut when the runtime stops (a
/// program whose `main` returns). Say so, once, instead of losing them in
/// silence.
struct LastHandle(Arc<Inner>);

impl Drop for LastHandle {
    fn drop(&mut self) {
        let inner = &self.0;
        let running = inner.counters.in_flight.load(Ordering::Acquire);
        if running > 0 && !inner.closed.load(Ordering::Acquire) {
            const WHY: &str = "the last handle to a dispatcher was dropped with background hooks \
                 still running: they are cut when the runtime stops; call `shutdown(deadline)` \
                 on it (for an agent: `agent.shutdown(deadline)`) before the program exits";
            let heard =
                tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>());
            if heard {
                tracing::warn!(running, "{WHY}");
            } else {
                // No subscriber would show it: a program that installed
                // none (one that runs agents without the server) must
                // still hear that its hooks are about to be lost.
                eprintln!("WARN hooks_core: {WHY} (running={running})");
            }
        }
    }
}

struct Inner {
    config: DispatcherConfig,
    global_background: AtomicBool,
    closed: AtomicBool,
    tracker: TaskTracker,
    /// Bounds the background hooks running at once; `None` when
    /// `max_concurrent >= max_pending`, where it could never make one wait
    /// (and would only cost each hook a lock of its wait list on release).
    slots: Option<Semaphore>,
    /// Set (then `cut_now` notified) when a shutdown deadline passes. A
    /// flag and a `Notify` rather than a `CancellationToken`: the token
    /// takes one mutex, shared by every task, to clone, check, wait on and
    /// drop; a hook that finishes on its first poll now never touches a
    /// lock here.
    cut: AtomicBool,
    cut_now: Notify,
    /// Callers waiting for room under [`WhenFull::Wait`], and how they are
    /// woken: a finishing hook notifies one only when this is non-zero, so
    /// the default policy never touches the `Notify`.
    waiting: AtomicU64,
    room: Notify,
    counters: Counters,
    next_id: AtomicU64,
    in_flight: InFlightTable,
    /// Told of every hook as it ends ([`Dispatcher::observe`]); without
    /// one, no clock is read.
    observer: OnceLock<Arc<dyn HookObserver>>,
}

impl Inner {
    /// Tells the observer, if any, how a hook ended.
    fn observed(
        &self,
        meta: &HookMeta,
        phase: Phase,
        mode: HookMode,
        outcome: HookOutcome,
        started: Option<Instant>,
    ) {
        if let Some(observer) = self.observer.get() {
            observer.finished(HookRun {
                meta,
                phase,
                mode,
                outcome,
                elapsed: started.map(|s| s.elapsed()).unwrap_or_default(),
            });
        }
    }

    /// The time now, when an observer will want the hook's duration.
    fn clock(&self) -> Option<Instant> {
        self.observer.get().map(|_| Instant::now())
    }
}

/// The background hooks accepted and not yet finished, for
/// [`Dispatcher::in_flight`] and shutdown reports.
///
/// Every background hook is inserted by the caller and removed by the
/// worker that finishes it. One table under one lock, holding a copy of
/// each run id, took about a third of the time to spawn and complete 100k
/// no-op hooks (BENCHMARKS.md). Sharded by id, the caller inserting hook
/// `n` and a worker removing an earlier one mostly take different locks;
/// an entry keeps the run's shared part (a reference count, which the
/// hook's snapshot holds anyway) instead of a copy of the run id (an
/// allocation), and the id is copied only when listed. The shards are made
/// by the first background hook, so a dispatcher that never runs one (an
/// agent's own, built per request) does not pay for them.
#[derive(Default)]
struct InFlightTable {
    shards: OnceLock<Box<[InFlightShard]>>,
}

/// One shard, alone on its cache lines so two cores working on
/// neighbouring shards do not contend on the line either.
#[repr(align(128))]
#[derive(Default)]
struct InFlightShard(Mutex<HashMap<u64, (&'static str, Arc<RunShared>)>>);

impl InFlightTable {
    /// A power of two, so the shard is the id's low bits.
    const SHARDS: usize = 16;

    fn shard(&self, id: u64) -> MutexGuard<'_, HashMap<u64, (&'static str, Arc<RunShared>)>> {
        let shards = self.shards.get_or_init(|| {
            (0..Self::SHARDS)
                .map(|_| InFlightShard::default())
                .collect()
        });
        shards[id as usize % Self::SHARDS]
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn insert(&self, id: u64, name: &'static str, shared: Arc<RunShared>) {
        self.shard(id).insert(id, (name, shared));
    }

    fn remove(&self, id: u64) {
        // The entry is dropped after the lock is released.
        let entry = self.shard(id).remove(&id);
        drop(entry);
    }

    fn list(&self) -> Vec<InFlightHook> {
        let mut hooks = Vec::new();
        for shard in self.shards.get().into_iter().flatten() {
            let map = shard.0.lock().unwrap_or_else(|e| e.into_inner());
            hooks.extend(map.values().map(|(name, shared)| InFlightHook {
                name,
                run_id: shared.run_id.0.clone(),
            }));
        }
        hooks
    }
}

impl Default for Dispatcher {
    fn default() -> Self {
        Self::new(DispatcherConfig::default())
    }
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("config", &self.inner.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Dispatcher {
    /// A dispatcher with `config`.
    pub fn new(config: DispatcherConfig) -> Self {
        let slots = (config.max_concurrent < config.max_pending)
            .then(|| Semaphore::new(config.max_concurrent.max(1)));
        let inner = Arc::new(Inner {
            global_background: AtomicBool::new(config.run_hooks_in_background),
            config,
            closed: AtomicBool::new(false),
            tracker: TaskTracker::new(),
            slots,
            cut: AtomicBool::new(false),
            cut_now: Notify::new(),
            waiting: AtomicU64::new(0),
            room: Notify::new(),
            counters: Counters::default(),
            next_id: AtomicU64::new(0),
            in_flight: InFlightTable::default(),
            observer: OnceLock::new(),
        });
        Self {
            _handles: Arc::new(LastHandle(inner.clone())),
            inner,
        }
    }

    /// The settings it was made with.
    pub fn config(&self) -> &DispatcherConfig {
        &self.inner.config
    }

    /// Whether the global `run_hooks_in_background` is on.
    pub fn run_hooks_in_background(&self) -> bool {
        self.inner.global_background.load(Ordering::Relaxed)
    }

    /// Turns the global `run_hooks_in_background` on or off.
    pub fn set_run_hooks_in_background(&self, on: bool) {
        self.inner.global_background.store(on, Ordering::Relaxed);
    }

    /// Whether `meta` runs in the background under the current settings.
    pub fn runs_in_background(&self, meta: &HookMeta) -> bool {
        meta.runs_in_background(self.run_hooks_in_background())
    }

    /// Installs `observer`, told of every hook this dispatcher (and every
    /// clone of it) runs from now on, as it ends: where it ran, how it
    /// ended, how long it took. One per dispatcher: `false` if one was
    /// installed already (it stays).
    pub fn observe(&self, observer: Arc<dyn HookObserver>) -> bool {
        self.inner.observer.set(observer).is_ok()
    }

    /// The counters now.
    pub fn stats(&self) -> DispatcherStats {
        self.inner.counters.snapshot()
    }

    /// The background hooks accepted and not yet finished.
    pub fn in_flight(&self) -> Vec<InFlightHook> {
        self.inner.in_flight.list()
    }

    /// Whether [`Dispatcher::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Logs the hooks of `hooks` that the global flag (`global`) cannot move
    /// to the background because they change or can block the run (call it
    /// once, at start-up).
    pub fn log_pinned_inline(&self, agent: &str, phase: Phase, hooks: &[HookRef], global: bool) {
        if !global {
            return;
        }
        for hook in hooks {
            let meta = hook.meta();
            if !meta.runs_in_background(true) {
                tracing::info!(
                    agent,
                    hook = meta.name,
                    phase = %phase,
                    mutates = meta.mutates,
                    can_block = meta.can_block,
                    "run_hooks_in_background is on, but this hook stays inline: it changes or can block the run"
                );
            }
        }
    }

    /// Runs `hooks` on `cx` in order (see [`Dispatcher::run_phase_observed`]).
    pub async fn run_phase(
        &self,
        hooks: &[HookRef],
        cx: &mut HookContext,
    ) -> Result<(), CheckError> {
        self.run_phase_observed(hooks, cx, |_, _| {}).await
    }

    /// Runs `hooks` on `cx` in order, telling `observe` when each inline
    /// hook starts and ends (with the run as it is at that moment).
    ///
    /// - An inline hook is awaited; its changes are seen by the next hook.
    /// - A hook with `run_in_background = true` is handed a snapshot at its
    ///   position and spawned; the caller does not wait for it.
    /// - A hook the global flag moves to the background is spawned the same
    ///   way once every inline hook of the phase passed (so a guardrail that
    ///   rejects the run also holds back the observers, as Agno does).
    /// - A check error from an inline hook stops the phase and is returned.
    ///   Any other error or a panic is logged with hook name and run id,
    ///   counted, and the phase goes on.
    pub async fn run_phase_observed(
        &self,
        hooks: &[HookRef],
        cx: &mut HookContext,
        observe: impl FnMut(HookEvent<'_>, &HookContext),
    ) -> Result<(), CheckError> {
        self.run_phase_with(hooks, cx, self.run_hooks_in_background(), observe)
            .await
    }

    /// [`Dispatcher::run_phase_observed`] with the global
    /// `run_hooks_in_background` given for this call (an agent that turns it
    /// on for itself, on a dispatcher shared with others).
    pub async fn run_phase_with(
        &self,
        hooks: &[HookRef],
        cx: &mut HookContext,
        global: bool,
        observe: impl FnMut(HookEvent<'_>, &HookContext),
    ) -> Result<(), CheckError> {
        self.run_phase_into(hooks, cx, global, &mut NoJobs, observe)
            .await
    }

    /// [`Dispatcher::run_phase_with`], handing every background hook that
    /// `jobs` says is durable to `jobs` (with its snapshot) instead of
    /// spawning it: the caller stores those with the run and starts them
    /// itself. Durable hooks are never refused for lack of room
    /// ([`WhenFull`] concerns only the hooks spawned here).
    pub async fn run_phase_into(
        &self,
        hooks: &[HookRef],
        cx: &mut HookContext,
        global: bool,
        jobs: &mut dyn JobSink,
        mut observe: impl FnMut(HookEvent<'_>, &HookContext),
    ) -> Result<(), CheckError> {
        let phase = cx.phase();
        let mut deferred: Vec<(HookRef, HookContext)> = Vec::new();
        for hook in hooks {
            let meta = hook.meta();
            if meta.run_in_background {
                self.hand_off(hook.clone(), cx.clone(), jobs).await;
                continue;
            }
            if global && meta.movable_to_background() {
                deferred.push((hook.clone(), cx.clone()));
                continue;
            }
            observe(
                HookEvent::Started {
                    name: meta.name,
                    phase,
                },
                cx,
            );
            let (started, span) = self.inline_starts(meta, phase);
            let timeout = self.inner.config.hook_timeout;
            let result = if span.is_disabled() {
                run_guarded(&**hook, cx, timeout).await
            } else {
                run_guarded(&**hook, cx, timeout).instrument(span).await
            };
            self.inline_ended(meta, phase, &result, started);
            match result {
                Ok(()) => {}
                Err(HookError::Check(check)) => {
                    tracing::info!(
                        hook = meta.name,
                        run_id = %cx.shared().run_id,
                        phase = %phase,
                        trigger = check.trigger.as_str(),
                        "hook rejected the run: {}",
                        // A guardrail's message may quote the user's input.
                        check.message.escape_debug()
                    );
                    return Err(check);
                }
                Err(error) => {
                    tracing::error!(
                        hook = meta.name,
                        run_id = %cx.shared().run_id,
                        phase = %phase,
                        "inline hook failed, the run goes on: {}",
                        // Escaped: a hook's error may carry user text (no forged log lines).
                        error.to_string().escape_debug()
                    );
                }
            }
            observe(
                HookEvent::Completed {
                    name: meta.name,
                    phase,
                },
                cx,
            );
        }
        for (hook, snapshot) in deferred {
            self.hand_off(hook, snapshot, jobs).await;
        }
        Ok(())
    }

    /// Runs one inline hook on `cx`: its panic caught, its time limited by
    /// `hook_timeout`, counted and told to the observer. The caller
    /// decides what its error does (a phase logs it and goes on, a tool
    /// call gives it to the model).
    ///
    /// The bookkeeping is two plain calls around the hook's own future
    /// (`inline_starts`, `inline_ended`), not
    /// a future around it: a phase awaits the hook directly (an async
    /// layer here cost each sync inline hook about 13 ns, measured).
    pub async fn run_inline(&self, hook: &dyn Hook, cx: &mut HookContext) -> Result<(), HookError> {
        let (started, span) = self.inline_starts(hook.meta(), cx.phase());
        let timeout = self.inner.config.hook_timeout;
        let result = if span.is_disabled() {
            run_guarded(hook, cx, timeout).await
        } else {
            run_guarded(hook, cx, timeout).instrument(span).await
        };
        self.inline_ended(hook.meta(), cx.phase(), &result, started);
        result
    }

    /// Before an inline hook: counted, the clock read if observed, its
    /// span (a debug span: off at the default level, the run's span
    /// carries the ids of the hook's log lines anyway; and then not
    /// wrapped around the hook: the wrapper alone cost an inline hook as
    /// much as the hook).
    #[inline]
    fn inline_starts(&self, meta: &HookMeta, phase: Phase) -> (Option<Instant>, tracing::Span) {
        bump(&self.inner.counters.inline_run);
        let started = self.inner.clock();
        let span = tracing::debug_span!(
            "hook",
            hook = meta.name,
            phase = phase.as_str(),
            mode = "inline"
        );
        (started, span)
    }

    /// After an inline hook: its outcome told and counted.
    #[inline]
    fn inline_ended(
        &self,
        meta: &HookMeta,
        phase: Phase,
        result: &Result<(), HookError>,
        started: Option<Instant>,
    ) {
        let outcome = HookOutcome::of(result, HookMode::Inline);
        self.inner
            .observed(meta, phase, HookMode::Inline, outcome, started);
        let counters = &self.inner.counters;
        match result {
            Ok(()) => {}
            Err(HookError::Check(_)) => bump(&counters.inline_checks_failed),
            Err(HookError::Panicked(_)) => bump(&counters.inline_panicked),
            Err(HookError::TimedOut(_)) => bump(&counters.inline_timed_out),
            Err(_) => bump(&counters.inline_failed),
        }
    }

    /// Hands background hooks off, as a phase does: each to `jobs` when
    /// it is durable, else spawned here (the tool hooks a tool call met).
    pub async fn hand_off_all(&self, hooks: Vec<(HookRef, HookContext)>, jobs: &mut dyn JobSink) {
        for (hook, snapshot) in hooks {
            self.hand_off(hook, snapshot, jobs).await;
        }
    }

    /// A background hook leaves the phase: to `jobs` when it is durable,
    /// else spawned here.
    async fn hand_off(&self, hook: HookRef, snapshot: HookContext, jobs: &mut dyn JobSink) {
        if jobs.is_durable(hook.meta()) {
            jobs.push(hook, snapshot);
        } else {
            self.spawn_or_wait(hook, snapshot).await;
        }
    }

    /// Runs one hook to its end on `cx`, as a background hook runs: its
    /// panic caught, its time limited by `hook_timeout`. For a durable
    /// job's worker, which records the outcome itself (retry, failure);
    /// it is not counted among this dispatcher's background hooks.
    ///
    /// `limit` bounds this attempt too (the job's attempt timeout): the
    /// shorter of it and `hook_timeout` applies, and either ends the
    /// attempt as [`HookError::TimedOut`].
    pub async fn run_job(
        &self,
        hook: &dyn Hook,
        cx: &mut HookContext,
        limit: Option<Duration>,
    ) -> Result<(), HookError> {
        let started = self.inner.clock();
        let timeout = match (self.inner.config.hook_timeout, limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let result = run_guarded(hook, cx, timeout).await;
        let outcome = HookOutcome::of(&result, HookMode::Durable);
        self.inner
            .observed(hook.meta(), cx.phase(), HookMode::Durable, outcome, started);
        result
    }

    /// Starts `hook` on `snapshot` in the background. The caller never
    /// waits: the hook waits for a slot on its own task. Refused (logged,
    /// counted as `rejected`) when the dispatcher is shut down or
    /// `max_pending` hooks are already in flight, whatever
    /// [`WhenFull`] says (see [`Dispatcher::spawn_or_wait`]).
    pub fn spawn(&self, hook: HookRef, snapshot: HookContext) {
        let bytes = snapshot.approx_bytes() as u64;
        self.admit(hook, snapshot, bytes, self.reserve(bytes));
    }

    /// [`Dispatcher::spawn`], except that under [`WhenFull::Wait`] a full
    /// dispatcher makes the caller wait until a background hook finishes
    /// and there is room (phases start their background hooks this way).
    pub async fn spawn_or_wait(&self, hook: HookRef, snapshot: HookContext) {
        let bytes = snapshot.approx_bytes() as u64;
        let mut admission = self.reserve(bytes);
        if admission == Admission::Full && self.inner.config.when_full == WhenFull::Wait {
            bump(&self.inner.counters.waited);
            // Boxed: only a caller that has to wait pays for the waiting
            // state; every phase's future would otherwise carry it.
            admission = Box::pin(self.wait_for_room(bytes)).await;
        }
        self.admit(hook, snapshot, bytes, admission);
    }

    /// Starts `hook` if `admission` accepted it, else refuses it.
    fn admit(&self, hook: HookRef, snapshot: HookContext, bytes: u64, admission: Admission) {
        match admission {
            Admission::Accepted => self.start(hook, snapshot, bytes),
            refused => self.refuse(hook.meta(), &snapshot, bytes, refused),
        }
    }

    /// Takes one of the `max_pending` places and `bytes` of
    /// `max_pending_bytes`, if the dispatcher is open and both are free (a
    /// hook alone is let in whatever its size).
    fn reserve(&self, bytes: u64) -> Admission {
        let inner = &self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Admission::Closed;
        }
        let pending = inner.counters.in_flight.fetch_add(1, Ordering::AcqRel);
        if pending >= inner.config.max_pending as u64 {
            drop_one(&inner.counters.in_flight);
            return Admission::Full;
        }
        let held = inner
            .counters
            .pending_bytes
            .fetch_add(bytes, Ordering::AcqRel);
        if held > 0 && held + bytes > inner.config.max_pending_bytes as u64 {
            inner
                .counters
                .pending_bytes
                .fetch_sub(bytes, Ordering::AcqRel);
            drop_one(&inner.counters.in_flight);
            return Admission::Full;
        }
        Admission::Accepted
    }

    /// Waits until [`Dispatcher::reserve`] gives a place or the dispatcher
    /// closes.
    async fn wait_for_room(&self, bytes: u64) -> Admission {
        let inner = &self.inner;
        loop {
            let notified = inner.room.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the second look, and counted before it: a
            // hook finishing after that look sees the count and notifies a
            // registered waiter, so the wake-up cannot be missed.
            notified.as_mut().enable();
            inner.waiting.fetch_add(1, Ordering::SeqCst);
            let admission = self.reserve(bytes);
            if !matches!(admission, Admission::Full) {
                inner.waiting.fetch_sub(1, Ordering::SeqCst);
                return admission;
            }
            notified.await;
            inner.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Logs and counts a background hook that was not accepted.
    fn refuse(&self, meta: &HookMeta, snapshot: &HookContext, bytes: u64, why: Admission) {
        let inner = &self.inner;
        bump(&inner.counters.rejected);
        inner.observed(
            meta,
            snapshot.phase(),
            HookMode::Background,
            HookOutcome::Refused,
            None,
        );
        match why {
            Admission::Closed => tracing::warn!(
                hook = meta.name,
                run_id = %snapshot.shared().run_id,
                "background hook refused: the dispatcher is shutting down"
            ),
            _ => tracing::warn!(
                hook = meta.name,
                run_id = %snapshot.shared().run_id,
                bytes,
                max_pending = inner.config.max_pending,
                max_pending_bytes = inner.config.max_pending_bytes,
                "background hook refused: too many background hooks (or bytes of their runs) in flight"
            ),
        }
    }

    /// Starts an accepted background hook on its own tracked task.
    fn start(&self, hook: HookRef, mut snapshot: HookContext, bytes: u64) {
        let inner = &self.inner;
        let meta = hook.meta();
        bump(&inner.counters.spawned);
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        inner
            .in_flight
            .insert(id, meta.name, snapshot.shared_arc().clone());
        let task_inner = self.inner.clone();
        // Its log lines carry the run's id: it runs after the run's span
        // has ended, so its span is a root of its own (a child would keep
        // the run's span open, and unexported, until it ends)...
        let span = tracing::info_span!(
            parent: None,
            "hook",
            hook = meta.name,
            phase = snapshot.phase().as_str(),
            mode = "background",
            run_id = %snapshot.shared().run_id,
        );
        // ...that follows from the run's (an OpenTelemetry link).
        span.follows_from(tracing::Span::current());
        inner.tracker.spawn(async move {
            let inner = task_inner;
            // Made before the flag is read, so a shutdown's notification
            // between the two is not missed (`Notify::notify_waiters` wakes
            // every `Notified` that exists, polled or not).
            let cut = inner.cut_now.notified();
            let outcome = if inner.cut.load(Ordering::Acquire) {
                None
            } else {
                // The hook first: one that finishes on its first poll never
                // registers for the shutdown notification.
                tokio::select! {
                    biased;
                    result = async {
                        let _slot = match &inner.slots {
                            Some(slots) => Some(slots.acquire().await),
                            None => None,
                        };
                        bump(&inner.counters.running);
                        let started = inner.clock();
                        let result = run_guarded(&*hook, &mut snapshot, inner.config.hook_timeout).await;
                        drop_one(&inner.counters.running);
                        (result, started)
                    } => Some(result),
                    () = cut => None,
                }
            };
            let run_id = &snapshot.shared().run_id;
            let counters = &inner.counters;
            let phase = snapshot.phase();
            let observed = match &outcome {
                None => (HookOutcome::Cut, None),
                Some((result, started)) => (HookOutcome::of(result, HookMode::Background), *started),
            };
            inner.observed(meta, phase, HookMode::Background, observed.0, observed.1);
            match outcome.map(|(result, _)| result) {
                None => {
                    bump(&counters.cut);
                    tracing::warn!(hook = meta.name, run_id = %run_id, "background hook cut by shutdown");
                }
                Some(Ok(())) => bump(&counters.completed),
                Some(Err(error)) => {
                    match &error {
                        HookError::Panicked(_) => bump(&counters.panicked),
                        HookError::TimedOut(_) => bump(&counters.timed_out),
                        _ => bump(&counters.failed),
                    }
                    let note = if error.as_check().is_some() {
                        " (a check error from a background hook cannot stop the run)"
                    } else {
                        ""
                    };
                    tracing::error!(hook = meta.name, run_id = %run_id, "background hook failed: {}{note}", error.to_string().escape_debug());
                }
            }
            inner.in_flight.remove(id);
            counters.pending_bytes.fetch_sub(bytes, Ordering::AcqRel);
            drop_one(&counters.in_flight);
            if inner.waiting.load(Ordering::SeqCst) > 0 {
                inner.room.notify_one();
            }
        }.instrument(span));
    }

    /// Waits until every background hook accepted so far has finished,
    /// without refusing new ones (for a program that wants its hooks done
    /// before it exits).
    pub async fn wait_idle(&self) {
        let tracker = &self.inner.tracker;
        tracker.close();
        tracker.wait().await;
        if !self.inner.closed.load(Ordering::Acquire) {
            tracker.reopen();
        }
    }

    /// Stops accepting background hooks, waits up to `deadline` for those in
    /// flight, then cuts the rest and reports them (each is logged with its
    /// name and run id).
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let inner = &self.inner;
        inner.closed.store(true, Ordering::Release);
        // Callers waiting for room are refused now rather than let in.
        inner.room.notify_waiters();
        inner.tracker.close();
        let before = inner.counters.snapshot();
        let drained = tokio::time::timeout(deadline, inner.tracker.wait())
            .await
            .is_ok();
        let mut cut = Vec::new();
        if !drained {
            cut = self.in_flight();
            inner.cut.store(true, Ordering::Release);
            inner.cut_now.notify_waiters();
            inner.tracker.wait().await;
        }
        let after = inner.counters.snapshot();
        let finished = (after.completed + after.failed + after.panicked + after.timed_out)
            - (before.completed + before.failed + before.panicked + before.timed_out);
        let report = ShutdownReport {
            waited_for: before.in_flight,
            finished,
            cut,
            stats: after,
        };
        if report.cut.is_empty() {
            tracing::info!(finished = report.finished, "hook dispatcher drained");
        } else {
            tracing::warn!(
                finished = report.finished,
                cut = report.cut.len(),
                "hook dispatcher shut down with background hooks cut by the deadline"
            );
        }
        report
    }
}
