use hooks_core::{hook, RunInput};

#[hook]
fn length(run_input: &RunInput) -> usize {
    run_input.input_content.len()
}

fn main() {}
