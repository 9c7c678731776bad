use hooks_core::hook;

#[hook]
const fn nothing() {}

fn main() {}
