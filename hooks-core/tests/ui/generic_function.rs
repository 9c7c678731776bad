use hooks_core::hook;

#[hook]
fn log_any<T: std::fmt::Debug>(value: T) {
    let _ = value;
}

fn main() {}
