use hooks_core::{hook, RunInput};

#[hook(run_in_background = "yes")]
fn log_request(run_input: &RunInput) {
    let _ = run_input;
}

#[hook(run_in_background = 1)]
fn log_again(run_input: &RunInput) {
    let _ = run_input;
}

fn main() {}
