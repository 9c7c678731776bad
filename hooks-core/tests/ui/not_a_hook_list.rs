use hooks_core::{hook, IntoHookList, Pre, RunInput};

#[hook]
fn first(run_input: &RunInput) {
    let _ = run_input;
}

fn pre_hooks(hooks: impl IntoHookList<Pre>) {
    let _ = hooks.into_hook_list();
}

fn main() {
    // Not a hook: the message says what a list of hooks is.
    pre_hooks("first");
    pre_hooks(first);
}
