use hooks_core::{hook, CheckError, RunOutput};

// Durable applies to background hooks; one that changes the run is inline.
#[hook(durable = true)]
fn sign(run_output: &mut RunOutput) {
    run_output.content = Some("signed".into());
}

// One that can block the run is never moved to the background either.
#[hook(durable = true)]
fn guard(run_output: &RunOutput) -> Result<(), CheckError> {
    let _ = run_output;
    Ok(())
}

fn main() {}
