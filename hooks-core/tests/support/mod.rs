//! Test helpers: a recorder and gates hooks reach through a user-defined
//! argument type (which also exercises `FromHookArgs` for user types).
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use hooks_core::{
    AnyPhase, Extensions, FromHookArgs, HookArgs, HookContext, HookError, RunId, RunInput,
    RunShared,
};
use tokio::sync::{Semaphore, mpsc};

/// Records what hooks did, in order.
#[derive(Default)]
pub struct Log(Mutex<Vec<String>>);

impl Log {
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl<'a> FromHookArgs<'a> for &'a Log {
    type Available = AnyPhase;
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.extension::<Arc<Log>>()
            .map(|log| &**log)
            .ok_or_else(|| HookError::msg("no Log registered"))
    }
}

/// A gate a background hook waits on, and a channel it reports through.
pub struct Gate {
    pub open: Arc<Semaphore>,
    pub done: mpsc::UnboundedSender<String>,
}

impl<'a> FromHookArgs<'a> for &'a Gate {
    type Available = AnyPhase;
    fn from_hook_args(args: &HookArgs<'a>) -> Result<Self, HookError> {
        args.extension::<Gate>()
            .ok_or_else(|| HookError::msg("no Gate registered"))
    }
}

pub struct Harness {
    pub log: Arc<Log>,
    pub open: Arc<Semaphore>,
    pub done: mpsc::UnboundedReceiver<String>,
    pub extensions: Extensions,
}

pub fn harness() -> Harness {
    let log = Arc::new(Log::default());
    let open = Arc::new(Semaphore::new(0));
    let (tx, rx) = mpsc::unbounded_channel();
    let mut extensions = Extensions::new();
    extensions.insert(log.clone());
    extensions.insert(Gate {
        open: open.clone(),
        done: tx,
    });
    Harness {
        log,
        open,
        done: rx,
        extensions,
    }
}

pub fn context(input: &str, extensions: &Extensions) -> HookContext {
    HookContext::new(
        RunInput::new(input),
        RunShared {
            run_id: RunId("run-1".into()),
            extensions: Arc::new(extensions.clone()),
            ..Default::default()
        },
    )
}
