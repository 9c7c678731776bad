use hooks_core::hook;

#[hook]
fn count(times: u32) {
    let _ = times;
}

fn main() {}
