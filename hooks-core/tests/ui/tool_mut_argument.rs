use hooks_core::{Session, tool};

/// Renames.
#[tool]
fn rename(session: &mut Session) -> String {
    session.session_id.clone()
}

fn main() {}
