//! What the runtime knows of a hook: its metadata, produced by `#[hook]`.

use std::fmt;

/// The points of a run where hooks run: around the run (`Pre`, `Post`)
/// and around each of its tool calls (`Tool`, `ToolPost`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// After the session is loaded, before the model is called.
    Pre,
    /// After the model answered, before the run is stored.
    Post,
    /// Around each tool call, before the tool runs: the chain of tool
    /// hooks, which may change the call, answer it or refuse it.
    Tool,
    /// After each tool call, with its result.
    ToolPost,
}

impl Phase {
    /// `"pre"`, `"post"`, `"tool"` or `"tool_post"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Pre => "pre",
            Phase::Post => "post",
            Phase::Tool => "tool",
            Phase::ToolPost => "tool_post",
        }
    }

    /// The phase named `name` ([`Phase::as_str`]).
    pub fn from_name(name: &str) -> Option<Phase> {
        Some(match name {
            "pre" => Phase::Pre,
            "post" => Phase::Post,
            "tool" => Phase::Tool,
            "tool_post" => Phase::ToolPost,
            _ => return None,
        })
    }
}

impl Phase {
    /// What a hook attached to this phase takes that the phase does not
    /// have: `build()`'s wording for a list given at run time (a
    /// `Vec<HookRef>`). A list given at compile time is refused by the
    /// compiler instead, with the notes of `hook_list.rs` (attribute text,
    /// which cannot name a constant).
    pub const fn unavailable_arguments(self) -> &'static str {
        match self {
            Phase::Pre => {
                "`&RunOutput`, `RunOutput` or `&mut RunOutput`, which only post-hooks have"
            }
            Phase::Post => "`&mut RunInput`, which only pre-hooks have",
            Phase::Tool => {
                "`&RunOutput`, `&mut RunInput` or `&ToolResult`, which only run hooks or post-tool hooks have"
            }
            Phase::ToolPost => {
                "`&RunOutput`, `&mut RunInput`, `Next` or a tool's result as its return type, which only run hooks or tool hooks have"
            }
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The phases a hook (or one argument type) can be used in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Phases {
    /// Usable as a pre-hook.
    pub pre: bool,
    /// Usable as a post-hook.
    pub post: bool,
    /// Usable as a tool hook (around each tool call).
    pub tool: bool,
    /// Usable as a post-tool hook (after each tool call).
    pub tool_post: bool,
}

impl Phases {
    /// Every phase.
    pub const ALL: Phases = Phases {
        pre: true,
        post: true,
        tool: true,
        tool_post: true,
    };
    /// Pre-hooks only.
    pub const PRE: Phases = Phases {
        pre: true,
        ..Phases::NONE
    };
    /// Post-hooks only.
    pub const POST: Phases = Phases {
        post: true,
        ..Phases::NONE
    };
    /// The run's phases (pre-hooks and post-hooks), not the tool calls'.
    pub const RUN: Phases = Phases {
        pre: true,
        post: true,
        ..Phases::NONE
    };
    /// Tool hooks only.
    pub const TOOL: Phases = Phases {
        tool: true,
        ..Phases::NONE
    };
    /// Post-tool hooks only.
    pub const TOOL_POST: Phases = Phases {
        tool_post: true,
        ..Phases::NONE
    };
    /// Tool hooks and post-tool hooks (the phases that have a tool call).
    pub const TOOL_CALLS: Phases = Phases {
        tool: true,
        tool_post: true,
        ..Phases::NONE
    };
    const NONE: Phases = Phases {
        pre: false,
        post: false,
        tool: false,
        tool_post: false,
    };

    /// The phases both `self` and `other` allow.
    pub const fn and(self, other: Phases) -> Phases {
        Phases {
            pre: self.pre && other.pre,
            post: self.post && other.post,
            tool: self.tool && other.tool,
            tool_post: self.tool_post && other.tool_post,
        }
    }

    /// Whether `phase` is allowed.
    pub const fn allows(self, phase: Phase) -> bool {
        match phase {
            Phase::Pre => self.pre,
            Phase::Post => self.post,
            Phase::Tool => self.tool,
            Phase::ToolPost => self.tool_post,
        }
    }
}

/// Everything the runtime knows of a hook, fixed at compile time by
/// `#[hook]` and readable as `my_hook::META`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HookMeta {
    /// The registry name (the function's name unless `name = "..."`).
    pub name: &'static str,
    /// `module_path!()` where the hook is defined.
    pub module_path: &'static str,
    /// `file!()` where the hook is defined.
    pub file: &'static str,
    /// `line!()` of the function.
    pub line: u32,
    /// Whether it is an `async fn`.
    pub is_async: bool,
    /// `#[hook(run_in_background = true)]`: always runs in the background.
    pub run_in_background: bool,
    /// `#[hook(blocking = true)]`: a sync hook run on the blocking pool.
    pub blocking: bool,
    /// The phases its arguments allow.
    pub phases: Phases,
    /// It changes the run: it takes `&mut RunInput`, `&mut RunOutput` or
    /// `&mut ToolCall`, or decides a tool call (takes
    /// [`Next`](crate::Next) or returns the call's result).
    pub mutates: bool,
    /// Its error type can carry a check error (any error type that is not
    /// [`CheckFree`](crate::CheckFree): `HookError`, `CheckError`, a type
    /// of yours), so it can stop the run (a guardrail). Read from the type,
    /// whatever its spelling (aliases, paths).
    pub can_block: bool,
    /// `#[hook(durable = true)]` / `durable = false`: whether the hook,
    /// when it runs in the background, runs as a durable job (written to
    /// the store with its run, run again after a crash). `None`: the
    /// agent's default decides.
    pub durable: Option<bool>,
    /// It takes a [`Job`](crate::Job) argument, which only a durable job
    /// has (an agent refuses it otherwise, at `build()`).
    pub takes_job: bool,
    /// `#[hook(max_attempts = n)]`: the attempts its durable jobs get
    /// (`None`: the agent's `JobOptions::max_attempts`).
    pub max_attempts: Option<u32>,
    /// `#[hook(timeout = "30s")]`: how long one attempt of its durable
    /// jobs may run before it counts as failed (and is retried), freeing
    /// its place (`None`: the agent's `JobOptions::attempt_timeout`).
    pub timeout: Option<std::time::Duration>,
}

impl HookMeta {
    /// Whether the global `run_hooks_in_background` may move this hook to
    /// the background: only hooks that neither change nor can block the run.
    pub const fn movable_to_background(&self) -> bool {
        !self.mutates && !self.can_block
    }

    /// Where the hook runs, given the global `run_hooks_in_background`.
    pub const fn runs_in_background(&self, global_background: bool) -> bool {
        self.run_in_background || (global_background && self.movable_to_background())
    }

    /// Whether the hook, when it runs in the background, runs as a durable
    /// job, given the agent's default.
    pub const fn is_durable(&self, default: bool) -> bool {
        match self.durable {
            Some(durable) => durable,
            None => default,
        }
    }

    /// A metadata record for a hook written by hand (not by `#[hook]`).
    pub const fn new(name: &'static str) -> HookMeta {
        HookMeta {
            name,
            module_path: "",
            file: "",
            line: 0,
            is_async: false,
            run_in_background: false,
            blocking: false,
            phases: Phases::ALL,
            mutates: false,
            can_block: false,
            durable: None,
            takes_job: false,
            max_attempts: None,
            timeout: None,
        }
    }
}
