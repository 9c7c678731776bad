//! Durable background hooks: the seed's agent, whose `send_notification`
//! leaves a receipt that survives the process, so a crash can be counted.
//!
//! With a store, background hooks are durable jobs by default: each is
//! written to `agno_jobs` in the same transaction as its run, started at
//! once after the commit, retried with back-off when it fails, and run
//! again at the next start if the process dies first. They run **at least
//! once**: `send_notification` takes the [`Job`] to dedupe with its id.
//!
//! ```sh
//! cargo run --release --example durable_hooks
//! curl -X POST http://localhost:7777/agents/background-task-agent/runs \
//!   -F "message=Hello, how are you?" -F "stream=false"
//! curl http://localhost:7777/queue/stats
//! ```
//!
//! `NOTIFY_LOG` (default `tmp/notifications.log`) is where each
//! notification appends `run_id<TAB>job_id<TAB>attempt`, with `fsync`;
//! `NOTIFY_MS` (default 3000, the seed's sleep) is how long a notification
//! takes. `PORT`, `HOST`, `AGNO_DB` and `DATABASE_URL` as in the seed
//! example.
//! `scripts/durable_recovery.sh` SIGKILLs it under load and counts.

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use agno_server::{Agent, AgentInfo, AgentOS, Echo, Job, RunInput, RunOutput, Session, hook};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Where receipts go, opened once.
static RECEIPTS: OnceLock<Mutex<std::fs::File>> = OnceLock::new();

fn notify_delay() -> Duration {
    static DELAY: OnceLock<Duration> = OnceLock::new();
    *DELAY.get_or_init(|| {
        Duration::from_millis(
            std::env::var("NOTIFY_MS")
                .ok()
                .and_then(|ms| ms.parse().ok())
                .unwrap_or(3000),
        )
    })
}

/// A background pre-hook: durable too (the agent's default).
#[hook(run_in_background = true)]
fn log_request(run_input: &RunInput, agent: &AgentInfo) {
    tracing::debug!(agent = agent.display_name(), input = %run_input.input_content.escape_debug(), "request received");
}

/// Inline: the response waits for it.
#[hook]
async fn log_analytics(run_output: &RunOutput, session: &Session) {
    tracing::debug!(run = %run_output.run_id, session = %session.session_id, "analytics logged");
}

/// Durable and in the background: after the response, the "notification"
/// is a line appended and synced to `NOTIFY_LOG`. A job that fails (the
/// file cannot be written) is retried; `job.id` is the idempotency key a
/// real mail API would get.
#[hook(run_in_background = true, durable = true)]
async fn send_notification(run_output: &RunOutput, job: &Job) -> std::io::Result<()> {
    tokio::time::sleep(notify_delay()).await;
    let line = format!("{}\t{}\t{}\n", run_output.run_id, job.id, job.attempt);
    tokio::task::spawn_blocking(move || {
        let file = RECEIPTS.get().expect("opened in main");
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes())?;
        file.sync_data()
    })
    .await
    .map_err(std::io::Error::other)?
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    // DATABASE_URL (Postgres) if set, else the SQLite file AGNO_DB.
    let target = std::env::var("DATABASE_URL")
        .or_else(|_| std::env::var("AGNO_DB"))
        .unwrap_or_else(|_| "tmp/agent.db".into());
    let receipts = std::env::var("NOTIFY_LOG").unwrap_or_else(|_| "tmp/notifications.log".into());
    if let Some(parent) = std::path::Path::new(&receipts).parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&receipts)?;
    RECEIPTS.set(Mutex::new(file)).ok();
    let port: u16 = std::env::var("PORT").map_or(Ok(7777), |p| p.parse())?;

    let agent = Agent::builder()
        .id("background-task-agent")
        .name("BackgroundTaskAgent")
        .model(Echo::new())
        .instructions("You are a helpful assistant")
        .db_arc(agno_server::db::open(&target).await?)
        .pre_hooks(log_request)
        .post_hooks((log_analytics, send_notification))
        .markdown(true)
        .build()?;
    let agent_os = AgentOS::builder().agents([agent]).build()?;
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    agent_os.serve((host.as_str(), port)).await?;
    Ok(())
}
