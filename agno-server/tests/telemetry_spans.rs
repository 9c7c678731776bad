//! Every log line of a run carries its ids: a `run` span around the run
//! (agent, run and session ids), a `hook` span around each background and
//! durable hook (the hook, phase, mode, run id; the job and attempt of a
//! durable one), which run after the run's span has ended.

mod os_support;

use agno_server::{Agent, Echo, RunInput, SqliteDb, hook};
use os_support::Captured;

#[hook]
fn inline_note(run_input: &RunInput) {
    tracing::info!(len = run_input.input_content().len(), "inline note");
}

#[hook(run_in_background = true, durable = false)]
fn memory_note(run_input: &RunInput) {
    tracing::info!(len = run_input.input_content().len(), "memory note");
}

#[hook(run_in_background = true, durable = true)]
fn durable_note(run_input: &RunInput) {
    tracing::info!(len = run_input.input_content().len(), "durable note");
}

/// The line of `text` that says `what`.
fn line<'a>(text: &'a str, what: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line says {what:?}:\n{text}"))
}

#[tokio::test(flavor = "current_thread")]
async fn hook_log_lines_carry_the_runs_ids() {
    let (captured, _guard) = Captured::on_this_thread();
    let dir = tempfile::tempdir().unwrap();
    let agent = Agent::builder()
        .id("spans")
        .model(Echo::new())
        .db(SqliteDb::new(dir.path().join("agent.db")).unwrap())
        .pre_hooks(inline_note)
        .post_hooks((memory_note, durable_note))
        .build()
        .unwrap();
    let output = agent
        .run(agno_server::agent::RunRequest {
            session_id: Some("s-spans".into()),
            ..agno_server::agent::RunRequest::from("hello")
        })
        .await
        .unwrap();
    agent.shutdown(std::time::Duration::from_secs(10)).await;
    let text = captured.text();
    let run_id = &output.run_id;
    let inline = line(&text, "inline note");
    assert!(
        inline.contains(&format!(
            "run{{agent_id=spans run_id={run_id} session_id=s-spans}}"
        )),
        "{inline}"
    );
    let memory = line(&text, "memory note");
    assert!(
        memory.contains(&format!(
            "hook{{hook=\"memory_note\" phase=\"post\" mode=\"background\" run_id={run_id}}}"
        )),
        "{memory}"
    );
    let durable = line(&text, "durable note");
    assert!(
        durable.contains("hook{hook=\"durable_note\" phase=\"post\" mode=\"durable\"")
            && durable.contains(&format!("run_id={run_id} job="))
            && durable.contains("attempt=1}"),
        "{durable}"
    );
}
