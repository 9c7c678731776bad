//! Argument injection by type: each argument of a hook is one
//! [`FromHookArgs`] impl.

use crate::{
    AgentInfo, AnyPhase, ExtraFields, HookArgs, HookError, Identity, Job, PhaseSet, PostHooksOnly,
    RunContext, RunId, RunInput, RunOutput, Session, UserId,
};

/// A type a hook can take as an argument.
///
/// `#[hook]` extracts every argument through this trait, so a program can
/// add its own argument types: implement it, usually reading a value the
/// program registered with [`HookArgs::extension`].
///
/// ```
/// use hooks_core::{AnyPhase, FromHookArgs, HookArgs, HookError};
///
/// struct Tenant(String);
///
/// impl<'a> FromHookArgs<'a> for &'a Tenant {
///     type Available = AnyPhase;
///     fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
///         args.extension::<Tenant>().ok_or_else(|| HookError::msg("no tenant registered"))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a hook argument",
    label = "this argument type cannot be injected into a hook",
    note = "hook arguments are injected by type; the valid ones are `&RunInput`, `RunInput`, `&mut RunInput` (pre-hooks), `&RunOutput`, `RunOutput`, `&mut RunOutput` (post-hooks), `&AgentInfo`, `&Session`, `&RunContext`, `&RunId`, `&UserId`, `&Identity`, `&ExtraFields`, `&Job` (durable hooks), `&ToolCall`, `ToolCall`, `&mut ToolCall`, `Next` (tool hooks), `&ToolResult` (post-tool hooks), `&ToolMeta`, and owned copies of these",
    note = "to inject a type of your own, implement `FromHookArgs` for it"
)]
pub trait FromHookArgs<'a>: Sized {
    /// The phases in which this argument exists: [`AnyPhase`] for most,
    /// [`PostHooksOnly`] for the run's output. A hook attached to a phase
    /// its arguments do not exist in does not compile.
    type Available: PhaseSet;

    /// Whether the argument exists only in a durable job ([`Job`]): an
    /// agent refuses, at `build()`, a hook that takes one and does not run
    /// as a durable job.
    const NEEDS_JOB: bool = false;

    /// Whether taking the argument lets the hook change the run (a tool
    /// hook's [`Next`](crate::Next): it decides the call). Such a hook
    /// always runs inline: `#[hook]` refuses it in the background.
    const CHANGES_RUN: bool = false;

    /// Which part of the run it reads, when that part may be taken only
    /// once by a hook (`Some("RunInput")` for `&RunInput` and `RunInput`,
    /// ...): `#[hook]` refuses two arguments that read the same part, by
    /// this value, whatever the types are called. `None` (the default):
    /// any number of them.
    const DATA: Option<&'static str> = None;

    /// Draws the argument from the run.
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError>;
}

/// The error for an argument the phase of `args` does not have.
pub(crate) fn missing(argument: &'static str, args: &HookArgs<'_>) -> HookError {
    HookError::MissingArgument {
        argument,
        phase: args.phase().as_str(),
    }
}

impl<'a> FromHookArgs<'a> for &'a RunInput {
    type Available = AnyPhase;
    const DATA: Option<&'static str> = Some("RunInput");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.input().ok_or_else(|| missing("&RunInput", args))
    }
}

impl<'a> FromHookArgs<'a> for RunInput {
    type Available = AnyPhase;
    const DATA: Option<&'static str> = Some("RunInput");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.input()
            .cloned()
            .ok_or_else(|| missing("RunInput", args))
    }
}

impl<'a> FromHookArgs<'a> for &'a RunOutput {
    type Available = PostHooksOnly;
    const DATA: Option<&'static str> = Some("RunOutput");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.output().ok_or_else(|| missing("&RunOutput", args))
    }
}

impl<'a> FromHookArgs<'a> for RunOutput {
    type Available = PostHooksOnly;
    const DATA: Option<&'static str> = Some("RunOutput");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.output()
            .cloned()
            .ok_or_else(|| missing("RunOutput", args))
    }
}

macro_rules! shared_argument {
    ($ty:ty, $field:ident) => {
        impl<'a> FromHookArgs<'a> for &'a $ty {
            type Available = AnyPhase;
            const DATA: Option<&'static str> = Some(stringify!($ty));
            #[inline]
            fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
                Ok(&args.shared().$field)
            }
        }

        impl<'a> FromHookArgs<'a> for $ty {
            type Available = AnyPhase;
            const DATA: Option<&'static str> = Some(stringify!($ty));
            #[inline]
            fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
                Ok(<$ty as Clone>::clone(&args.shared().$field))
            }
        }
    };
}

shared_argument!(AgentInfo, agent);
shared_argument!(Session, session);
shared_argument!(RunContext, run_context);
shared_argument!(RunId, run_id);
shared_argument!(UserId, user_id);
shared_argument!(ExtraFields, extra);

impl<'a> FromHookArgs<'a> for &'a Identity {
    type Available = AnyPhase;
    const DATA: Option<&'static str> = Some("Identity");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        Ok(&args.shared().identity)
    }
}

impl<'a> FromHookArgs<'a> for &'a Job {
    type Available = AnyPhase;
    const NEEDS_JOB: bool = true;
    const DATA: Option<&'static str> = Some("Job");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.job().ok_or_else(|| missing("&Job", args))
    }
}

impl<'a> FromHookArgs<'a> for Job {
    type Available = AnyPhase;
    const NEEDS_JOB: bool = true;
    const DATA: Option<&'static str> = Some("Job");
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.job().cloned().ok_or_else(|| missing("Job", args))
    }
}

impl<'a> FromHookArgs<'a> for HookArgs<'a> {
    type Available = AnyPhase;
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        Ok(*args)
    }
}

/// An argument a hook can take as `Option<T>`: `None` when it is absent
/// (the output in a pre-hook, the job of a hook that is not durable, a
/// value the program did not register), while an extraction that *fails*
/// is still an error, as axum 0.8's `OptionalFromRequestParts` keeps them
/// apart. (`Option<T>` used to turn every error into `None`.)
///
/// ```
/// use hooks_core::{AnyPhase, HookArgs, HookError, OptionalFromHookArgs};
///
/// struct Tenant(String);
///
/// impl<'a> OptionalFromHookArgs<'a> for &'a Tenant {
///     type Available = AnyPhase;
///     fn from_hook_args_opt(args: &HookArgs<'a>) -> Result<Option<Self>, HookError> {
///         Ok(args.extension::<Tenant>()) // absent: None; nothing here can fail
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an optional hook argument",
    note = "`Option<T>` needs `T: OptionalFromHookArgs`, which says when `T` is absent (`Ok(None)`) rather than failed (`Err`); implement it for your own type"
)]
pub trait OptionalFromHookArgs<'a>: Sized {
    /// The phases in which the argument may be asked for (see
    /// [`FromHookArgs::Available`]).
    type Available: PhaseSet;

    /// Which part of the run it reads (see [`FromHookArgs::DATA`]).
    const DATA: Option<&'static str> = None;

    /// The argument, `None` when absent, `Err` when it could not be made.
    fn from_hook_args_opt(args: &HookArgs<'a>) -> Result<Option<Self>, HookError>;
}

impl<'a, T: OptionalFromHookArgs<'a>> FromHookArgs<'a> for Option<T> {
    type Available = T::Available;
    const DATA: Option<&'static str> = T::DATA;
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        T::from_hook_args_opt(args)
    }
}

macro_rules! optional_when_missing {
    ($($ty:ty),* $(,)?) => {$(
        impl<'a> OptionalFromHookArgs<'a> for $ty {
            type Available = AnyPhase;
            const DATA: Option<&'static str> = <$ty as FromHookArgs<'a>>::DATA;
            #[inline]
            fn from_hook_args_opt(args: &HookArgs<'a>) -> Result<Option<Self>, HookError> {
                match <$ty as FromHookArgs<'a>>::from_hook_args(args) {
                    Ok(value) => Ok(Some(value)),
                    Err(HookError::MissingArgument { .. }) => Ok(None),
                    Err(error) => Err(error),
                }
            }
        }
    )*};
}

// The built-in arguments are absent (never failed) where they do not
// exist: the input behind a `&mut RunInput`, the output in a pre-hook, the
// job of a hook that is not durable. The others always exist.
optional_when_missing!(
    &'a RunInput,
    RunInput,
    &'a RunOutput,
    RunOutput,
    &'a Job,
    Job,
    &'a AgentInfo,
    AgentInfo,
    &'a Session,
    Session,
    &'a RunContext,
    RunContext,
    &'a RunId,
    RunId,
    &'a UserId,
    UserId,
    &'a ExtraFields,
    ExtraFields,
);

/// An argument a hook takes by mutable reference: the part of the run it
/// changes, split off the rest. Implemented for `&mut RunInput` (pre-hooks)
/// and `&mut RunOutput` (post-hooks) only; `#[hook]` takes every `&mut`
/// argument through this trait, so an alias of either type works and
/// any other type is refused on the argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a hook argument",
    label = "only `&mut RunInput` and `&mut RunOutput` can be taken by mutable reference",
    note = "a hook changes the run through `&mut RunInput` (pre-hooks) or `&mut RunOutput` (post-hooks); take anything else by shared reference (`&T`) instead"
)]
pub trait FromHookArgsMut<'a>: Sized {
    /// The phases in which it exists.
    type Available: PhaseSet;

    /// Which part of the run it is (see [`FromHookArgs::DATA`]): no other
    /// argument of the hook may read it.
    const DATA: &'static str;

    /// Splits it off `cx`, with every other argument's view.
    fn split(cx: &'a mut crate::HookContext) -> Result<(Self, HookArgs<'a>), HookError>;
}

impl<'a> FromHookArgsMut<'a> for &'a mut RunInput {
    type Available = crate::PreHooksOnly;
    const DATA: &'static str = "RunInput";
    #[inline]
    fn split(cx: &'a mut crate::HookContext) -> Result<(Self, HookArgs<'a>), HookError> {
        Ok(cx.split_input_mut())
    }
}

impl<'a> FromHookArgsMut<'a> for &'a mut RunOutput {
    type Available = PostHooksOnly;
    const DATA: &'static str = "RunOutput";
    #[inline]
    fn split(cx: &'a mut crate::HookContext) -> Result<(Self, HookArgs<'a>), HookError> {
        let phase = cx.phase().as_str();
        cx.split_output_mut().ok_or(HookError::MissingArgument {
            argument: "&mut RunOutput",
            phase,
        })
    }
}

/// Whether two arguments read the same part of the run (`#[hook]`'s
/// duplicate check, evaluated by the compiler).
#[doc(hidden)]
pub const fn same_data(a: Option<&str>, b: Option<&str>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
