use hooks_core::{hook, IntoHookList, Pre, ToolCall};

#[hook]
fn log_call(call: &ToolCall) {
    let _ = call;
}

fn pre_hooks(hooks: impl IntoHookList<Pre>) {
    let _ = hooks.into_hook_list();
}

fn main() {
    pre_hooks(log_call);
}
