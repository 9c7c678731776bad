use hooks_core::{hook, Session};

#[hook]
fn rename(session: &mut Session) {
    session.session_id.clear();
}

fn main() {}
