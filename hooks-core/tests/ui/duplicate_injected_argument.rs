use hooks_core::{hook, RunInput};

#[hook]
fn log_twice(first: &RunInput, second: &RunInput) {
    let _ = (first, second);
}

fn main() {}
