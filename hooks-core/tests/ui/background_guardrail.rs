use hooks_core::{hook, CheckError, CheckTrigger, RunInput};

// A check raised in the background could only be logged: refused.
#[hook(run_in_background = true)]
fn no_secrets(run_input: &RunInput) -> Result<(), CheckError> {
    if run_input.input_content.contains("secret") {
        return Err(CheckError::input("no secrets", CheckTrigger::InputNotAllowed));
    }
    Ok(())
}

type Checked = Result<(), hooks_core::HookError>;

// The same through an alias: the type decides, not its spelling.
#[hook(run_in_background = true)]
async fn aliased(run_input: &RunInput) -> Checked {
    let _ = run_input;
    Ok(())
}

fn main() {}
