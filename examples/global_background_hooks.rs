//! Background hooks (global): `AgentOS::builder().run_hooks_in_background(true)`.
//!
//! Every hook that neither changes the run nor can block it moves to the
//! background. A guardrail (it returns `Result<(), CheckError>`, so it can
//! stop the run) and a hook that changes the input (`&mut RunInput`) stay
//! inline; the server logs at start-up which hooks the flag could not move.
//!
//! ```sh
//! cargo run --example global_background_hooks
//! curl -X POST http://localhost:7777/agents/global-background-agent/runs \
//!   -F "message=Hello, how are you?" -F "stream=false"
//! curl -X POST http://localhost:7777/agents/global-background-agent/runs \
//!   -F "message=my password is hunter2" -F "stream=false"
//! ```

use std::time::Duration;

use agno_server::{
    Agent, AgentInfo, AgentOS, CheckError, CheckTrigger, Echo, RunInput, RunOutput, SqliteDb, hook,
};

/// A guardrail: can stop the run, so it stays inline even with the global flag.
#[hook]
fn block_passwords(run_input: &RunInput) -> Result<(), CheckError> {
    if run_input.input_content.to_lowercase().contains("password") {
        return Err(CheckError::input(
            "Passwords are not allowed",
            CheckTrigger::InputNotAllowed,
        ));
    }
    Ok(())
}

/// Changes the input, so it stays inline.
#[hook]
fn trim_input(run_input: &mut RunInput) {
    run_input.input_content = run_input.input_content.trim().to_owned();
}

/// An observer: moved to the background by the global flag.
#[hook]
fn log_request(run_input: &RunInput, agent: &AgentInfo) {
    println!(
        "[Pre-Hook, moved to background] {} got: {}",
        agent.display_name(),
        run_input.input_content
    );
}

/// An observer: moved to the background by the global flag.
#[hook]
async fn record_metrics(run_output: &RunOutput) {
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "[Post-Hook, moved to background] run {} used {} tokens",
        run_output.run_id,
        run_output.metrics.as_ref().map_or(0, |m| m.total_tokens)
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        // Colours only on a terminal: a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let port: u16 = std::env::var("PORT").map_or(Ok(7777), |p| p.parse())?;
    let agent = Agent::builder()
        .id("global-background-agent")
        .name("GlobalBackgroundAgent")
        .model(Echo::new())
        .instructions("You are a helpful assistant")
        .db(SqliteDb::new("tmp/global.db")?)
        .pre_hooks((block_passwords, trim_input, log_request))
        .post_hooks([record_metrics])
        .build()?;
    let agent_os = AgentOS::builder()
        .agents([agent])
        .run_hooks_in_background(true)
        .build()?;
    // Loopback unless HOST says otherwise (HOST=0.0.0.0 in a container).
    let host = std::env::var("HOST").unwrap_or_else(|_| "127.0.0.1".into());
    agent_os.serve((host.as_str(), port)).await?;
    Ok(())
}
