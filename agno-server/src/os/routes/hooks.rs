//! `GET /hooks`: every registered hook and the dispatcher's counters (our
//! addition to Agno's surface, for operators).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::os::state::AppState;

/// `GET /hooks`: registered hooks, background counters (spawned, completed,
/// failed, panicked, timed out, rejected, waited, running, queued) and the
/// hooks in flight.
pub async fn hooks(State(state): State<AppState>) -> Json<Value> {
    let global = state.run_hooks_in_background;
    let registered: Vec<Value> = hooks_core::registry::all()
        .iter()
        .map(|r| {
            let meta = r.meta();
            json!({
                "name": meta.name,
                "path": r.path(),
                "file": meta.file,
                "line": meta.line,
                "is_async": meta.is_async,
                "run_in_background": meta.run_in_background,
                // Where it runs on this server: its attribute, or moved by
                // the global flag (hooks that can change or block stay).
                "runs_in_background": meta.runs_in_background(global),
                "blocking": meta.blocking,
                "changes_run": meta.mutates,
                "can_block": meta.can_block,
            })
        })
        .collect();
    let stats = state.dispatcher.stats();
    let in_flight: Vec<Value> = state
        .dispatcher
        .in_flight()
        .into_iter()
        .take(100)
        .map(|h| json!({ "name": h.name, "run_id": h.run_id }))
        .collect();
    Json(json!({
        "registered": registered,
        "stats": stats,
        "queued": stats.queued(),
        "in_flight": in_flight,
        "run_hooks_in_background": state.run_hooks_in_background,
    }))
}
