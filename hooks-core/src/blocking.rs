//! Running a sync hook marked `blocking = true` on tokio's blocking pool.

use std::panic::AssertUnwindSafe;

use crate::guard::panic_message;
use crate::{HookCall, HookContext, HookError};

/// Runs `f` on the blocking pool with its own handle on the context, then
/// puts the (possibly changed) context back. Used by `#[hook(blocking)]`.
pub fn run_blocking(
    cx: &mut HookContext,
    f: fn(&mut HookContext) -> Result<(), HookError>,
) -> HookCall<'_> {
    HookCall::pending(async move {
        let owned = cx.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut owned = owned;
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| f(&mut owned)))
                .unwrap_or_else(|payload| Err(HookError::Panicked(panic_message(&*payload))));
            (owned, result)
        })
        .await;
        match joined {
            Ok((owned, result)) => {
                *cx = owned;
                result
            }
            Err(error) => Err(HookError::msg(format!(
                "blocking hook task failed: {error}"
            ))),
        }
    })
}
