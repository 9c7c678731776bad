//! Snapshot tests: the expansion of a few representative hooks, formatted
//! with `prettyplease`, pinned under `tests/expand/` (regenerate with
//! `UPDATE_EXPECT=1 cargo test -p hooks-macros`).

use expect_test::{ExpectFile, expect_file};
use quote::quote;

fn check(attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream, expected: ExpectFile) {
    let expanded = crate::expand::hook(attr, item);
    let file: syn::File = syn::parse2(expanded).expect("the expansion parses as a file");
    expected.assert_eq(&prettyplease::unparse(&file));
}

#[test]
fn sync_hook_taking_references() {
    check(
        quote!(),
        quote! {
            /// Logs the request.
            pub fn log_request(run_input: &RunInput, agent: &AgentInfo) {
                println!("{} {}", agent.display_name(), run_input.input_content);
            }
        },
        expect_file!["../tests/expand/sync_refs.expanded.rs"],
    );
}

#[test]
fn async_background_hook() {
    check(
        quote!(run_in_background = true),
        quote! {
            async fn send_notification(run_output: &RunOutput, agent: &AgentInfo) {
                let _ = (run_output, agent);
            }
        },
        expect_file!["../tests/expand/async_background.expanded.rs"],
    );
}

#[test]
fn mutating_guardrail_returning_result() {
    check(
        quote!(),
        quote! {
            fn redact(run_input: &mut RunInput, session: &Session) -> Result<(), CheckError> {
                let _ = session;
                run_input.input_content.clear();
                Ok(())
            }
        },
        expect_file!["../tests/expand/mutating_guardrail.expanded.rs"],
    );
}

#[test]
fn renamed_hook_with_a_crate_path_and_blocking() {
    check(
        quote!(name = "audit", crate = "my_app::hooks", blocking = true),
        quote! {
            fn audit_log(user_id: &UserId) {
                let _ = user_id;
            }
        },
        expect_file!["../tests/expand/renamed_blocking.expanded.rs"],
    );
}
