//! Agno's built-in guardrails, as hooks: [`PIIDetectionGuardrail`],
//! [`PromptInjectionGuardrail`] and [`OpenAIModerationGuardrail`], with Agno 3.1.10's detections, options,
//! messages, triggers and `additional_data`, so an Agno configuration
//! carries over.
//!
//! They are values (configured once, their patterns compiled once) that
//! implement [`Hook`]: give them to `pre_hooks(...)` like any
//! hook. As pre-hooks they check the input (`InputCheckError` in Agno); as
//! post-hooks, which Agno cannot do (its guardrails take only the input),
//! they check the output's content (`OutputCheckError`).
//!
//! ```
//! use agno_server::guardrails::{PIIDetectionGuardrail, PromptInjectionGuardrail};
//! use agno_server::{Agent, Echo, RunStatus};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let agent = Agent::builder()
//!     .id("assistant")
//!     .model(Echo::new())
//!     .pre_hooks((PIIDetectionGuardrail::new(), PromptInjectionGuardrail::new()))
//!     .build()
//!     .unwrap();
//! let output = agent.run("my SSN is 123-45-6789").await.unwrap();
//! assert_eq!(output.status, RunStatus::Error);
//! assert_eq!(output.content.as_deref(), Some("Potential PII detected in input"));
//! # });
//! ```

mod moderation;
mod pii;
mod prompt_injection;

pub use moderation::OpenAIModerationGuardrail;
pub use pii::{PIIDetectionGuardrail, PiiOptions};
pub use prompt_injection::{DEFAULT_INJECTION_PATTERNS, PromptInjectionGuardrail};

use std::sync::LazyLock;

use hooks_core::{
    CheckError, CheckTrigger, Hook, HookCall, HookContext, HookMeta, Phase, Phases, Registration,
};

/// Each guardrail with Agno's defaults, in the hook registry under its
/// Agno name (`registry::get("PIIDetectionGuardrail")`, `GET /hooks`),
/// built on first use. A configured value of yours is the same type with
/// other options; give it to `pre_hooks(...)`.
struct RegisteredDefault<T: 'static>(&'static LazyLock<T>);

impl<T: Hook> Hook for RegisteredDefault<T> {
    fn meta(&self) -> &'static HookMeta {
        LazyLock::force(self.0).meta()
    }

    fn call<'a>(&'a self, cx: &'a mut HookContext) -> HookCall<'a> {
        LazyLock::force(self.0).call(cx)
    }
}

static DEFAULT_PII: LazyLock<PIIDetectionGuardrail> = LazyLock::new(PIIDetectionGuardrail::new);
static DEFAULT_INJECTION: LazyLock<PromptInjectionGuardrail> =
    LazyLock::new(PromptInjectionGuardrail::new);
static DEFAULT_MODERATION: LazyLock<OpenAIModerationGuardrail> =
    LazyLock::new(OpenAIModerationGuardrail::new);

hooks_core::__private::inventory::submit! {
    Registration::new(&RegisteredDefault(&DEFAULT_PII))
}
hooks_core::__private::inventory::submit! {
    Registration::new(&RegisteredDefault(&DEFAULT_INJECTION))
}
hooks_core::__private::inventory::submit! {
    Registration::new(&RegisteredDefault(&DEFAULT_MODERATION))
}

/// The metadata of a built-in guardrail: inline, both phases; `mutates`
/// when it rewrites the text (masking), `can_block` when it raises.
const fn meta(name: &'static str, line: u32, mutates: bool, can_block: bool) -> HookMeta {
    HookMeta {
        module_path: module_path!(),
        file: file!(),
        line,
        is_async: false,
        run_in_background: false,
        blocking: false,
        phases: Phases::RUN,
        mutates,
        can_block,
        ..HookMeta::new(name)
    }
}

/// The text a guardrail reads in the phase `cx` is at: the input's content
/// before the model, the output's content after it.
fn text(cx: &HookContext) -> &str {
    match cx.phase() {
        // Tool phases never see a guardrail: its phases are the run's.
        Phase::Pre | Phase::Tool | Phase::ToolPost => &cx.input().input_content,
        Phase::Post => cx
            .output()
            .and_then(|o| o.content.as_deref())
            .unwrap_or_default(),
    }
}

/// Replaces the text [`text`] reads.
fn set_text(cx: &mut HookContext, new: String) {
    match cx.phase() {
        Phase::Pre | Phase::Tool | Phase::ToolPost => cx.input_mut().input_content = new,
        Phase::Post => {
            if let Some(output) = cx.output_mut() {
                output.content = Some(new);
            }
        }
    }
}

/// A check error on the side `phase` checks: Agno's input check error for
/// pre-hooks; for post-hooks an output check error, the message saying
/// "output" and `input_not_allowed` becoming `output_not_allowed`.
fn check_error(phase: Phase, input_message: &str, trigger: CheckTrigger) -> CheckError {
    match phase {
        Phase::Pre | Phase::Tool | Phase::ToolPost => CheckError::input(input_message, trigger),
        Phase::Post => {
            let trigger = match trigger {
                CheckTrigger::InputNotAllowed => CheckTrigger::OutputNotAllowed,
                other => other,
            };
            CheckError::output(input_message.replace("input", "output"), trigger)
        }
    }
}
