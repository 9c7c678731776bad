//! Background hooks (per hook): the Agno example `background_hooks_decorator.py`,
//! ported line for line.
//!
//! `log_request` and `send_notification` run in the background; `log_analytics`
//! runs inline, so the response is sent after it and before
//! `send_notification` finishes.
//!
//! ```sh
//! cargo run --example background_hooks_decorator
//! curl -X POST http://localhost:7777/agents/background-task-agent/runs \
//!   -F "message=Hello, how are you?" \
//!   -F "stream=false"
//! ```
//!
//! Without `OPENAI_API_KEY` it says so and answers with the offline `Echo`
//! model. (The benchmarks and fault scripts run the same agent with their
//! settings from the environment: `bench_server.rs`.)

use std::sync::Arc;
use std::time::Duration;

use agno_server::{
    Agent, AgentInfo, AgentOS, Echo, Model, OpenAIResponses, RunInput, RunOutput, Session,
    SqliteDb, hook,
};

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
#[hook(run_in_background = true)]
async fn send_notification(_run_output: &RunOutput, agent: &AgentInfo) {
    println!(
        "[Background Post-Hook] Sending notification for agent: {}",
        agent.display_name()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!("[Background Post-Hook] Notification sent!");
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Create an agent with mixed hooks
    let agent = Agent::builder()
        .id("background-task-agent")
        .name("BackgroundTaskAgent")
        .model_arc(model())
        .instructions("You are a helpful assistant")
        .db(SqliteDb::new("tmp/agent.db")?)
        .pre_hooks(log_request) // Runs in background
        .post_hooks((log_analytics, send_notification)) // log_analytics is sync, send_notification is background
        .markdown(true)
        .build()?;

    // Create AgentOS (run_hooks_in_background is false by default)
    let agent_os = AgentOS::builder().agents([agent]).build()?;

    agent_os.serve(("127.0.0.1", 7777)).await?;
    Ok(())
}
