use hooks_core::{hook, RunInput};

type Input = RunInput;

// `&mut RunInput` takes the input: reading it again (through an alias)
// is a duplicate.
#[hook]
fn redact(input: &mut RunInput, seen: &Input) {
    let _ = (input, seen);
}

fn main() {}
