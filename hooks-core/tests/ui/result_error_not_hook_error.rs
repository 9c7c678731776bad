use hooks_core::{hook, RunInput};

struct MyError;

#[hook]
fn check(run_input: &RunInput) -> Result<(), MyError> {
    let _ = run_input;
    Ok(())
}

fn main() {}
