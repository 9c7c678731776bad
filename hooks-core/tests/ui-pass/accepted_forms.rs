//! Every accepted form of `#[hook]`.

use hooks_core::{
    hook, AgentInfo, CheckError, ExtraFields, HookError, RunContext, RunId, RunInput, RunOutput,
    Session, UserId,
};

#[hook]
fn bare() {}

#[hook()]
fn empty_parens() {}

#[hook(run_in_background = false)]
fn explicit_inline(run_input: &RunInput) {
    let _ = run_input;
}

#[hook(run_in_background = true)]
async fn background(run_output: &RunOutput, agent: &AgentInfo) {
    let _ = (run_output, agent);
}

#[hook(run_in_background)]
fn bare_flag(run_input: RunInput) {
    let _ = run_input;
}

#[hook(name = "renamed")]
pub fn with_a_name(session: &Session) {
    let _ = session;
}

#[hook(crate = "hooks_core")]
pub(crate) fn with_a_crate_path(user_id: &UserId, run_id: &RunId) {
    let _ = (user_id, run_id);
}

/// Doc comments and other attributes are kept.
#[hook(blocking = true)]
#[allow(clippy::needless_pass_by_value)]
#[inline]
fn blocking_sync(extra: &ExtraFields, context: &RunContext) {
    let _ = (extra, context);
}

#[hook]
async fn every_argument_in_any_order(
    agent: &AgentInfo,
    run_output: &mut RunOutput,
    run_input: &RunInput,
    session: Option<&Session>,
) -> Result<(), HookError> {
    let _ = (agent, run_input, session);
    run_output.content = None;
    Ok(())
}

#[hook]
fn guardrail(run_input: &mut RunInput) -> Result<(), CheckError> {
    run_input.input_content.push('!');
    Ok(())
}

/// The error type decides whether a hook can block, whatever the spelling.
type Checked = Result<(), CheckError>;

#[hook]
fn through_an_alias(run_input: &RunInput) -> Checked {
    let _ = run_input;
    Ok(())
}

mod reexport {
    pub use hooks_core::CheckError as Rejection;
}

#[hook]
fn through_a_reexport(run_input: &RunInput) -> Result<(), reexport::Rejection> {
    let _ = run_input;
    Ok(())
}

struct PolicyViolation;
impl From<PolicyViolation> for HookError {
    fn from(_: PolicyViolation) -> Self {
        HookError::msg("policy")
    }
}

#[hook]
fn own_error_type(run_input: &RunInput) -> Result<(), PolicyViolation> {
    let _ = run_input;
    Ok(())
}

#[hook(run_in_background = true)]
fn fallible_in_background(run_input: &RunInput) -> std::io::Result<()> {
    let _ = run_input;
    Ok(())
}

#[hook(run_in_background = true)]
async fn anyhow_in_background(run_input: &RunInput) -> anyhow::Result<()> {
    let _ = run_input;
    Ok(())
}

fn main() {
    assert!(through_an_alias::META.can_block);
    assert!(through_a_reexport::META.can_block);
    assert!(own_error_type::META.can_block, "when in doubt, it can block");
    assert!(!fallible_in_background::META.can_block);
    assert!(!anyhow_in_background::META.can_block);
    assert_eq!(with_a_name::META.name, "renamed");
    assert!(background::META.run_in_background && background::META.is_async);
    assert!(bare_flag::META.run_in_background);
    assert!(guardrail::META.mutates && guardrail::META.can_block);
    let _ = (bare, empty_parens, explicit_inline, with_a_crate_path, blocking_sync);
    let _ = every_argument_in_any_order;
}

/// A type alias is the type it names: `&mut Input` changes the input.
type Input = RunInput;

#[hook]
fn mut_through_an_alias(input: &mut Input, full_path: &hooks_core::Session) {
    input.input_content.push('!');
    let _ = full_path;
}
