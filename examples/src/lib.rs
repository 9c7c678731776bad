//! Reusable hooks for the examples, and the proof that `#[hook]` works from
//! a crate that depends on `agno-server` alone: the macro finds the runtime
//! through `agno-server`'s re-export, and every hook here is registered at
//! link time in any binary that uses this crate.
#![warn(missing_docs)]

use agno_server::{CheckError, CheckTrigger, RunInput, RunOutput, UserId, hook};

/// A guardrail: refuses inputs that contain a password. It returns
/// `Result<(), CheckError>`, so it can stop the run and always runs inline.
#[hook]
pub fn block_passwords(run_input: &RunInput) -> Result<(), CheckError> {
    if run_input.input_content.to_lowercase().contains("password") {
        return Err(CheckError::input(
            "Passwords are not allowed",
            CheckTrigger::InputNotAllowed,
        ));
    }
    Ok(())
}

/// Replaces every e-mail address in the answer with `[email]`; changes the
/// run, so it always runs inline.
#[hook(name = "redact_emails")]
pub fn redact_email_addresses(run_output: &mut RunOutput) {
    if let Some(content) = &mut run_output.content {
        *content = content
            .split(' ')
            .map(|word| if word.contains('@') { "[email]" } else { word })
            .collect::<Vec<_>>()
            .join(" ");
    }
}

/// Logs who asked what, in the background.
#[hook(run_in_background = true)]
pub async fn audit_log(run_input: &RunInput, user_id: &UserId) {
    tracing::info!(
        user = user_id.0.as_deref().unwrap_or("anonymous"),
        input = %run_input.input_content,
        "audit"
    );
}
