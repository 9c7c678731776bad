use hooks_core::{hook, Next, ToolCall, ToolError};

// A background hook works on a copy: it cannot decide a tool call.
#[hook(run_in_background = true)]
async fn wrap(call: ToolCall, next: Next) -> Result<String, ToolError> {
    next.run(call).await
}

fn main() {}
