//! `#[hook]`: turns a plain `fn` or `async fn` into an agent hook.
//!
//! The function becomes a unit struct of the same name implementing the
//! runtime's `Hook` trait, with its metadata as `name::META`, registered at
//! link time. Arguments are injected by type. See the `hooks-core` crate
//! for the runtime and the README for a guide.
//!
//! This crate holds three files: `attr` parses `#[hook(...)]`,
//! `signature` checks the function and classifies its arguments,
//! `expand` writes the generated code.
#![warn(missing_docs)]

mod attr;
mod expand;
mod signature;

use proc_macro::TokenStream;

/// Turns a function into a hook.
///
/// ```ignore
/// #[hook]                               // inline
/// #[hook(run_in_background = true)]     // always in the background, on a copy
/// #[hook(blocking = true)]              // a sync hook run on the blocking pool
/// #[hook(name = "audit")]               // registry name (default: the fn name)
/// #[hook(crate = "my_reexport::hooks")] // path to the runtime
/// ```
///
/// Arguments are injected by type, in any order, any subset:
/// `&RunInput`/`RunInput`, `&mut RunInput` (pre-hooks), `&RunOutput`/`RunOutput`
/// and `&mut RunOutput` (post-hooks), `&AgentInfo`, `&Session`, `&RunContext`,
/// `&RunId`, `&UserId`, `&ExtraFields`, and any type implementing
/// `FromHookArgs`. The function returns `()` or `Result<(), E>` with
/// `E: Into<HookError>`.
#[proc_macro_attribute]
pub fn hook(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::hook(args.into(), item.into()).into()
}
