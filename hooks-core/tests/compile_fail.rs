//! Misuses of `#[hook]` are compile errors spanned on the offending token;
//! each case under `tests/ui/` has its expected `.stderr` checked in
//! (regenerate with `TRYBUILD=overwrite cargo test -p hooks-core --test compile_fail`).
//! The forms under `tests/ui-pass/` must compile.

#[test]
fn hook_misuse_is_a_compile_error() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui-pass/*.rs");
}
