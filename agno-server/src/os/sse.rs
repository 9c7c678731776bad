//! A run's events as Server-Sent Events in Agno's framing:
//! `event: <Name>\ndata: <one-line JSON>\n\n`, no `id:`, no `[DONE]`.

use std::convert::Infallible;

use axum::response::sse::{Event, Sse};
use futures_util::{Stream, StreamExt};

use crate::agent::RunEvent;

/// One event as an SSE frame.
pub fn frame(event: &RunEvent) -> Event {
    let frame = Event::default().event(event.name());
    match serde_json::to_string(event) {
        Ok(json) => frame.data(json),
        Err(error) => {
            tracing::error!(%error, event = event.name(), "could not serialise a run event");
            frame.data(r#"{"event":"RunError","content":"could not serialise an event"}"#)
        }
    }
}

/// The SSE response of a run; it ends with the run's last event.
pub fn response(
    events: impl Stream<Item = RunEvent> + Send + 'static,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    Sse::new(events.map(|event| Ok(frame(&event))))
}
