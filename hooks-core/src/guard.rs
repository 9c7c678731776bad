//! Running one hook with its panics caught and its time limited.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;

use crate::{Hook, HookCall, HookContext, HookError};

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Pins a closure's kind to `FnOnce`, so it may hand out what it captured.
fn once<R>(f: impl FnOnce() -> R) -> impl FnOnce() -> R {
    f
}

/// Calls `hook` on `cx`; a panic becomes [`HookError::Panicked`], running
/// past `timeout` becomes [`HookError::TimedOut`].
pub(crate) async fn run_guarded(
    hook: &dyn Hook,
    cx: &mut HookContext,
    timeout: Option<Duration>,
) -> Result<(), HookError> {
    let call = match std::panic::catch_unwind(AssertUnwindSafe(once(move || hook.call(cx)))) {
        Ok(call) => call,
        Err(payload) => return Err(HookError::Panicked(panic_message(&*payload))),
    };
    match call {
        HookCall::Ready(result) => result,
        HookCall::Pending(fut) => {
            let fut = AssertUnwindSafe(fut).catch_unwind();
            let outcome = match timeout {
                // Boxed: the timer is ~100 bytes that every pending
                // background hook would otherwise carry in its task,
                // timeout or not (an `async fn` reserves room for its
                // largest await).
                Some(limit) => match Box::pin(tokio::time::timeout(limit, fut)).await {
                    Ok(outcome) => outcome,
                    Err(_) => return Err(HookError::TimedOut(limit)),
                },
                None => fut.await,
            };
            outcome.unwrap_or_else(|payload| Err(HookError::Panicked(panic_message(&*payload))))
        }
    }
}
