//! The seed example (`background_hooks_decorator.rs`) as the benchmarks
//! and the fault scripts run it: the same agent and hooks, with every
//! setting they vary taken from the environment. Not an example to read
//! first: read the seed.
//!
//! ```sh
//! cargo run --release --example bench_server
//! ```
//!
//! With `OPENAI_API_KEY` set it calls OpenAI (`OPENAI_BASE_URL` points it at
//! any OpenAI-compatible server); without it, it says so and answers with
//! the offline `Echo` model. `HOST` (default 127.0.0.1), `PORT` (default
//! 7777) and `AGNO_DB` (default `tmp/agent.db`) change where it listens and
//! stores; `DATABASE_URL` (`postgresql://user@host:5432/db`) stores in
//! Postgres instead (schema `ai`, Agno's layout), so that several instances
//! can share one database; `AGNO_MAX_CONCURRENT` and `AGNO_MAX_PENDING` bound the background
//! hooks kept in memory. With the store, `log_request` and
//! `send_notification` are durable jobs (see `durable_hooks.rs`);
//! `AGNO_DURABLE_HOOKS=0` keeps them in memory only, and
//! `AGNO_JOBS_MAX_CONCURRENT` sets how many of them run at once.
//! `AGNO_JWT_HS256_SECRET` turns JWT auth on (scopes checked;
//! `AGNO_JWT_ISOLATION=1` for user isolation). `AGNO_METRICS=0` keeps no
//! Prometheus series; `AGNO_OPEN_METRICS=1` opens the exposition to a
//! scraper without the key. `AGNO_TRACING=1` stores every run's trace
//! (Agno's `AgentOS(tracing=True)`). `AGNO_TOOLS=1` gives the agent a
//! tool, `add(a, b)` (the compat script's runs with tools; the fake OpenAI
//! server calls it when the message says `[call add {"a": 1, "b": 2}]`);
//! `AGNO_TOOL_AUDIT=1` adds a durable audit of each call
//! (`TOOL_AUDIT_LOG`, `TOOL_AUDIT_MS`).

use std::sync::Arc;
use std::time::Duration;

use agno_server::{
    Agent, AgentInfo, AgentOS, DispatcherConfig, Echo, HookRef, JobOptions, Model, OpenAIResponses,
    RunInput, RunOutput, Session, WhenFull, hook, hook_ref,
};

// A server with thousands of short-lived allocations across threads keeps
// a smaller, steadier footprint with jemalloc than with the system malloc.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// This pre-hook runs in the background.
/// Note: Pre-hooks in background mode cannot modify run_input.
#[hook(run_in_background = true)]
fn log_request(run_input: &RunInput, agent: &AgentInfo) {
    println!(
        "[Background Pre-Hook] Request received for agent: {}",
        agent.display_name()
    );
    println!("[Background Pre-Hook] Input: {}", run_input.input_content);
}

/// This post-hook runs synchronously (no decorator).
/// It will block the response until complete.
#[hook]
async fn log_analytics(run_output: &RunOutput, agent: &AgentInfo, session: &Session) {
    println!(
        "[Sync Post-Hook] Logging analytics for run: {}",
        run_output.run_id
    );
    println!("[Sync Post-Hook] Agent: {}", agent.display_name());
    println!("[Sync Post-Hook] Session: {}", session.session_id);
    println!("[Sync Post-Hook] Analytics logged successfully!");
}

/// This post-hook runs in the background (has decorator).
/// It won't block the API response.
///
/// For the fault scripts: it takes `NOTIFY_MS` (default 3 000, the
/// seed's sleep); it fails while the file `NOTIFY_FAIL_FILE` exists (a
/// downstream outage); and with `NOTIFY_LOG` it appends
/// `run_id<TAB>job_id<TAB>attempt` there, synced, once it succeeded (a
/// receipt to count). Built with the feature `without-notification`, the
/// binary has no such hook at all (the other side of a rolling deploy).
#[cfg(not(feature = "without-notification"))]
#[hook(run_in_background = true)]
async fn send_notification(
    run_output: &RunOutput,
    agent: &AgentInfo,
    job: Option<&agno_server::Job>,
) -> std::io::Result<()> {
    println!(
        "[Background Post-Hook] Sending notification for agent: {}",
        agent.display_name()
    );
    tokio::time::sleep(knobs::notify_delay()).await;
    knobs::notified(&run_output.run_id, job).await?;
    println!("[Background Post-Hook] Notification sent!");
    Ok(())
}

#[cfg(not(feature = "without-notification"))]
mod knobs {
    //! What the fault scripts set from the environment.

    use std::sync::OnceLock;
    use std::time::Duration;

    /// `NOTIFY_MS`, default 3 000.
    pub(crate) fn notify_delay() -> Duration {
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

    /// Fails while `NOTIFY_FAIL_FILE` exists; else writes the receipt
    /// (`NOTIFY_LOG`), synced.
    pub(crate) async fn notified(
        run_id: &str,
        job: Option<&agno_server::Job>,
    ) -> std::io::Result<()> {
        if let Some(flag) = std::env::var_os("NOTIFY_FAIL_FILE")
            && std::path::Path::new(&flag).exists()
        {
            return Err(std::io::Error::other(
                "the mail server is down (NOTIFY_FAIL_FILE)",
            ));
        }
        static RECEIPTS: super::receipts::Receipts = super::receipts::Receipts::new("NOTIFY_LOG");
        let (id, attempt) = job.map_or(("-".to_owned(), 0), |j| (j.id.clone(), j.attempt));
        RECEIPTS.append(&format!(
            "{run_id}\t{id}\t{attempt}\t{}\n",
            std::process::id()
        ))
    }
}

mod receipts {
    //! Receipts the fault scripts count: lines appended to the file an
    //! environment variable names, each synced before the hook returns.

    use std::io::Write;
    use std::sync::{Mutex, OnceLock};

    /// The file `var` names (none: nothing is written).
    pub(crate) struct Receipts {
        var: &'static str,
        file: OnceLock<Option<Mutex<std::fs::File>>>,
    }

    impl Receipts {
        pub(crate) const fn new(var: &'static str) -> Self {
            Self {
                var,
                file: OnceLock::new(),
            }
        }

        /// Appends `line` and syncs it.
        pub(crate) fn append(&self, line: &str) -> std::io::Result<()> {
            let file = self.file.get_or_init(|| {
                let path = std::env::var_os(self.var)?;
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .ok()?;
                Some(Mutex::new(file))
            });
            let Some(file) = file else {
                return Ok(());
            };
            tokio::task::block_in_place(|| {
                let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
                file.write_all(line.as_bytes())?;
                file.sync_data()
            })
        }
    }
}

/// With `AGNO_TOOL_AUDIT=1`, every tool call is audited after it ran: a
/// background post-tool hook, durable like the seed's notification (it
/// survives a SIGKILL). It waits `TOOL_AUDIT_MS` (default 0), then with
/// `TOOL_AUDIT_LOG` appends `call_id<TAB>run_id<TAB>job_id<TAB>attempt`
/// there, synced (`scripts/tool_audit_recovery.sh` counts them).
#[hook(run_in_background = true)]
async fn audit_tool_call(
    call: &agno_server::ToolCall,
    result: &agno_server::ToolResult,
    run_id: &agno_server::RunId,
    job: Option<&agno_server::Job>,
) -> std::io::Result<()> {
    static RECEIPTS: receipts::Receipts = receipts::Receipts::new("TOOL_AUDIT_LOG");
    let ms = std::env::var("TOOL_AUDIT_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let _ = result;
    let (id, attempt) = job.map_or(("-".to_owned(), 0), |j| (j.id.clone(), j.attempt));
    RECEIPTS.append(&format!("{}\t{}\t{id}\t{attempt}\n", call.id, run_id.0))
}

/// OpenAI when a key is set, else the offline echo model.
fn model() -> Arc<dyn Model> {
    if std::env::var_os("OPENAI_API_KEY").is_some_and(|k| !k.is_empty()) {
        Arc::new(OpenAIResponses::new("gpt-5.2"))
    } else {
        println!(
            "OPENAI_API_KEY is not set: serving with the offline Echo model (answers \"Echo: <your message>\")."
        );
        Arc::new(Echo::new())
    }
}

/// The seed's post-hooks; `SEED_SKIP_NOTIFICATION=1` leaves out
/// `send_notification` (the benchmarks compare the two).
fn post_hooks() -> Vec<HookRef> {
    #[cfg(feature = "without-notification")]
    {
        println!("built without send_notification (feature without-notification).");
        vec![hook_ref(log_analytics)]
    }
    #[cfg(not(feature = "without-notification"))]
    if std::env::var_os("SEED_SKIP_NOTIFICATION").is_some() {
        println!("SEED_SKIP_NOTIFICATION is set: running without send_notification.");
        vec![hook_ref(log_analytics)]
    } else {
        vec![hook_ref(log_analytics), hook_ref(send_notification)]
    }
}

/// Whether the background hooks are durable jobs (the default with a
/// store); `AGNO_DURABLE_HOOKS=0` keeps them in memory only (the
/// benchmarks compare the two).
fn durable_hooks() -> bool {
    let on = std::env::var("AGNO_DURABLE_HOOKS").map_or(true, |v| v != "0");
    if !on {
        println!(
            "AGNO_DURABLE_HOOKS=0: background hooks run in memory only (lost if the process dies)."
        );
    }
    on
}

/// The durable jobs' settings: `AGNO_JOBS_MAX_CONCURRENT` (how many run
/// at once; default 4 096) when set (the benchmarks give both sides of an
/// A/B the same number of places).
fn job_options() -> Result<JobOptions, Box<dyn std::error::Error>> {
    let mut options = JobOptions::default();
    if let Ok(n) = std::env::var("AGNO_JOBS_MAX_CONCURRENT") {
        options.max_concurrent = n.parse()?;
    }
    let ms = |name: &str| -> Result<Option<Duration>, Box<dyn std::error::Error>> {
        Ok(match std::env::var(name) {
            Ok(ms) => Some(Duration::from_millis(ms.parse()?)),
            Err(_) => None,
        })
    };
    if let Some(d) = ms("AGNO_RETRY_MS")? {
        options.retry_delay = d;
    }
    if let Some(d) = ms("AGNO_MAX_RETRY_MS")? {
        options.max_retry_delay = d;
    }
    if let Some(d) = ms("AGNO_MISSING_HOOK_MS")? {
        options.missing_hook_timeout = d;
    }
    if let Some(d) = ms("AGNO_POLL_MS")? {
        options.poll_interval = d;
    }
    if let Ok(n) = std::env::var("AGNO_MAX_BACKLOG") {
        options.max_backlog = n.parse()?;
    }
    Ok(options)
}

/// The store: `DATABASE_URL` (Postgres, its lease from `AGNO_LEASE_MS`
/// when set) or the SQLite file `AGNO_DB` (default `tmp/agent.db`).
async fn store() -> Result<Arc<dyn agno_server::Db>, Box<dyn std::error::Error>> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let mut options = agno_server::db::PostgresDbOptions::default();
        if let Ok(ms) = std::env::var("AGNO_LEASE_MS") {
            options.lease = Duration::from_millis(ms.parse()?);
        }
        return Ok(Arc::new(
            agno_server::PostgresDb::connect_with(&url, options).await?,
        ));
    }
    let target = std::env::var("AGNO_DB").unwrap_or_else(|_| "tmp/agent.db".into());
    Ok(agno_server::db::open(&target).await?)
}

/// The background-hook bounds, from `AGNO_MAX_CONCURRENT`,
/// `AGNO_MAX_PENDING`, `AGNO_MAX_PENDING_BYTES` and `AGNO_WHEN_FULL` (`refuse` or `wait`) when set
/// (the reliability scripts use them).
fn dispatcher_config() -> Result<DispatcherConfig, Box<dyn std::error::Error>> {
    let mut config = DispatcherConfig::default();
    if let Ok(n) = std::env::var("AGNO_MAX_CONCURRENT") {
        config.max_concurrent = n.parse()?;
    }
    if let Ok(n) = std::env::var("AGNO_MAX_PENDING") {
        config.max_pending = n.parse()?;
    }
    if let Ok(n) = std::env::var("AGNO_MAX_PENDING_BYTES") {
        config.max_pending_bytes = n.parse()?;
    }
    if let Ok(policy) = std::env::var("AGNO_WHEN_FULL") {
        config.when_full = match policy.as_str() {
            "refuse" => WhenFull::Refuse,
            "wait" => WhenFull::Wait,
            other => {
                return Err(format!("AGNO_WHEN_FULL is `refuse` or `wait`, not `{other}`").into());
            }
        };
    }
    Ok(config)
}

/// Adds two numbers.
///
/// # Arguments
/// * `a` - The first number.
/// * `b` - The second number.
#[agno_server::tool]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info".into()),
        )
        // Colours only on a terminal: a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    // DATABASE_URL (Postgres) if set, else the SQLite file AGNO_DB.
    let db = store().await?;
    let port: u16 = std::env::var("PORT").map_or(Ok(7777), |p| p.parse())?;

    // Create an agent with mixed hooks
    let builder = Agent::builder()
        .id("background-task-agent")
        .name("BackgroundTaskAgent")
        .model_arc(model())
        .instructions("You are a helpful assistant")
        .db_arc(db)
        .pre_hooks([log_request]) // Runs in background
        .post_hooks(post_hooks()) // log_analytics is sync, send_notification is background
        .markdown(true)
        .durable_hooks(durable_hooks())
        .job_options(job_options()?);
    let on = |var: &str| std::env::var(var).is_ok_and(|v| v == "1");
    let builder = if on("AGNO_TOOLS") {
        builder.tools(add)
    } else {
        builder
    };
    let agent = if on("AGNO_TOOL_AUDIT") {
        builder.post_tool_hooks(audit_tool_call)
    } else {
        builder
    }
    .build()?;

    // Create AgentOS (run_hooks_in_background is false by default)
    // AGNO_METRICS=0 keeps no Prometheus series (the cost A/B);
    // AGNO_OPEN_METRICS=1 lets Prometheus scrape without the key.
    let mut agent_os = AgentOS::builder()
        .agents([agent])
        .dispatcher_config(dispatcher_config()?)
        .metrics(std::env::var("AGNO_METRICS").map_or(true, |v| v != "0"))
        .open_metrics(std::env::var("AGNO_OPEN_METRICS").is_ok_and(|v| v == "1"))
        .tracing(std::env::var("AGNO_TRACING").is_ok_and(|v| v == "1"));
    // JWTs signed with this HS256 secret, scopes checked (the compat
    // script); AGNO_JWT_ISOLATION=1 scopes data to each token's user.
    if let Ok(secret) = std::env::var("AGNO_JWT_HS256_SECRET") {
        agent_os = agent_os.jwt(agno_server::JwtConfig {
            user_isolation: std::env::var("AGNO_JWT_ISOLATION").is_ok_and(|v| v == "1"),
            ..agno_server::JwtConfig::hs256(secret)
        });
    }
    let agent_os = agent_os.build()?;

    // Loopback unless HOST says otherwise (HOST=0.0.0.0 in a container).
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    agent_os.serve((host.as_str(), port)).await?;
    Ok(())
}
