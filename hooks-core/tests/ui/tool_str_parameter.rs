use hooks_core::tool;

/// Greets.
#[tool]
fn greet(name: &str) -> String {
    format!("hello {name}")
}

fn main() {}
