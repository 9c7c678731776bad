//! `GET /hooks`: every registered hook and the dispatcher's counters (our
//! addition to Agno's surface, for operators).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;

use crate::os::state::AppState;
use crate::os::wire::{
    AgentJobs, HookInFlight, HooksReport, JobsReport, RegisteredHook, StoreJobs,
};

/// `GET /hooks`: registered hooks, background counters (spawned, completed,
/// failed, panicked, timed out, rejected, waited, running, queued), the
/// hooks in flight, and the durable jobs: each agent's worker counters and
/// each store's counts by status with the oldest queued job's age.
#[utoipa::path(get, path = "/hooks", tag = "Hooks", summary = "Registered hooks, background counters and durable jobs",
    responses((status = 200, description = "What the hooks are doing", body = HooksReport)))]
pub async fn hooks(State(state): State<AppState>) -> Json<HooksReport> {
    let global = state.run_hooks_in_background();
    let registered = hooks_core::registry::all()
        .iter()
        .map(|r| {
            let meta = r.meta();
            RegisteredHook {
                name: meta.name,
                path: r.path(),
                file: meta.file,
                line: meta.line,
                is_async: meta.is_async,
                run_in_background: meta.run_in_background,
                runs_in_background: meta.runs_in_background(global),
                blocking: meta.blocking,
                changes_run: meta.mutates,
                can_block: meta.can_block,
                durable: meta.durable,
                takes_job: meta.takes_job,
            }
        })
        .collect();
    let stats = state.dispatcher.stats();
    let in_flight = state
        .dispatcher
        .in_flight()
        .into_iter()
        .take(100)
        .map(|h| HookInFlight {
            name: h.name,
            run_id: h.run_id,
        })
        .collect();
    let agents = state
        .agents
        .iter()
        .filter(|agent| agent.db().is_some())
        .map(|agent| {
            let jobs = AgentJobs {
                durable_hooks: agent.durable_hooks(),
                counters: agent.jobs().counters(),
            };
            (agent.id().to_owned(), jobs)
        })
        .collect();
    let mut stores = BTreeMap::new();
    for (db_id, db) in &state.dbs {
        let jobs = match db.job_stats().await {
            Ok(stats) => StoreJobs::Stats(stats),
            Err(error) => StoreJobs::Error {
                error: error.to_string(),
            },
        };
        stores.insert(db_id.clone(), jobs);
    }
    Json(HooksReport {
        registered,
        jobs: JobsReport { agents, stores },
        stats,
        queued: stats.queued(),
        in_flight,
        run_hooks_in_background: global,
    })
}
