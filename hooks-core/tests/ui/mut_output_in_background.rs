use hooks_core::{hook, RunOutput};

#[hook(run_in_background = true)]
async fn sign(run_output: &mut RunOutput) {
    run_output.content = None;
}

fn main() {}
