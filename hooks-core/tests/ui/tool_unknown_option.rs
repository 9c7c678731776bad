use hooks_core::tool;

/// Deletes.
#[tool(requires_confirmation = true)]
fn delete(path: String) -> String {
    path
}

fn main() {}
