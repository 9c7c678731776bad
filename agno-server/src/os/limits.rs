//! What a client may take from the server: body and field sizes, time to
//! send headers and bodies, open connections, and request bytes held at
//! once across all requests.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::ApiError;

/// Limits on what clients may send and hold. Past a size limit a request
/// gets a 413 with a JSON `detail`, past a time limit a 408 (or, for
/// headers, the connection is closed), past the connection cap a 503 and a
/// closed connection, past the byte budget a 503; nothing is stored.
/// The defaults suit a server exposed to the internet behind a load
/// balancer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes. Default 10 MiB.
    pub max_body_bytes: usize,
    /// Largest JSON body (`POST /sessions/{id}/rename`, `DELETE
    /// /sessions`), in bytes; it must arrive whole within
    /// [`Limits::body_read_timeout`]. Default 1 MiB.
    pub max_json_body_bytes: usize,
    /// Largest single form field, in bytes. Default 1 MiB.
    pub max_field_bytes: usize,
    /// Most form fields in one request. Default 256.
    pub max_fields: usize,
    /// Bytes of request bodies being received, summed over every request
    /// at once (a client that sends most of a body and stops holds its
    /// bytes). Past it a request gets 503 `Too many request bytes in
    /// flight`. Default 256 MiB.
    pub max_body_bytes_in_flight: usize,
    /// Time a client has to send a request's headers, and to send the next
    /// request on a kept-alive connection; past it the connection is
    /// closed. Default 10 s.
    pub header_read_timeout: Duration,
    /// Time a client has to send a whole request body; past it a 408.
    /// Default 30 s.
    pub body_read_timeout: Duration,
    /// Connections open at once; one more is answered 503 and closed. The
    /// server lowers it below the process's open-file limit (minus a
    /// reserve for its own files) so `accept` never fails for lack of
    /// descriptors. Default 10 000.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 * 1024 * 1024,
            max_json_body_bytes: 1024 * 1024,
            max_field_bytes: 1024 * 1024,
            max_fields: 256,
            max_body_bytes_in_flight: 256 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 10_000,
        }
    }
}

/// The shared budget of [`Limits::max_body_bytes_in_flight`].
///
/// A sixteenth of it (at least 1 MiB) is kept for the first
/// [`BodyBudget::SMALL_BODY`] bytes of each request, so clients sending a
/// few large bodies slowly cannot spend the whole budget and refuse every
/// ordinary run (a few KiB) with 503: the large ones draw their bytes past
/// the first 64 KiB from the rest.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    /// For the first [`BodyBudget::SMALL_BODY`] bytes of each request.
    small: Arc<Semaphore>,
    /// For the rest.
    large: Arc<Semaphore>,
}

impl BodyBudget {
    /// How many bytes of each request come from the share kept for small
    /// bodies.
    pub const SMALL_BODY: usize = 64 * 1024;

    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> Self {
        let bytes = bytes.min(Semaphore::MAX_PERMITS);
        let small = (bytes / 16).max(1024 * 1024).min(bytes);
        Self {
            small: Arc::new(Semaphore::new(small)),
            large: Arc::new(Semaphore::new(bytes - small)),
        }
    }

    /// Bytes not taken now (both shares).
    #[cfg(test)]
    fn available(&self) -> usize {
        self.small.available_permits() + self.large.available_permits()
    }
}

/// `bytes` of `pool`, or `None` when it has not that many free.
fn take_of(pool: &Arc<Semaphore>, bytes: usize) -> Option<OwnedSemaphorePermit> {
    let n = u32::try_from(bytes).ok()?;
    pool.clone().try_acquire_many_owned(n).ok()
}

/// The bytes one request holds of the [`BodyBudget`]; given back when
/// dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: BodyBudget,
    small: Option<OwnedSemaphorePermit>,
    large: Option<OwnedSemaphorePermit>,
    small_taken: usize,
}

impl Reservation {
    /// Holds nothing yet.
    pub fn new(budget: &BodyBudget) -> Self {
        Self {
            budget: budget.clone(),
            small: None,
            large: None,
            small_taken: 0,
        }
    }

    /// Takes `bytes` more, or refuses (503) when the budget is spent: the
    /// request's first [`BodyBudget::SMALL_BODY`] bytes from the share kept
    /// for small bodies, the rest from the other.
    pub fn take(&mut self, bytes: usize) -> Result<(), ApiError> {
        if bytes == 0 {
            return Ok(());
        }
        let refused = || {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Too many request bytes in flight; retry later",
            )
        };
        let from_small = bytes.min(BodyBudget::SMALL_BODY - self.small_taken);
        let from_large = bytes - from_small;
        let small = match from_small {
            0 => None,
            n => Some(take_of(&self.budget.small, n).ok_or_else(refused)?),
        };
        let large = match from_large {
            0 => None,
            n => Some(take_of(&self.budget.large, n).ok_or_else(refused)?),
        };
        self.small_taken += from_small;
        for (held, permit) in [(&mut self.small, small), (&mut self.large, large)] {
            if let Some(permit) = permit {
                match held {
                    Some(held) => held.merge(permit),
                    None => *held = Some(permit),
                }
            }
        }
        Ok(())
    }
}

/// The most connections the process can hold: `wanted`, lowered below the
/// soft open-file limit (read from `/proc/self/limits` where there is one)
/// less `reserve` descriptors for the store, logs and outgoing requests.
pub fn connection_cap(wanted: usize, reserve: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse::<usize>().ok())
        });
    match soft {
        Some(soft) => wanted.min(soft.saturating_sub(reserve).max(1)),
        None => wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_gives_its_bytes_back_when_dropped() {
        let budget = BodyBudget::new(100);
        let mut one = Reservation::new(&budget);
        one.take(60).unwrap();
        one.take(30).unwrap();
        let mut two = Reservation::new(&budget);
        let refused = two.take(20).unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        drop(one);
        assert_eq!(budget.available(), 100);
        two.take(20).unwrap();
    }

    #[test]
    fn the_cap_stays_below_the_open_file_limit() {
        assert!(connection_cap(usize::MAX, 128) < usize::MAX || cfg!(not(target_os = "linux")));
        assert_eq!(connection_cap(10, 0), 10);
    }
}
