//! The messages sent to the model: system message, history, input.

use hooks_core::{Message, RunOutput};

/// The instruction Agno adds with `markdown = true`.
pub const MARKDOWN_INSTRUCTION: &str = "Use markdown to format your answers.";

/// The system message for `instructions` (and the markdown instruction),
/// laid out as Agno lays it out; `None` when there is nothing to say.
pub fn system_message(
    description: Option<&str>,
    instructions: &[String],
    markdown: bool,
) -> Option<String> {
    let mut out = String::new();
    if let Some(description) = description {
        out.push_str(description);
        out.push_str("\n\n");
    }
    match instructions {
        [] => {}
        [one] => {
            out.push_str("<instructions>\n");
            out.push_str(one);
            out.push_str("\n</instructions>\n\n");
        }
        many => {
            out.push_str("<instructions>");
            for instruction in many {
                out.push_str("\n- ");
                out.push_str(instruction);
            }
            out.push_str("\n</instructions>\n\n");
        }
    }
    if markdown {
        out.push_str("<additional_information>\n- ");
        out.push_str(MARKDOWN_INSTRUCTION);
        out.push_str("\n</additional_information>\n\n");
    }
    let trimmed = out.trim_end();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// The user and assistant messages of earlier runs, oldest first, marked
/// as history.
pub fn history(runs: &[RunOutput]) -> Vec<Message> {
    runs.iter()
        .flat_map(|run| run.messages.iter())
        .filter(|m| !m.from_history && (m.role == "user" || m.role == "assistant"))
        .map(|m| Message {
            from_history: true,
            ..m.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_adds_the_instruction() {
        let system = system_message(None, &["You are a helpful assistant".into()], true).unwrap();
        assert_eq!(
            system,
            "<instructions>\nYou are a helpful assistant\n</instructions>\n\n<additional_information>\n- Use markdown to format your answers.\n</additional_information>"
        );
        assert_eq!(system_message(None, &[], false), None);
    }

    #[test]
    fn history_keeps_only_the_exchange() {
        let run = RunOutput {
            messages: vec![
                Message::new("system", "sys"),
                Message {
                    from_history: true,
                    ..Message::new("user", "older")
                },
                Message::new("user", "hi"),
                Message::new("assistant", "hello"),
            ],
            ..Default::default()
        };
        let h = history(&[run]);
        let texts: Vec<_> = h.iter().map(|m| m.content.as_deref().unwrap()).collect();
        assert_eq!(texts, ["hi", "hello"]);
        assert!(h.iter().all(|m| m.from_history));
    }
}
