//! `GET /hooks`: every registered hook and the dispatcher's counters (our
//! addition to Agno's surface, for operators).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::os::state::AppState;

/// `GET /hooks`: registered hooks, background counters (spawned, completed,
/// failed, panicked, timed out, rejected, waited, running, queued), the
/// hooks in flight, and the durable jobs: each agent's worker counters and
/// each store's counts by status with the oldest queued job's age.
pub async fn hooks(State(state): State<AppState>) -> Json<Value> {
    let global = state.run_hooks_in_background();
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
                // `null`: the agent's default (`durable_hooks`) decides.
                "durable": meta.durable,
                "takes_job": meta.takes_job,
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
    let mut jobs = serde_json::Map::new();
    for agent in &state.agents {
        if agent.db().is_none() {
            continue;
        }
        jobs.insert(
            agent.id().to_owned(),
            json!({
                "durable_hooks": agent.durable_hooks(),
                "counters": agent.jobs().counters(),
            }),
        );
    }
    let mut stores = serde_json::Map::new();
    for (db_id, db) in &state.dbs {
        let stats = match db.job_stats().await {
            Ok(stats) => json!(stats),
            Err(error) => json!({ "error": error.to_string() }),
        };
        stores.insert(db_id.clone(), stats);
    }
    Json(json!({
        "registered": registered,
        "jobs": { "agents": jobs, "stores": stores },
        "stats": stats,
        "queued": stats.queued(),
        "in_flight": in_flight,
        "run_hooks_in_background": state.run_hooks_in_background(),
    }))
}
