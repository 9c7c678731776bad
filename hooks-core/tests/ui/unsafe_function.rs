use hooks_core::hook;

#[hook]
unsafe fn dangerous() {}

fn main() {}
