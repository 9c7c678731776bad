//! The `Hook` trait that `#[hook]` implements.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{HookContext, HookError, HookMeta};

/// A boxed hook future.
pub type BoxHookFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HookError>> + Send + 'a>>;

/// What calling a hook gives: a result at once (sync hooks, no allocation)
/// or a future to await (async and blocking hooks).
pub enum HookCall<'a> {
    /// The hook already ran.
    Ready(Result<(), HookError>),
    /// The hook runs when this future is awaited.
    Pending(BoxHookFuture<'a>),
}

impl<'a> HookCall<'a> {
    /// A future for an `async` hook body.
    pub fn pending(fut: impl Future<Output = Result<(), HookError>> + Send + 'a) -> Self {
        HookCall::Pending(Box::pin(fut))
    }

    /// Runs the call to its end.
    pub async fn finish(self) -> Result<(), HookError> {
        match self {
            HookCall::Ready(result) => result,
            HookCall::Pending(fut) => fut.await,
        }
    }
}

/// A hook: a function the runtime runs around an agent run.
///
/// `#[hook]` implements it on the unit struct it makes of a function; a
/// hand-written impl works too.
pub trait Hook: Send + Sync + 'static {
    /// The hook's metadata.
    fn meta(&self) -> &'static HookMeta;

    /// Runs the hook on `cx`, extracting its arguments by type.
    fn call<'a>(&'a self, cx: &'a mut HookContext) -> HookCall<'a>;
}

/// A hook whose metadata is known at compile time (every `#[hook]`), so
/// misuse such as a post-only hook given as a pre-hook fails to compile.
pub trait HookDef: Hook + Sized {
    /// The metadata, as a constant.
    const META: HookMeta;
}

/// A shared handle to any hook, as agents and the dispatcher keep them.
pub type HookRef = Arc<dyn Hook>;
