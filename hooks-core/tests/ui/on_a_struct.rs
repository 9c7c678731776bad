use hooks_core::hook;

#[hook]
struct NotAFunction;

fn main() {}
