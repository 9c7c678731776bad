//! `#[hook]`: turns a plain `fn` or `async fn` into an agent hook.
//!
//! The function becomes a unit struct of the same name implementing the
//! runtime's `Hook` trait, with its metadata as `name::META`, registered at
//! link time. Arguments are injected by type. See the `hooks-core` crate
//! for the runtime and the README for a guide.
//!
//! `#[tool]`: turns a function into a tool the model may call (a unit struct
//! implementing the runtime's `Tool`, registered the same way).
//!
//! This crate holds four files: `attr` parses `#[hook(...)]`,
//! `signature` checks the function and classifies its arguments,
//! `expand` writes the generated code; `tool` does all three for
//! `#[tool]`.
#![warn(missing_docs)]

mod attr;
mod expand;
mod signature;
mod tool;

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

/// Turns a function into a tool the model may call.
///
/// ```ignore
/// /// Gets the weather of a city.
/// ///
/// /// # Arguments
/// /// * `city` - The city's name.
/// #[tool]                                  // name and description from the fn
/// async fn get_weather(city: String, session: &Session) -> Result<String, MyError> { .. }
///
/// #[tool(name = "weather", description = "...")]
/// #[tool(strict)]                          // OpenAI's strict schema
/// #[tool(stop_after_tool_call)]            // the run ends on its result
/// #[tool(show_result)]                     // its result is also the run's content
/// #[tool(crate = "my_reexport::hooks")]    // path to the runtime
/// ```
///
/// Owned arguments are the tool's parameters: the model sends them by
/// name, each read by its type (`serde::Deserialize`), the JSON Schema
/// sent to the model derived from the same types (`schemars::JsonSchema`),
/// `Option<T>` ones not required. Arguments by reference are the run's
/// data, injected by type as a hook's are (`&Session`, `&RunContext`,
/// `&AgentInfo`, `&RunInput`, ... and any `FromHookArgs` type). The doc
/// comment is the description; its `# Arguments` list describes the
/// parameters. The function returns something the model can read as text
/// (`String`, `&str`, a number, `bool`, `()`, `serde_json::Value`,
/// `Json(value)`), or a `Result` of one with an error that is `Display`.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    tool::tool(args.into(), item.into()).into()
}
