use hooks_core::{hook, RunId, UserId};

#[hook]
fn log_pair((run, user): (&RunId, &UserId)) {
    let _ = (run, user);
}

fn main() {}
