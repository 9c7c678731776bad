use hooks_core::{hook, RunInput, RunOutput};

#[hook]
fn both(input: &mut RunInput, output: &mut RunOutput) {
    let _ = (input, output);
}

fn main() {}
