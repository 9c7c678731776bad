//! Agno's `OpenAIModerationGuardrail`: the text goes to OpenAI's
//! moderation API (`POST {base}/moderations`) through the same transport
//! as the model clients (key, base URL, timeout, retries with backoff).

use hooks_core::{CheckTrigger, Hook, HookCall, HookContext, HookDef, HookError, HookMeta};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{check_error, text};
use crate::model::{Transport, openai_builder_methods};

/// Agno's message.
const MESSAGE: &str = "OpenAI moderation violation detected.";
/// The rejection when the API cannot answer and the guardrail fails closed.
const UNAVAILABLE: &str = "OpenAI moderation is unavailable; the input was not checked.";

const META: HookMeta = HookMeta {
    is_async: true,
    ..super::meta("OpenAIModerationGuardrail", line!(), false, true)
};

/// Rejects a run whose text OpenAI's moderation API flags (Agno's
/// `OpenAIModerationGuardrail`, trigger `input_not_allowed`,
/// `additional_data: {"categories": {..}, "category_scores": {..}}` keyed
/// as Agno keys them: `self_harm_intent` for the API's `self-harm/intent`).
///
/// With [`raise_for_categories`](Self::raise_for_categories) only those
/// categories reject (either spelling works; in Agno the API's spelling of
/// a category with `/` or `-` raises a `KeyError`). When the API cannot be
/// reached the hook fails as any hook does, logged and counted, and the run
/// goes on (Agno's behaviour), unless [`fail_closed`](Self::fail_closed).
#[derive(Debug)]
pub struct OpenAIModerationGuardrail {
    moderation_model: String,
    raise_for_categories: Option<Vec<String>>,
    fail_closed: bool,
    transport: Transport,
}

/// The part of the API's answer the guardrail reads.
#[derive(Deserialize)]
struct Answer {
    results: Vec<Verdict>,
}

#[derive(Deserialize)]
struct Verdict {
    flagged: bool,
    #[serde(default)]
    categories: Map<String, Value>,
    #[serde(default)]
    category_scores: Map<String, Value>,
}

/// Agno's key for a category (`self-harm/intent` → `self_harm_intent`).
fn agno_key(category: &str) -> String {
    category.replace(['/', '-'], "_")
}

/// The map with Agno's keys.
fn agno_keys(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter().map(|(k, v)| (agno_key(&k), v)).collect()
}

impl OpenAIModerationGuardrail {
    /// `omni-moderation-latest`, every category, the key from
    /// `OPENAI_API_KEY` and the base URL from `OPENAI_BASE_URL`.
    pub fn new() -> Self {
        Self {
            moderation_model: "omni-moderation-latest".into(),
            raise_for_categories: None,
            fail_closed: false,
            transport: Transport::openai_from_env(),
        }
    }

    /// The moderation model (Agno's `moderation_model`).
    pub fn moderation_model(mut self, model: impl Into<String>) -> Self {
        self.moderation_model = model.into();
        self
    }

    /// Reject only when one of these categories is flagged (Agno's
    /// `raise_for_categories`), e.g. `["violence", "self-harm/intent"]`.
    pub fn raise_for_categories<I, S>(mut self, categories: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.raise_for_categories = Some(
            categories
                .into_iter()
                .map(|c| agno_key(c.as_ref()))
                .collect(),
        );
        self
    }

    /// Reject the run when the moderation API cannot answer (default off:
    /// the failure is logged and the run goes on, as in Agno).
    pub fn fail_closed(mut self, on: bool) -> Self {
        self.fail_closed = on;
        self
    }

    openai_builder_methods!();

    async fn check(&self, cx: &HookContext) -> Result<(), HookError> {
        let content = text(cx);
        if content.is_empty() {
            return Ok(());
        }
        let body = json!({"model": self.moderation_model, "input": content});
        let url = self.transport.url("moderations");
        let answer = self
            .transport
            .post_json(&self.moderation_model, &url, body.to_string().into())
            .await
            .map_err(HookError::other)
            .and_then(|bytes| {
                serde_json::from_slice::<Answer>(&bytes).map_err(|e| {
                    HookError::msg(format!(
                        "the moderation API's answer is not understood: {e}"
                    ))
                })
            });
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) if self.fail_closed => {
                tracing::warn!(error = %error, "moderation unavailable: failing closed");
                return Err(HookError::Check(check_error(
                    cx.phase(),
                    UNAVAILABLE,
                    CheckTrigger::InputNotAllowed,
                )));
            }
            Err(error) => return Err(error),
        };
        let Some(verdict) = answer.results.into_iter().next() else {
            return Err(HookError::msg("the moderation API answered no result"));
        };
        if !verdict.flagged {
            return Ok(());
        }
        let categories = agno_keys(verdict.categories);
        let raise = match &self.raise_for_categories {
            None => true,
            Some(wanted) => wanted
                .iter()
                .any(|c| categories.get(c).and_then(Value::as_bool) == Some(true)),
        };
        if !raise {
            return Ok(());
        }
        let data = Map::from_iter([
            ("categories".to_owned(), Value::Object(categories)),
            (
                "category_scores".to_owned(),
                Value::Object(agno_keys(verdict.category_scores)),
            ),
        ]);
        Err(HookError::Check(
            check_error(cx.phase(), MESSAGE, CheckTrigger::InputNotAllowed).with_data(data),
        ))
    }
}

impl Default for OpenAIModerationGuardrail {
    fn default() -> Self {
        Self::new()
    }
}

impl Hook for OpenAIModerationGuardrail {
    fn meta(&self) -> &'static HookMeta {
        &META
    }

    fn call<'a>(&'a self, cx: &'a mut HookContext) -> HookCall<'a> {
        HookCall::pending(self.check(cx))
    }
}

impl HookDef for OpenAIModerationGuardrail {
    const META: HookMeta = META;
}

hooks_core::impl_hook_list!(OpenAIModerationGuardrail);
