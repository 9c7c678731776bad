//! The registry lists hooks defined in another crate of the workspace.

use agno_server::registry;

#[test]
fn hooks_from_the_examples_crate_are_registered() {
    // Referencing the crate links it, so its registrations are collected.
    let _ = examples::audit_log;
    let names: Vec<&str> = registry::all().iter().map(|r| r.meta().name).collect();
    for name in ["audit_log", "block_passwords", "redact_emails"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "all() is sorted by name");

    let audit = registry::get("audit_log").unwrap();
    assert_eq!(audit.meta().module_path, "examples");
    assert!(audit.meta().run_in_background);
    assert!(audit.meta().is_async);
    assert_eq!(audit.path(), "examples::audit_log");

    let guard = registry::get("block_passwords").unwrap().meta();
    assert!(guard.can_block && !guard.mutates && !guard.run_in_background);
    let redact = registry::get("redact_emails").unwrap().meta();
    assert!(redact.mutates);
    assert!(registry::get("no_such_hook").is_err());
}
