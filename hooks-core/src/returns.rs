//! What a hook function may return, and whether that lets it block a run.
//!
//! A hook returns `()` or `Result<(), E>` with `E: Into<HookError>`. Whether
//! it can raise a check error (and so block the run, like a guardrail) is
//! read from the *type* `E`, never from how the return type is spelled:
//! aliases, re-exports and paths all classify the same.
//!
//! - `()` and the error types that implement [`CheckFree`] (`io::Error`,
//!   `String`, `&str`, `Box<dyn Error + Send + Sync>`, `serde_json::Error`,
//!   `fmt::Error`, `Infallible`, and `anyhow::Error` with the `anyhow`
//!   feature) cannot carry a check: their conversion into [`HookError`] is
//!   never [`HookError::Check`].
//! - Every other error type can: [`HookError`], [`CheckError`](crate::CheckError),
//!   and any type of yours (its `From` may build a check error). When in
//!   doubt, a hook counts as one that can block: the global
//!   `run_hooks_in_background` never moves it, and `run_in_background =
//!   true` on it is a compile error.

use std::convert::Infallible;
use std::marker::PhantomData;

use crate::{AnyPhase, HookContext, HookError, PhaseSet, ToolHooksOnly};

/// What a hook function may return: `()` or `Result<(), E>` with
/// `E: Into<HookError>`; a tool hook may also return `Result<String, E>`,
/// the tool call's result, which then is the call's answer.
#[diagnostic::on_unimplemented(
    message = "a hook must return `()` or `Result<(), E>` where `E: Into<HookError>` (a tool hook may return `Result<String, E>`), not `{Self}`",
    label = "this return type is not allowed for a hook"
)]
pub trait IntoHookResult {
    /// The error type (`Infallible` for `()`).
    type Error;

    /// The phases this return type can be given in: every phase, except
    /// for a tool call's result ([`ToolHooksOnly`](crate::ToolHooksOnly)).
    type Available: PhaseSet;

    /// Whether the value decides a tool call (the hook then changes the
    /// run: it can never run in the background).
    const DECIDES: bool = false;

    /// Converts the function's return value.
    fn into_hook_result(self) -> Result<(), HookError>;

    /// Converts it where the hook ran: a tool call's result is kept in
    /// `cx` as the call's answer.
    #[inline]
    fn into_hook_result_in(self, cx: &mut HookContext) -> Result<(), HookError>
    where
        Self: Sized,
    {
        let _ = cx;
        self.into_hook_result()
    }
}

impl IntoHookResult for () {
    type Error = Infallible;
    type Available = AnyPhase;

    #[inline]
    fn into_hook_result(self) -> Result<(), HookError> {
        Ok(())
    }
}

impl<E: Into<HookError>> IntoHookResult for Result<(), E> {
    type Error = E;
    type Available = AnyPhase;

    #[inline]
    fn into_hook_result(self) -> Result<(), HookError> {
        self.map_err(Into::into)
    }
}

impl<E: Into<HookError>> IntoHookResult for Result<String, E> {
    type Error = E;
    type Available = ToolHooksOnly;
    const DECIDES: bool = true;

    fn into_hook_result(self) -> Result<(), HookError> {
        self.map(|_| ()).map_err(Into::into)
    }

    fn into_hook_result_in(self, cx: &mut HookContext) -> Result<(), HookError> {
        let answer = self.map_err(Into::into)?;
        cx.answer_tool_call(answer);
        Ok(())
    }
}

/// An error type whose conversion into [`HookError`] is never a check
/// error, so a hook returning it cannot block a run: the global
/// `run_hooks_in_background` may move it to the background, and it may be
/// `run_in_background = true`.
///
/// Implement it for an error type of yours only if its `Into<HookError>`
/// never gives [`HookError::Check`]. A check error that such a hook returns
/// anyway is treated like any other failure where it runs in the
/// background: logged and counted, never blocking (it cannot: the response
/// may already be sent).
pub trait CheckFree {}

impl CheckFree for Infallible {}
impl CheckFree for std::io::Error {}
impl CheckFree for String {}
impl CheckFree for &str {}
impl CheckFree for Box<dyn std::error::Error + Send + Sync + 'static> {}
impl CheckFree for serde_json::Error {}
impl CheckFree for std::fmt::Error {}
impl CheckFree for crate::ToolError {}
#[cfg(feature = "anyhow")]
impl CheckFree for anyhow::Error {}

/// Reads [`CheckFree`] of a concrete type in a constant: the inherent
/// `CAN_CHECK` (false) applies when `E: CheckFree`, the trait's (true)
/// otherwise. `#[hook]` writes `<CheckProbe<E>>::CAN_CHECK` with the hook's
/// error type; it works because that type is concrete there.
#[doc(hidden)]
pub struct CheckProbe<E: ?Sized>(PhantomData<E>);

/// The fallback of [`CheckProbe`]: any error type can carry a check.
#[doc(hidden)]
pub trait MayCarryCheck {
    /// Whether the error type can carry a check error.
    const CAN_CHECK: bool = true;
}

impl<E: ?Sized> MayCarryCheck for CheckProbe<E> {}

impl<E: ?Sized + CheckFree> CheckProbe<E> {
    /// `E` cannot carry a check error.
    pub const CAN_CHECK: bool = false;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CheckError;

    #[allow(unused_imports)]
    use MayCarryCheck as _;

    struct Mine;
    impl From<Mine> for HookError {
        fn from(_: Mine) -> Self {
            HookError::msg("mine")
        }
    }
    type Checked = Result<(), CheckError>;

    #[test]
    fn the_error_type_decides() {
        let can_check = [
            ("()", <CheckProbe<<() as IntoHookResult>::Error>>::CAN_CHECK),
            (
                "io",
                <CheckProbe<<std::io::Result<()> as IntoHookResult>::Error>>::CAN_CHECK,
            ),
            (
                "String",
                <CheckProbe<<Result<(), String> as IntoHookResult>::Error>>::CAN_CHECK,
            ),
            (
                "&str",
                <CheckProbe<<Result<(), &'static str> as IntoHookResult>::Error>>::CAN_CHECK,
            ),
            (
                "alias",
                <CheckProbe<<Checked as IntoHookResult>::Error>>::CAN_CHECK,
            ),
            (
                "HookError",
                <CheckProbe<<Result<(), HookError> as IntoHookResult>::Error>>::CAN_CHECK,
            ),
            (
                "own type",
                <CheckProbe<<Result<(), Mine> as IntoHookResult>::Error>>::CAN_CHECK,
            ),
        ];
        assert_eq!(
            can_check,
            [
                ("()", false),
                ("io", false),
                ("String", false),
                ("&str", false),
                ("alias", true),
                ("HookError", true),
                ("own type", true),
            ]
        );
    }
}
