use hooks_core::{hook, RunOutput};

#[hook(run_in_background = true, durable = true, max_attempts = 0)]
fn never_tried(run_output: &RunOutput) {
    let _ = run_output;
}

#[hook(run_in_background = true, durable = true, timeout = "soon")]
fn no_unit(run_output: &RunOutput) {
    let _ = run_output;
}

#[hook(run_in_background = true, durable = false, max_attempts = 5)]
fn not_durable(run_output: &RunOutput) {
    let _ = run_output;
}

fn main() {}
