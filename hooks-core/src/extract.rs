//! Argument injection by type: each argument of a hook is one
//! [`FromHookArgs`] impl.

use crate::{
    AgentInfo, ExtraFields, HookArgs, HookError, Job, Phases, RunContext, RunId, RunInput,
    RunOutput, Session, UserId,
};

/// A type a hook can take as an argument.
///
/// `#[hook]` extracts every argument through this trait, so a program can
/// add its own argument types: implement it, usually reading a value the
/// program registered with [`HookArgs::extension`].
///
/// ```
/// use hooks_core::{FromHookArgs, HookArgs, HookError, Phases};
///
/// struct Tenant(String);
///
/// impl<'a> FromHookArgs<'a> for &'a Tenant {
///     const PHASES: Phases = Phases::ALL;
///     fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
///         args.extension::<Tenant>().ok_or_else(|| HookError::msg("no tenant registered"))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a hook argument",
    label = "this argument type cannot be injected into a hook",
    note = "hook arguments are injected by type; the valid ones are `&RunInput`, `RunInput`, `&mut RunInput` (pre-hooks), `&RunOutput`, `RunOutput`, `&mut RunOutput` (post-hooks), `&AgentInfo`, `&Session`, `&RunContext`, `&RunId`, `&UserId`, `&ExtraFields`, `&Job` (durable hooks), and owned copies of these",
    note = "to inject a type of your own, implement `FromHookArgs` for it"
)]
pub trait FromHookArgs<'a>: Sized {
    /// The phases in which this argument exists.
    const PHASES: Phases;

    /// Whether the argument exists only in a durable job ([`Job`]): an
    /// agent refuses, at `build()`, a hook that takes one and does not run
    /// as a durable job.
    const NEEDS_JOB: bool = false;

    /// Draws the argument from the run.
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError>;
}

fn missing(argument: &'static str, args: &HookArgs<'_>) -> HookError {
    HookError::MissingArgument {
        argument,
        phase: args.phase().as_str(),
    }
}

impl<'a> FromHookArgs<'a> for &'a RunInput {
    const PHASES: Phases = Phases::ALL;
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.input().ok_or_else(|| missing("&RunInput", args))
    }
}

impl<'a> FromHookArgs<'a> for RunInput {
    const PHASES: Phases = Phases::ALL;
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.input()
            .cloned()
            .ok_or_else(|| missing("RunInput", args))
    }
}

impl<'a> FromHookArgs<'a> for &'a RunOutput {
    const PHASES: Phases = Phases::POST;
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.output().ok_or_else(|| missing("&RunOutput", args))
    }
}

impl<'a> FromHookArgs<'a> for RunOutput {
    const PHASES: Phases = Phases::POST;
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
            const PHASES: Phases = Phases::ALL;
            #[inline]
            fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
                Ok(&args.shared().$field)
            }
        }

        impl<'a> FromHookArgs<'a> for $ty {
            const PHASES: Phases = Phases::ALL;
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

impl<'a> FromHookArgs<'a> for &'a Job {
    const PHASES: Phases = Phases::ALL;
    const NEEDS_JOB: bool = true;
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.job().ok_or_else(|| missing("&Job", args))
    }
}

impl<'a> FromHookArgs<'a> for Job {
    const PHASES: Phases = Phases::ALL;
    const NEEDS_JOB: bool = true;
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.job().cloned().ok_or_else(|| missing("Job", args))
    }
}

impl<'a> FromHookArgs<'a> for HookArgs<'a> {
    const PHASES: Phases = Phases::ALL;
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        Ok(*args)
    }
}

impl<'a, T: FromHookArgs<'a>> FromHookArgs<'a> for Option<T> {
    const PHASES: Phases = Phases::ALL;
    #[inline]
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        Ok(T::from_hook_args(args).ok())
    }
}
