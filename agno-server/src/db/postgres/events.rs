//! What instances on one Postgres database tell each other: `NOTIFY` on
//! one channel per schema, heard by a `LISTEN` on a connection of its own.
//!
//! The listener reconnects on its own (backing off up to 5 s); after each
//! reconnection it reports [`StoreEvent::JobsQueued`] (jobs may have been
//! queued while nobody listened) and [`StoreEvent::Missed`] (a cancel may
//! have been: its reader reads them back, [`cancels_since`]).
//! Notifications are a shortcut for jobs (workers also poll, slowly); a
//! cancel is kept in `agno_run_cancels` for an hour, so none is dropped.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

use deadpool_postgres::GenericClient;

use crate::db::{DbError, StoreEvent};

/// How long a published cancel is kept in `agno_run_cancels` (as long as
/// an instance keeps the intent of a cancel for a run not under way).
const KEEP_CANCELS_MS: i64 = 3_600_000;

/// Keeps a cancel of `run_id` (in the caller's transaction), and forgets
/// those past [`KEEP_CANCELS_MS`].
pub(crate) async fn keep_cancel(client: &impl GenericClient, run_id: &str) -> Result<(), DbError> {
    let now = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS bigint)";
    let keep = client
        .prepare_cached(&format!(
            "INSERT INTO agno_run_cancels (run_id, at_ms) VALUES ($1, {now})
             ON CONFLICT (run_id) DO UPDATE SET at_ms = excluded.at_ms"
        ))
        .await?;
    client.execute(&keep, &[&run_id]).await?;
    let forget = client
        .prepare_cached(&format!(
            "DELETE FROM agno_run_cancels WHERE at_ms < {now} - $1"
        ))
        .await?;
    client.execute(&forget, &[&KEEP_CANCELS_MS]).await?;
    Ok(())
}

/// The runs cancelled at or after `since` (`None`: none, from now on),
/// and the next `since` (the database's clock now).
pub(crate) async fn cancels_since(
    client: &impl GenericClient,
    since: Option<i64>,
) -> Result<(Vec<String>, i64), DbError> {
    let statement = client
        .prepare_cached(
            "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS bigint) AS now,
                    array(SELECT run_id FROM agno_run_cancels
                           WHERE $1::bigint IS NOT NULL AND at_ms >= $1 ORDER BY at_ms)",
        )
        .await?;
    let row = client.query_one(&statement, &[&since]).await?;
    Ok((row.get(1), row.get(0)))
}

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
        StoreEvent::Missed => "missed".to_owned(),
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
    let mut config = config;
    config.application_name("agno-server-listener");
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
                        let _ = events.send(StoreEvent::Missed);
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
