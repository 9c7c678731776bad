use hooks_core::{hook, RunInput};

#[hook(run_in_background = true)]
fn redact(run_input: &mut RunInput) {
    run_input.input_content.clear();
}

fn main() {}
