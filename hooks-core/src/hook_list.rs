//! Turning what a user passes to `.pre_hooks(...)`/`.post_hooks(...)` into
//! a list of hooks, with the phase checked at compile time.

use std::sync::Arc;

use crate::{Hook, HookDef, HookRef};

/// Marks the phase a list is for (`Pre` or `Post`).
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

impl PhaseKind for Pre {
    const PHASE: crate::Phase = crate::Phase::Pre;
}
impl PhaseKind for Post {
    const PHASE: crate::Phase = crate::Phase::Post;
}

/// Asserts at compile time that `H` can run in phase `P`.
#[doc(hidden)]
pub const fn assert_phase<H: HookDef, P: PhaseKind>() {
    if !H::META.phases.allows(P::PHASE) {
        panic!("{}", P::PHASE.misplaced_message());
    }
}

/// Something that can be given as a phase's hooks: one `#[hook]`, an array
/// of one hook type, a tuple of hooks (up to 12), or a `Vec<HookRef>`
/// (checked when the agent is built instead of at compile time).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of hooks",
    label = "give hooks here",
    note = "give one `#[hook]`, a tuple of hooks `(first, second, third)` (up to 12), an array of one hook type `[first]`, or a `Vec<HookRef>` (`vec![hook_ref(first), hook_ref(guardrail)]`)",
    note = "an array `[a, b]` of two different hooks does not compile (each hook is its own type): write the tuple `(a, b)`"
)]
pub trait IntoHookList<P: PhaseKind> {
    /// The hooks, in order.
    fn into_hook_list(self) -> Vec<HookRef>;
}

impl<H: HookDef, P: PhaseKind> IntoHookList<P> for H {
    fn into_hook_list(self) -> Vec<HookRef> {
        const { assert_phase::<H, P>() };
        vec![Arc::new(self)]
    }
}

impl<H: HookDef, P: PhaseKind, const N: usize> IntoHookList<P> for [H; N] {
    fn into_hook_list(self) -> Vec<HookRef> {
        const { assert_phase::<H, P>() };
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
        impl<P: PhaseKind, $($name: HookDef),+> IntoHookList<P> for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_hook_list(self) -> Vec<HookRef> {
                $(const { assert_phase::<$name, P>() };)+
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
