//! An offline model that repeats the last user message.

use super::{
    Model, ModelError, ModelFuture, ModelRequest, ModelResponse, ModelStream, ModelStreamEvent,
    Usage,
};

/// An offline model: answers `"Echo: <last user message>"`, with token
/// counts that are whitespace-separated word counts (input: all messages;
/// output: the answer). Streaming yields the answer word by word, then
/// [`ModelStreamEvent::Completed`]. No network, deterministic.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    _private: (),
}

impl Echo {
    /// The echo model (id `"echo"`, provider `"Echo"`).
    pub fn new() -> Self {
        Self::default()
    }

    /// The answer to `request`, as [`Model::invoke`] returns it.
    pub fn answer(request: &ModelRequest) -> ModelResponse {
        let content = format!("Echo: {}", request.last_user_text().unwrap_or(""));
        let input_tokens = request
            .messages
            .iter()
            .filter_map(|m| m.content.as_deref())
            .map(word_count)
            .sum();
        let output_tokens = word_count(&content);
        ModelResponse {
            content,
            tool_calls: Vec::new(),
            usage: Usage {
                input_tokens,
                output_tokens,
            },
        }
    }
}

impl Model for Echo {
    fn id(&self) -> &str {
        "echo"
    }

    fn provider(&self) -> &str {
        "Echo"
    }

    fn invoke<'a>(&'a self, request: &'a ModelRequest) -> ModelFuture<'a> {
        let response = Self::answer(request);
        Box::pin(async move { Ok(response) })
    }

    fn invoke_stream<'a>(&'a self, request: &'a ModelRequest) -> ModelStream<'a> {
        let response = Self::answer(request);
        let mut events: Vec<Result<ModelStreamEvent, ModelError>> = word_chunks(&response.content)
            .map(|w| Ok(ModelStreamEvent::Delta(w.to_owned())))
            .collect();
        events.push(Ok(ModelStreamEvent::Completed(response)));
        Box::pin(futures_util::stream::iter(events))
    }
}

fn word_count(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// Splits `text` into pieces that each hold one word with the whitespace
/// before it; joined, they give `text` back exactly.
pub(crate) fn word_chunks(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let word_start = rest
            .char_indices()
            .find(|(_, c)| !c.is_whitespace())
            .map_or(rest.len(), |(i, _)| i);
        let end = rest[word_start..]
            .char_indices()
            .find(|(_, c)| c.is_whitespace())
            .map_or(rest.len(), |(i, _)| word_start + i);
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_join_back() {
        for text in ["", "one", "Echo: hello  big\nworld ", "  lead", "é ü ✓"] {
            let chunks: Vec<&str> = word_chunks(text).collect();
            assert_eq!(chunks.concat(), text);
            assert!(chunks.iter().all(|c| !c.is_empty()));
        }
        assert_eq!(
            word_chunks("a bc  d").collect::<Vec<_>>(),
            vec!["a", " bc", "  d"]
        );
    }
}
