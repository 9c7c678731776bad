use hooks_core::{hook, IntoHookList, Post, RunInput, RunOutput};

#[hook]
fn log_output(run_output: &RunOutput) {
    let _ = run_output;
}

#[hook]
fn rewrite_input(run_input: &mut RunInput) {
    run_input.input_content.push('!');
}

fn post_hooks(hooks: impl IntoHookList<Post>) {
    let _ = hooks.into_hook_list();
}

fn main() {
    post_hooks((log_output, rewrite_input));
}
