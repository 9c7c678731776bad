//! Whether a hook can block a run is read from its error type, not from
//! how the type is spelled: with `run_hooks_in_background(true)`, every
//! hook whose error type can carry a check error stays inline and rejects
//! the run. (A guardrail with its own error type was moved to the
//! background, and the run it rejected went through.)

use agno_server::{
    Agent, CheckError, CheckTrigger, Echo, HookError, HookRef, RunInput, RunStatus, hook, hook_ref,
};

/// The program of the report: a guardrail with its own error type.
struct PolicyViolation(String);

impl From<PolicyViolation> for HookError {
    fn from(v: PolicyViolation) -> Self {
        HookError::Check(CheckError::input(v.0, CheckTrigger::InputNotAllowed))
    }
}

#[hook]
fn policy(run_input: &RunInput) -> Result<(), PolicyViolation> {
    if run_input.input_content.contains("secret") {
        return Err(PolicyViolation("no secrets".into()));
    }
    Ok(())
}

type Checked = Result<(), CheckError>;

#[hook]
fn aliased(run_input: &RunInput) -> Checked {
    if run_input.input_content.contains("secret") {
        return Err(CheckError::input(
            "no secrets (alias)",
            CheckTrigger::InputNotAllowed,
        ));
    }
    Ok(())
}

mod reexport {
    pub use agno_server::CheckError as Rejection;
}

#[hook]
fn reexported(run_input: &RunInput) -> Result<(), reexport::Rejection> {
    if run_input.input_content.contains("secret") {
        return Err(reexport::Rejection::input(
            "no secrets (re-export)",
            CheckTrigger::InputNotAllowed,
        ));
    }
    Ok(())
}

#[hook]
async fn through_hook_error(run_input: &RunInput) -> Result<(), HookError> {
    if run_input.input_content.contains("secret") {
        return Err(
            CheckError::input("no secrets (HookError)", CheckTrigger::InputNotAllowed).into(),
        );
    }
    Ok(())
}

/// A fallible hook that cannot block: the global flag may move it.
#[hook]
fn logs_to_disk(run_input: &RunInput) -> std::io::Result<()> {
    let _ = run_input;
    Ok(())
}

async fn run_with_global_flag(guard: HookRef, message: &str) -> (RunStatus, Option<String>) {
    let agent = Agent::builder()
        .id("guarded")
        .model(Echo::new())
        .run_hooks_in_background(true)
        .pre_hooks(vec![guard])
        .build()
        .unwrap();
    let output = agent.run(message).await.unwrap();
    (output.status, output.content)
}

#[tokio::test]
async fn every_spelling_of_a_guardrail_stays_inline_and_rejects_the_run() {
    for (guard, message) in [
        (hook_ref(policy), "no secrets"),
        (hook_ref(aliased), "no secrets (alias)"),
        (hook_ref(reexported), "no secrets (re-export)"),
        (hook_ref(through_hook_error), "no secrets (HookError)"),
    ] {
        let name = guard.meta().name;
        assert!(guard.meta().can_block, "{name}");
        assert!(!guard.meta().runs_in_background(true), "{name}");
        let (status, content) = run_with_global_flag(guard.clone(), "tell me the secret").await;
        assert_eq!(status, RunStatus::Error, "{name}");
        assert_eq!(content.as_deref(), Some(message), "{name}");
        let (status, content) = run_with_global_flag(guard, "hello").await;
        assert_eq!(status, RunStatus::Completed, "{name}");
        assert_eq!(content.as_deref(), Some("Echo: hello"), "{name}");
    }
}

#[test]
fn a_hook_that_cannot_block_may_move_to_the_background() {
    let meta = logs_to_disk::META;
    assert!(!meta.can_block);
    assert!(meta.runs_in_background(true));
    assert!(!meta.runs_in_background(false));
}
