//! Graceful shutdown: the signal, then the drain.

use std::time::Duration;

use hooks_core::ShutdownReport;

use super::state::AppState;

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}

/// After the listener stopped and in-flight requests finished: waits for
/// runs still being carried out, then drains background hooks, the two
/// within `deadline`, and logs what was cut.
pub async fn drain(state: &AppState, deadline: Duration) -> ShutdownReport {
    let started = tokio::time::Instant::now();
    // Background runs still queued wait for the next start rather than
    // begin now and be cut by the deadline.
    for agent in &state.agents {
        agent.jobs().drain_begins();
    }
    state.runs.close();
    let runs = state.runs.len();
    if runs > 0 {
        tracing::info!(runs, "waiting for runs in progress");
    }
    if tokio::time::timeout(deadline, state.runs.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            runs = state.runs.len(),
            "runs still in progress at the shutdown deadline: cut"
        );
    }
    let deadline = deadline.saturating_sub(started.elapsed());
    let in_flight = state.dispatcher.stats().in_flight;
    tracing::info!(
        in_flight,
        deadline_ms = deadline.as_millis() as u64,
        "draining background hooks"
    );
    // Durable jobs drain alongside: what is still running at the deadline
    // is left queued in the store for the next start, not cut.
    let jobs = futures_util::future::join_all(
        state
            .agents
            .iter()
            .filter(|agent| agent.db().is_some())
            .map(|agent| agent.jobs().shutdown(deadline)),
    );
    let (report, jobs) = tokio::join!(state.dispatcher.shutdown(deadline), jobs);
    let (waited, released) = jobs
        .iter()
        .fold((0, 0), |(w, r), j| (w + j.waited_for, r + j.released));
    if released > 0 {
        tracing::warn!(
            released,
            "durable hooks still running at the shutdown deadline: stopped and left queued in the store; they run at the next start"
        );
    }
    tracing::info!(waited_for = waited, released, "durable jobs drained");
    // The traces of the runs that ended are written before the store
    // closes (within what is left of the deadline, at least a second).
    let flushed = futures_util::future::join_all(state.agents.iter().map(|a| a.flush_traces()));
    let left = deadline
        .saturating_sub(started.elapsed())
        .max(std::time::Duration::from_secs(1));
    if tokio::time::timeout(left, flushed).await.is_err() {
        tracing::warn!("traces still unwritten at the shutdown deadline: lost");
    }
    for hook in &report.cut {
        tracing::warn!(hook = hook.name, run_id = %hook.run_id, "background hook cut at the shutdown deadline");
    }
    tracing::info!(
        waited_for = report.waited_for,
        finished = report.finished,
        cut = report.cut.len(),
        spawned = report.stats.spawned,
        completed = report.stats.completed,
        failed = report.stats.failed,
        panicked = report.stats.panicked,
        rejected = report.stats.rejected,
        "shutdown complete"
    );
    report
}
