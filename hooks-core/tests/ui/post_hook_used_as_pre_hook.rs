use hooks_core::{hook, IntoHookList, Pre, RunOutput};

#[hook]
fn log_output(run_output: &RunOutput) {
    let _ = run_output;
}

fn pre_hooks(hooks: impl IntoHookList<Pre>) {
    let _ = hooks.into_hook_list();
}

fn main() {
    pre_hooks(log_output);
}
