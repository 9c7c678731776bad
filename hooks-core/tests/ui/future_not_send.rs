use std::rc::Rc;

use hooks_core::{hook, RunInput};

#[hook(run_in_background = true)]
async fn hold_rc(run_input: &RunInput) {
    let shared = Rc::new(run_input.input_content.clone());
    tokio::task::yield_now().await;
    let _ = shared;
}

fn main() {}
