//! The messages sent to the model: system message, history, input.

use hooks_core::{Message, RunOutput};

/// The instruction Agno adds with `markdown = true`.
pub const MARKDOWN_INSTRUCTION: &str = "Use markdown to format your answers.";

/// The system message for `instructions` (and the markdown instruction),
/// laid out as Agno 3.1.10 lays it out (`use_instruction_tags` off, its
/// default); `None` when there is nothing to say.
pub fn system_message(
    description: Option<&str>,
    instructions: &[String],
    markdown: bool,
) -> Option<String> {
    let mut out = String::new();
    if let Some(description) = description {
        out.push_str(description);
        out.push('\n');
    }
    if !instructions.is_empty() {
        out.push_str(&render_instructions(instructions));
        out.push_str("\n\n");
    }
    if markdown {
        out.push_str("<additional_information>\n- ");
        out.push_str(MARKDOWN_INSTRUCTION);
        out.push_str("\n</additional_information>\n\n");
    }
    let trimmed = out.trim_end();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Agno's `render_instructions`: one instruction as it is; several as a
/// bulleted list, except that an instruction of several lines stays a block
/// of its own (blocks then separated by blank lines).
fn render_instructions(instructions: &[String]) -> String {
    if let [one] = instructions {
        return one.clone();
    }
    let is_block = |i: &String| i.trim().contains('\n');
    let bullet = |i: &String| format!("- {}", i.trim());
    if !instructions.iter().any(is_block) {
        return instructions
            .iter()
            .map(bullet)
            .collect::<Vec<_>>()
            .join("\n");
    }
    instructions
        .iter()
        .map(|i| if is_block(i) { i.clone() } else { bullet(i) })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The user and assistant messages of earlier runs (and their tool calls
/// and results), oldest first, marked as history.
pub fn history(runs: &[RunOutput]) -> Vec<Message> {
    runs.iter()
        .flat_map(|run| run.messages.iter())
        .filter(|m| !m.from_history && matches!(m.role.as_str(), "user" | "assistant" | "tool"))
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
        // As Agno 3.1.10 sends it for the seed's agent (seen in its response).
        assert_eq!(
            system,
            "You are a helpful assistant\n\n<additional_information>\n- Use markdown to format your answers.\n</additional_information>"
        );
        assert_eq!(system_message(None, &[], false), None);
    }

    #[test]
    fn several_instructions_are_a_list_and_blocks_stay_blocks() {
        let list = system_message(
            Some("A bot."),
            &["Be brief. ".into(), "Be kind.".into()],
            false,
        );
        assert_eq!(list.as_deref(), Some("A bot.\n- Be brief.\n- Be kind."));
        let blocks = system_message(
            None,
            &["Rules:\n- one\n- two".into(), "Be kind.".into()],
            false,
        );
        assert_eq!(
            blocks.as_deref(),
            Some("Rules:\n- one\n- two\n\n- Be kind.")
        );
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
