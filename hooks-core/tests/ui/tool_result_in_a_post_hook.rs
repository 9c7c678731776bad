use hooks_core::{hook, IntoHookList, Post, ToolCall, ToolError};

// Returning a tool call's result makes it a tool hook.
#[hook]
fn answer(call: &ToolCall) -> Result<String, ToolError> {
    Ok(call.name.clone())
}

fn post_hooks(hooks: impl IntoHookList<Post>) {
    let _ = hooks.into_hook_list();
}

fn main() {
    post_hooks(answer);
}
