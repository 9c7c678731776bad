//! Turning what a user passes to `.pre_hooks(...)`/`.post_hooks(...)` into
//! a list of hooks, with the phase checked at compile time.

use std::sync::Arc;

use crate::{Hook, HookDef, HookRef, Phases};

/// Marks the phase a list is for (`Pre`, `Post`, `ToolHooks` or
/// `PostToolHooks`).
pub trait PhaseKind {
    /// The phase.
    const PHASE: crate::Phase;
}

/// The pre-hook phase, as a type.
#[derive(Debug, Clone, Copy)]
pub enum Pre {}
/// The post-hook phase, as a type.
#[derive(Debug, Clone, Copy)]
pub enum Post {}

/// The tool-hook phase (around each tool call), as a type.
#[derive(Debug, Clone, Copy)]
pub enum ToolHooks {}
/// The post-tool-hook phase (after each tool call), as a type.
#[derive(Debug, Clone, Copy)]
pub enum PostToolHooks {}

impl PhaseKind for Pre {
    const PHASE: crate::Phase = crate::Phase::Pre;
}
impl PhaseKind for Post {
    const PHASE: crate::Phase = crate::Phase::Post;
}
impl PhaseKind for ToolHooks {
    const PHASE: crate::Phase = crate::Phase::Tool;
}
impl PhaseKind for PostToolHooks {
    const PHASE: crate::Phase = crate::Phase::ToolPost;
}

/// The phases an argument exists in, as a type: what
/// [`FromHookArgs::Available`](crate::FromHookArgs::Available) names, so
/// the compiler can check a hook's phase where it is attached.
pub trait PhaseSet {
    /// The same phases, as a value (for the runtime check of a
    /// `Vec<HookRef>` and for [`HookMeta::phases`](crate::HookMeta::phases)).
    const PHASES: Phases;
}

/// Exists in pre-hooks and post-hooks (most arguments).
#[derive(Debug, Clone, Copy)]
pub enum AnyPhase {}
/// Exists only in pre-hooks, before the model is called (`&mut RunInput`).
#[derive(Debug, Clone, Copy)]
pub enum PreHooksOnly {}
/// Exists only in post-hooks, once the model answered (`&RunOutput`,
/// `RunOutput`, `&mut RunOutput`).
#[derive(Debug, Clone, Copy)]
pub enum PostHooksOnly {}

/// Exists only in tool hooks, around a tool call ([`Next`](crate::Next),
/// `&mut ToolCall`, a tool's result as the return type).
#[derive(Debug, Clone, Copy)]
pub enum ToolHooksOnly {}
/// Exists only in post-tool hooks, once the tool answered
/// (`&ToolResult`).
#[derive(Debug, Clone, Copy)]
pub enum PostToolHooksOnly {}
/// Exists in tool hooks and post-tool hooks (`&ToolCall`, `ToolCall`).
#[derive(Debug, Clone, Copy)]
pub enum ToolCallsOnly {}

impl PhaseSet for AnyPhase {
    const PHASES: Phases = Phases::ALL;
}
impl PhaseSet for PreHooksOnly {
    const PHASES: Phases = Phases::PRE;
}
impl PhaseSet for PostHooksOnly {
    const PHASES: Phases = Phases::POST;
}
impl PhaseSet for ToolHooksOnly {
    const PHASES: Phases = Phases::TOOL;
}
impl PhaseSet for PostToolHooksOnly {
    const PHASES: Phases = Phases::TOOL_POST;
}
impl PhaseSet for ToolCallsOnly {
    const PHASES: Phases = Phases::TOOL_CALLS;
}

/// An argument available in `Self` exists in phase `P`.
#[diagnostic::on_unimplemented(
    message = "this hook cannot run in the `{P}` phase: one of its arguments (or its return type) is available in `{Self}`",
    label = "this hook cannot be attached here",
    note = "`&RunOutput`, `RunOutput` and `&mut RunOutput` exist only once the model answered: attach such a hook with `post_hooks`, or take `Option<&RunOutput>`",
    note = "`&mut RunInput` exists only before the model is called: attach such a hook with `pre_hooks`",
    note = "`ToolCall`, `&mut ToolCall`, `Next` and a tool's result as the return type exist only around a tool call: attach such a hook with `tool_hooks`; `&ToolResult` exists only after it: `post_tool_hooks`",
    note = "the notes below name the hook (\"required for `your_hook` to implement `RunsIn<..>`\") and, for an injected argument, its type (\"required for `&RunOutput` to implement `ArgIn<..>`\")"
)]
pub trait Allows<P: PhaseKind> {}

impl<P: PhaseKind> Allows<P> for AnyPhase {}
impl Allows<Pre> for PreHooksOnly {}
impl Allows<Post> for PostHooksOnly {}
impl Allows<ToolHooks> for ToolHooksOnly {}
impl Allows<PostToolHooks> for PostToolHooksOnly {}
impl Allows<ToolHooks> for ToolCallsOnly {}
impl Allows<PostToolHooks> for ToolCallsOnly {}

/// An argument type that exists in phase `P` (its
/// [`FromHookArgs::Available`](crate::FromHookArgs::Available) allows it).
pub trait ArgIn<P: PhaseKind> {}

impl<T, P> ArgIn<P> for T
where
    P: PhaseKind,
    T: crate::FromHookArgs<'static>,
    T::Available: Allows<P>,
{
}

/// A return type that exists in phase `P` (its
/// [`IntoHookResult::Available`](crate::IntoHookResult::Available) allows
/// it): a tool's result only in tool hooks.
pub trait ReturnIn<P: PhaseKind> {}

impl<T, P> ReturnIn<P> for T
where
    P: PhaseKind,
    T: crate::IntoHookResult,
    T::Available: Allows<P>,
{
}

/// An argument taken by mutable reference that exists in phase `P` (see
/// [`FromHookArgsMut`](crate::FromHookArgsMut)).
pub trait MutArgIn<P: PhaseKind> {}

impl<T, P> MutArgIn<P> for T
where
    P: PhaseKind,
    T: crate::FromHookArgsMut<'static>,
    T::Available: Allows<P>,
{
}

/// A hook that can run in phase `P`: `#[hook]` implements it, bounded by
/// each argument's [`PhaseSet`], so a hook in the wrong phase is refused
/// at the call that attaches it, naming the argument.
///
/// `#[hook]` also implements [`IntoHookList`] for each hook (rather than
/// one impl for every `H: RunsIn<P>`, which would make the compiler
/// report a tuple with one misplaced hook as "not a list of hooks"). A
/// hook written by hand gets both from [`impl_hook_list!`](crate::impl_hook_list).
pub trait RunsIn<P: PhaseKind>: HookDef {}

/// For a hook written by hand (`impl Hook` and `impl HookDef`) that can
/// run in both phases: implements [`RunsIn`] and [`IntoHookList`] for it,
/// as `#[hook]` does, so it can be given to `pre_hooks`/`post_hooks` alone
/// or in a tuple.
#[macro_export]
macro_rules! impl_hook_list {
    ($hook:ty) => {
        impl<P: $crate::PhaseKind> $crate::RunsIn<P> for $hook {}
        impl<P: $crate::PhaseKind> $crate::IntoHookList<P> for $hook {
            fn into_hook_list(self) -> ::std::vec::Vec<$crate::HookRef> {
                ::std::vec![$crate::hook_ref(self)]
            }
        }
    };
}

/// A phase's hooks written like an array: `hooks![log_request, guardrail]`
/// is the tuple `(log_request, guardrail)`, checked at compile time like
/// any list (an array `[a, b]` of two different hooks does not compile:
/// each `#[hook]` is its own type). Up to 12 hooks.
///
/// ```
/// use hooks_core::{hook, hooks, IntoHookList, Pre, RunInput};
///
/// #[hook]
/// fn first(run_input: &RunInput) {}
/// #[hook]
/// fn second() {}
///
/// let list = IntoHookList::<Pre>::into_hook_list(hooks![first, second]);
/// assert_eq!(list.len(), 2);
/// ```
#[macro_export]
macro_rules! hooks {
    ($($hook:expr),* $(,)?) => {
        ($($hook,)*)
    };
}

/// Something that can be given as a phase's hooks: one `#[hook]`, an array
/// of one hook type, a tuple of hooks (up to 12), or a `Vec<HookRef>`
/// (checked when the agent is built instead of at compile time).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of hooks",
    label = "give hooks here",
    note = "give one `#[hook]`, a tuple of hooks `(first, second, third)` (up to 12), an array of one hook type `[first]`, or a `Vec<HookRef>` (`vec![hook_ref(first), hook_ref(guardrail)]`)",
    note = "an array `[a, b]` of two different hooks does not compile (each hook is its own type): write the tuple `(a, b)`, or `hooks![a, b]`"
)]
pub trait IntoHookList<P: PhaseKind> {
    /// The hooks, in order.
    fn into_hook_list(self) -> Vec<HookRef>;
}

impl<H: RunsIn<P>, P: PhaseKind, const N: usize> IntoHookList<P> for [H; N] {
    fn into_hook_list(self) -> Vec<HookRef> {
        self.into_iter().map(|h| Arc::new(h) as HookRef).collect()
    }
}

impl<P: PhaseKind> IntoHookList<P> for Vec<HookRef> {
    fn into_hook_list(self) -> Vec<HookRef> {
        self
    }
}

impl<P: PhaseKind> IntoHookList<P> for () {
    fn into_hook_list(self) -> Vec<HookRef> {
        Vec::new()
    }
}

macro_rules! tuple_list {
    ($($name:ident),+) => {
        impl<P: PhaseKind, $($name: RunsIn<P>),+> IntoHookList<P> for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_hook_list(self) -> Vec<HookRef> {
                let ($($name,)+) = self;
                vec![$(Arc::new($name) as HookRef),+]
            }
        }
    };
}

tuple_list!(A);
tuple_list!(A, B);
tuple_list!(A, B, C);
tuple_list!(A, B, C, D);
tuple_list!(A, B, C, D, E);
tuple_list!(A, B, C, D, E, F);
tuple_list!(A, B, C, D, E, F, G);
tuple_list!(A, B, C, D, E, F, G, H);
tuple_list!(A, B, C, D, E, F, G, H, I);
tuple_list!(A, B, C, D, E, F, G, H, I, J);
tuple_list!(A, B, C, D, E, F, G, H, I, J, K);
tuple_list!(A, B, C, D, E, F, G, H, I, J, K, L);

/// Checks at run time that every hook of `hooks` can run in `phase`;
/// returns the first that cannot.
pub fn first_misplaced(hooks: &[HookRef], phase: crate::Phase) -> Option<&HookRef> {
    hooks.iter().find(|h| !h.meta().phases.allows(phase))
}

/// Wraps a hook as a [`HookRef`].
pub fn hook_ref<H: Hook>(hook: H) -> HookRef {
    Arc::new(hook)
}
