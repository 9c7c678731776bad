use hooks_core::hook;

#[hook]
fn printf_like(_format: &str, _: ...) {}

fn main() {}
