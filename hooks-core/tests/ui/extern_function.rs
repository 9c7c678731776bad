use hooks_core::hook;

#[hook]
extern "C" fn from_c() {}

fn main() {}
