use hooks_core::{tool, Session};

/// An async tool already yields.
#[tool(blocking)]
async fn fetch(url: String) -> String {
    url
}

/// A blocking tool cannot borrow the run's data.
#[tool(blocking)]
fn where_am_i(name: String, session: &Session) -> String {
    format!("{name} {}", session.session_id)
}

fn main() {}
