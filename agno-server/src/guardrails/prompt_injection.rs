//! Agno's `PromptInjectionGuardrail`: known jailbreak phrases, matched
//! case-insensitively in one pass over the text (Aho-Corasick).

use aho_corasick::AhoCorasick;
use hooks_core::{CheckTrigger, Hook, HookCall, HookContext, HookDef, HookError, HookMeta};

use super::{check_error, meta, text};

/// Agno 3.1.10's 18 phrases (`agno/guardrails/prompt_injection.py`).
pub const DEFAULT_INJECTION_PATTERNS: [&str; 18] = [
    "ignore previous instructions",
    "ignore your instructions",
    "you are now a",
    "forget everything above",
    "developer mode",
    "override safety",
    "disregard guidelines",
    "system prompt",
    "jailbreak",
    "act as if",
    "pretend you are",
    "roleplay as",
    "simulate being",
    "bypass restrictions",
    "ignore safeguards",
    "admin override",
    "root access",
    "forget everything",
];

/// Agno's message.
const MESSAGE: &str = "Potential jailbreaking or prompt injection detected.";

const META: HookMeta = meta("PromptInjectionGuardrail", line!(), false, true);

/// Rejects a run whose text contains a known prompt-injection phrase
/// (Agno's `PromptInjectionGuardrail`, trigger `prompt_injection`).
///
/// The text is lower-cased (Unicode, as Python's `str.lower`) and searched
/// for every phrase at once. Unlike Agno, custom phrases are lower-cased
/// too, so `"DAN mode"` matches (in Agno a custom phrase with a capital
/// letter never matches).
#[derive(Debug, Clone)]
pub struct PromptInjectionGuardrail {
    matcher: AhoCorasick,
}

impl PromptInjectionGuardrail {
    /// Agno's 18 phrases ([`DEFAULT_INJECTION_PATTERNS`]).
    pub fn new() -> Self {
        Self::with_patterns(DEFAULT_INJECTION_PATTERNS)
    }

    /// Your own phrases instead of Agno's (its `injection_patterns`).
    pub fn with_patterns<I, S>(patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let lowered: Vec<String> = patterns
            .into_iter()
            .map(|p| p.as_ref().to_lowercase())
            .collect();
        let matcher = AhoCorasick::new(&lowered)
            .expect("plain phrases always build an Aho-Corasick automaton");
        Self { matcher }
    }

    /// Whether `text` contains one of the phrases.
    pub fn detects(&self, text: &str) -> bool {
        self.matcher.is_match(&text.to_lowercase())
    }
}

impl Default for PromptInjectionGuardrail {
    fn default() -> Self {
        Self::new()
    }
}

impl Hook for PromptInjectionGuardrail {
    fn meta(&self) -> &'static HookMeta {
        &META
    }

    fn call<'a>(&'a self, cx: &'a mut HookContext) -> HookCall<'a> {
        let result = if self.detects(text(cx)) {
            Err(HookError::Check(check_error(
                cx.phase(),
                MESSAGE,
                CheckTrigger::PromptInjection,
            )))
        } else {
            Ok(())
        };
        HookCall::Ready(result)
    }
}

impl HookDef for PromptInjectionGuardrail {
    const META: HookMeta = META;
}

hooks_core::impl_hook_list!(PromptInjectionGuardrail);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_phrase_any_case() {
        let guard = PromptInjectionGuardrail::new();
        for phrase in DEFAULT_INJECTION_PATTERNS {
            assert!(
                guard.detects(&format!("well, {} now", phrase.to_uppercase())),
                "{phrase}"
            );
        }
        assert!(!guard.detects("What is the weather in Paris?"));
        assert!(!guard.detects(""));
    }

    #[test]
    fn custom_phrases_replace_the_defaults() {
        let guard = PromptInjectionGuardrail::with_patterns(["DAN mode"]);
        assert!(guard.detects("enable dan MODE please"));
        assert!(!guard.detects("jailbreak"));
    }
}
