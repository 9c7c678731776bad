use hooks_core::{hook, RunInput};

struct Logger;

impl Logger {
    #[hook]
    fn log(&self, run_input: &RunInput) {
        let _ = run_input;
    }
}

fn main() {}
