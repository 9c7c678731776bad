//! The fake's answer to `POST /v1/moderations`, in OpenAI's shape.

use serde_json::{Map, Value, json};

/// OpenAI's moderation categories, as the API names them.
pub(crate) const CATEGORIES: [&str; 13] = [
    "sexual",
    "sexual/minors",
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "violence",
    "violence/graphic",
];

/// The text of the request's `input`: a string, or the `text` parts of an
/// array of `{"type":"text","text":..}` items.
fn input_text(request: &Value) -> String {
    match request.get("input") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().or_else(|| i.get("text").and_then(Value::as_str)))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// A category is flagged when `flag:<category>` is in the text; its score
/// is then 0.9 (else 0.001). `flagged` is true when any category is.
pub(crate) fn answer(request: &Value, id: u64) -> String {
    let text = input_text(request);
    let mut categories = Map::new();
    let mut scores = Map::new();
    let mut types = Map::new();
    let mut flagged = false;
    for category in CATEGORIES {
        // `flag:violence` must not also flag `violence/graphic`.
        let hit = text
            .match_indices(&format!("flag:{category}"))
            .any(|(at, m)| {
                !text[at + m.len()..].starts_with(|c: char| c == '/' || c.is_alphanumeric())
            });
        flagged |= hit;
        categories.insert(category.into(), Value::Bool(hit));
        scores.insert(category.into(), json!(if hit { 0.9 } else { 0.001 }));
        types.insert(category.into(), json!(["text"]));
    }
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("omni-moderation-latest");
    json!({
        "id": format!("modr-fake-{id}"),
        "model": model,
        "results": [{
            "flagged": flagged,
            "categories": categories,
            "category_scores": scores,
            "category_applied_input_types": types,
        }],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_only_the_named_categories() {
        let body: Value = serde_json::from_str(&answer(
            &json!({"input": "a flag:violence and flag:self-harm/intent"}),
            1,
        ))
        .unwrap();
        let result = &body["results"][0];
        assert_eq!(result["flagged"], true);
        assert_eq!(result["categories"]["violence"], true);
        assert_eq!(result["categories"]["violence/graphic"], false);
        assert_eq!(result["categories"]["self-harm/intent"], true);
        assert_eq!(result["categories"]["self-harm"], false);
        let clean: Value = serde_json::from_str(&answer(&json!({"input": "hello"}), 2)).unwrap();
        assert_eq!(clean["results"][0]["flagged"], false);
    }
}
