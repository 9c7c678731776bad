//! Agno's `PIIDetectionGuardrail`: social security and credit card numbers,
//! e-mail addresses, phone numbers and patterns of your own; rejected, or
//! masked with `*`.

use hooks_core::{CheckTrigger, Hook, HookCall, HookContext, HookDef, HookError, HookMeta};
use regex::{Regex, RegexSet};
use serde_json::{Map, Value};

use super::{check_error, meta, set_text, text};

/// Agno 3.1.10's patterns (`agno/guardrails/pii.py`), by name, in its order.
/// Rust's `regex` reads them as Python's `re` does for `str` patterns:
/// `\d`, `\s` and `\b` are Unicode-aware in both (so `١٢٣-٤٥-٦٧٨٩`, Arabic-
/// Indic digits, is an SSN to both).
const SSN: (&str, &str) = ("SSN", r"\b\d{3}-\d{2}-\d{4}\b");
const CREDIT_CARD: (&str, &str) = ("Credit Card", r"\b\d{4}[\s-]?\d{4}[\s-]?\d{4}[\s-]?\d{4}\b");
const EMAIL: (&str, &str) = (
    "Email",
    r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b",
);
const PHONE: (&str, &str) = ("Phone", r"\b\d{3}[\s.-]?\d{3}[\s.-]?\d{4}\b");

/// Agno's message (with "output" for a post-hook).
const MESSAGE: &str = "Potential PII detected in input";

const DETECTING: HookMeta = meta("PIIDetectionGuardrail", line!(), false, true);
const MASKING: HookMeta = meta("PIIDetectionGuardrail", line!(), true, false);

/// The options of [`PIIDetectionGuardrail`], named as Agno names them.
#[derive(Debug, Clone)]
pub struct PiiOptions {
    /// Replace each match by `*` (as many as its characters) instead of
    /// rejecting the run.
    pub mask_pii: bool,
    /// Look for US social security numbers (`123-45-6789`).
    pub enable_ssn_check: bool,
    /// Look for 16-digit card numbers, grouped by 4 or not.
    pub enable_credit_card_check: bool,
    /// Look for e-mail addresses.
    pub enable_email_check: bool,
    /// Look for 10-digit phone numbers.
    pub enable_phone_check: bool,
    /// Your own patterns: name and regex, checked after the built-in ones.
    pub custom_patterns: Vec<(String, String)>,
}

impl Default for PiiOptions {
    /// Agno's defaults: every check on, no masking, no custom pattern.
    fn default() -> Self {
        Self {
            mask_pii: false,
            enable_ssn_check: true,
            enable_credit_card_check: true,
            enable_email_check: true,
            enable_phone_check: true,
            custom_patterns: Vec::new(),
        }
    }
}

/// Rejects a run whose text holds personal data (trigger `pii_detected`,
/// `additional_data: {"detected_pii": [names]}`), or with `mask_pii`
/// rewrites the text with each match masked (then it changes the run, so
/// it always runs inline, and never rejects).
#[derive(Debug, Clone)]
pub struct PIIDetectionGuardrail {
    mask_pii: bool,
    /// Every pattern, for the one-pass "which of them match".
    set: RegexSet,
    /// The same patterns with their names, in order, for masking.
    patterns: Vec<(String, Regex)>,
}

impl PIIDetectionGuardrail {
    /// Agno's defaults: the four checks, rejecting.
    pub fn new() -> Self {
        Self::with_options(PiiOptions::default()).expect("the built-in patterns are valid")
    }

    /// The guardrail with `options`; a custom pattern that is not a valid
    /// regex is an error (as in Agno, when the guardrail is made).
    pub fn with_options(options: PiiOptions) -> Result<Self, regex::Error> {
        let built_in = [
            (options.enable_ssn_check, SSN),
            (options.enable_credit_card_check, CREDIT_CARD),
            (options.enable_email_check, EMAIL),
            (options.enable_phone_check, PHONE),
        ];
        let named: Vec<(String, String)> = built_in
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, (name, re))| (name.to_owned(), re.to_owned()))
            .chain(options.custom_patterns)
            .collect();
        let set = RegexSet::new(named.iter().map(|(_, re)| re))?;
        let patterns = named
            .into_iter()
            .map(|(name, re)| Regex::new(&re).map(|re| (name, re)))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            mask_pii: options.mask_pii,
            set,
            patterns,
        })
    }

    /// The names of the patterns found in `text`, in pattern order.
    pub fn detect(&self, text: &str) -> Vec<&str> {
        self.set
            .matches(text)
            .iter()
            .map(|i| self.patterns[i].0.as_str())
            .collect()
    }

    /// `text` with every match of every pattern found replaced by `*` (one
    /// per character), pattern after pattern as Agno does; `None` when
    /// nothing was found.
    pub fn mask(&self, text: &str) -> Option<String> {
        let found = self.set.matches(text);
        if !found.matched_any() {
            return None;
        }
        let mut masked = text.to_owned();
        for i in found.iter() {
            let re = &self.patterns[i].1;
            masked = re
                .replace_all(&masked, |m: &regex::Captures<'_>| {
                    "*".repeat(m[0].chars().count())
                })
                .into_owned();
        }
        Some(masked)
    }

    fn check(&self, cx: &mut HookContext) -> Result<(), HookError> {
        if self.mask_pii {
            if let Some(masked) = self.mask(text(cx)) {
                set_text(cx, masked);
            }
            return Ok(());
        }
        let found = self.detect(text(cx));
        if found.is_empty() {
            return Ok(());
        }
        let names = found
            .into_iter()
            .map(|n| Value::String(n.to_owned()))
            .collect();
        let data = Map::from_iter([("detected_pii".to_owned(), Value::Array(names))]);
        Err(HookError::Check(
            check_error(cx.phase(), MESSAGE, CheckTrigger::PiiDetected).with_data(data),
        ))
    }
}

impl Default for PIIDetectionGuardrail {
    fn default() -> Self {
        Self::new()
    }
}

impl Hook for PIIDetectionGuardrail {
    fn meta(&self) -> &'static HookMeta {
        if self.mask_pii { &MASKING } else { &DETECTING }
    }

    fn call<'a>(&'a self, cx: &'a mut HookContext) -> HookCall<'a> {
        HookCall::Ready(self.check(cx))
    }
}

impl HookDef for PIIDetectionGuardrail {
    /// For compile-time checks of a hook list: both phases, and (whatever
    /// the options) one that changes and can block the run, so never moved.
    const META: HookMeta = meta("PIIDetectionGuardrail", line!(), true, true);
}

hooks_core::impl_hook_list!(PIIDetectionGuardrail);

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings and what Agno 3.1.10's own patterns (Python `re`) find in
    /// them: `[p.search(s) for p in PIIDetectionGuardrail().pii_patterns]`.
    const AGNO_AGREES: &[(&str, &[&str])] = &[
        ("my ssn is 123-45-6789", &["SSN"]),
        ("123-45-67890", &[]),
        ("a123-45-6789", &[]),
        ("card 4111 1111 1111 1111 ok", &["Credit Card"]),
        ("card 4111-1111-1111-1111", &["Credit Card"]),
        ("card 4111111111111111", &["Credit Card"]),
        ("card 4111  1111 1111 1111", &[]),
        ("mail ada@example.com now", &["Email"]),
        ("ada@example.c", &[]),
        ("call 555-123-4567", &["Phone"]),
        ("call 555.123.4567", &["Phone"]),
        ("call 5551234567", &["Phone"]),
        ("call (555) 123-4567", &[]),
        ("١٢٣-٤٥-٦٧٨٩", &["SSN"]),
        (
            "123-45-6789 and ada@example.com and 555 123 4567",
            &["SSN", "Email", "Phone"],
        ),
        ("nothing here", &[]),
    ];

    #[test]
    fn finds_what_agnos_patterns_find() {
        let guard = PIIDetectionGuardrail::new();
        for (text, expected) in AGNO_AGREES {
            assert_eq!(guard.detect(text), *expected, "{text:?}");
        }
    }

    #[test]
    fn masks_each_match_with_as_many_stars() {
        let guard = PIIDetectionGuardrail::with_options(PiiOptions {
            mask_pii: true,
            ..PiiOptions::default()
        })
        .unwrap();
        assert_eq!(
            guard.mask("ssn 123-45-6789, mail ada@example.com").unwrap(),
            "ssn ***********, mail ***************"
        );
        assert_eq!(guard.mask("١٢٣-٤٥-٦٧٨٩").unwrap(), "***********");
        assert_eq!(guard.mask("clean"), None);
    }

    #[test]
    fn checks_can_be_switched_off_and_added() {
        let guard = PIIDetectionGuardrail::with_options(PiiOptions {
            enable_email_check: false,
            custom_patterns: vec![("Passport".into(), r"\b[A-Z]\d{8}\b".into())],
            ..PiiOptions::default()
        })
        .unwrap();
        assert_eq!(guard.detect("ada@example.com X12345678"), ["Passport"]);
        let bad = PIIDetectionGuardrail::with_options(PiiOptions {
            custom_patterns: vec![("Broken".into(), "(".into())],
            ..PiiOptions::default()
        });
        assert!(bad.is_err());
    }
}
