//! What instances on one Postgres database tell each other: `NOTIFY` on
//! one channel per schema, heard by a `LISTEN` on a connection of its own.
//!
//! The listener reconnects on its own (backing off up to 5 s); after each
//! (re)connection it reports [`StoreEvent::JobsQueued`], since jobs may
//! have been queued while nobody listened. Notifications are a shortcut,
//! never the only path: workers also poll, slowly.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

use crate::db::StoreEvent;

/// The payload of a jobs notification.
const JOBS: &str = "jobs";
/// The prefix of a cancel notification's payload (then the run id).
const CANCEL: &str = "cancel:";

/// The channel's name for `schema` (a checked identifier).
pub(crate) fn channel(schema: &str) -> String {
    format!("agno_events_{schema}")
}

/// The payload that says `event`.
pub(crate) fn payload(event: &StoreEvent) -> String {
    match event {
        StoreEvent::JobsQueued => JOBS.to_owned(),
        StoreEvent::CancelRun(run_id) => format!("{CANCEL}{run_id}"),
    }
}

fn parse(payload: &str) -> Option<StoreEvent> {
    if payload == JOBS {
        Some(StoreEvent::JobsQueued)
    } else {
        payload
            .strip_prefix(CANCEL)
            .map(|run_id| StoreEvent::CancelRun(run_id.to_owned()))
    }
}

/// Listens on `channel` until `stop`, sending what it hears to `events`.
pub(crate) async fn listen(
    config: tokio_postgres::Config,
    channel: String,
    events: broadcast::Sender<StoreEvent>,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (heard, mut hear) = mpsc::unbounded_channel();
                // Drives the connection (and so the client's LISTEN) and
                // forwards its notifications.
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(n)) => {
                                if heard.send(n.payload().to_owned()).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(error) => {
                                tracing::warn!(%error, "postgres listener connection failed");
                                return;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN \"{channel}\"")).await {
                    Ok(()) => {
                        backoff = Duration::from_millis(100);
                        let _ = events.send(StoreEvent::JobsQueued);
                        loop {
                            tokio::select! {
                                () = stop.cancelled() => {
                                    driver.abort();
                                    return;
                                }
                                heard = hear.recv() => match heard {
                                    Some(text) => {
                                        if let Some(event) = parse(&text) {
                                            let _ = events.send(event);
                                        }
                                    }
                                    None => break,
                                },
                            }
                        }
                    }
                    Err(error) => tracing::warn!(%error, "postgres LISTEN failed"),
                }
                driver.abort();
            }
            Err(error) => {
                tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "postgres listener cannot connect");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for event in [
            StoreEvent::JobsQueued,
            StoreEvent::CancelRun("r-1:x".into()),
        ] {
            assert_eq!(parse(&payload(&event)), Some(event));
        }
        assert_eq!(parse("something else"), None);
    }
}
