use hooks_core::{hook, RunInput};

#[hook(run_in_background = true, run_in_background = false)]
fn log_request(run_input: &RunInput) {
    let _ = run_input;
}

fn main() {}
