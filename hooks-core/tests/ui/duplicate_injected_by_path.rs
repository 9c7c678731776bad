use hooks_core::{hook, RunInput};

// The same type spelled two ways is still one argument taken twice.
#[hook]
fn log_twice(first: &RunInput, second: &hooks_core::RunInput) {
    let _ = (first, second);
}

fn main() {}
