//! Bodies made of a session's runs (`GET /sessions/{id}/runs`, the chat
//! history of `GET /sessions/{id}`), streamed from the store a few runs
//! at a time (at most [`RUNS_PER_READ`], about [`BYTES_PER_READ`] of JSON):
//! a long session of large runs (each run keeps its messages, history
//! included) is sent whole, as Agno sends
//! it, but never sits whole in the server's memory. One request holds at
//! most a few runs, whatever the session's length.
//!
//! The body is a chunked stream: its status (200) is sent before the runs
//! are read, so a store that fails half-way ends the body early (the
//! client sees a truncated JSON document; the failure is logged).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use futures_util::stream;
use hooks_core::RunOutput;

use crate::db::Db;
use crate::os::wire::{RunSchema, SessionDetail};

/// The most runs one read of the store takes.
pub const RUNS_PER_READ: usize = 8;

/// About how many bytes of JSON one read should make: the first read
/// takes one run (their size is not known yet), each next one as many as
/// fit at the size seen so far (from 1 to [`RUNS_PER_READ`]), so a
/// session of large runs is read one at a time.
pub const BYTES_PER_READ: usize = 4 * 1024 * 1024;

/// Writes what a run adds to the body (zero or more JSON values), each
/// preceded by a comma unless it is the body's first.
type WriteRun = fn(&RunOutput, &mut Vec<u8>, &mut bool) -> serde_json::Result<()>;

/// `GET /sessions/{id}/runs`: a JSON array of the runs (Agno's
/// `RunSchema`) from the `offset`-th, at most `limit`.
pub fn runs_array(db: Arc<dyn Db>, session_id: String, offset: u64, limit: usize) -> Body {
    stream_runs(
        db,
        session_id,
        offset,
        limit,
        b"[".to_vec(),
        b"]",
        |run, out, first| {
            comma(out, first);
            serde_json::to_writer(out, &RunSchema::from(run))
        },
    )
}

/// `GET /sessions/{id}`: `detail` (its `chat_history` empty, written
/// last), with the chat history of every run of the session streamed in.
pub fn session_detail(
    db: Arc<dyn Db>,
    session_id: String,
    detail: &SessionDetail<'_>,
) -> serde_json::Result<Body> {
    debug_assert!(detail.chat_history.is_empty());
    let mut head = serde_json::to_vec(detail)?;
    // `"chat_history":[]}`: the field is the last one, so the body goes on
    // from inside its array.
    let Some(open) = head.len().checked_sub(2).filter(|&at| &head[at..] == b"]}") else {
        return Err(serde::ser::Error::custom(
            "a session's detail must end with its chat history",
        ));
    };
    head.truncate(open);
    Ok(stream_runs(
        db,
        session_id,
        0,
        usize::MAX,
        head,
        b"]}",
        |run, out, first| {
            for message in run
                .messages
                .iter()
                .filter(|m| SessionDetail::in_chat_history(m))
            {
                comma(out, first);
                serde_json::to_writer(&mut *out, message)?;
            }
            Ok(())
        },
    ))
}

fn comma(out: &mut Vec<u8>, first: &mut bool) {
    if !std::mem::take(first) {
        out.push(b',');
    }
}

/// Where a streamed body is.
enum Step {
    /// Its opening bytes are next.
    Open(Vec<u8>),
    /// Runs from `next`, `left` of them at most, `per_read` at a time.
    Runs {
        next: u64,
        left: usize,
        per_read: usize,
    },
    /// Sent whole (or cut by an error).
    Done,
}

/// `open`, then what `write` makes of each run from the `offset`-th (at
/// most `limit`), then `close`.
fn stream_runs(
    db: Arc<dyn Db>,
    session_id: String,
    offset: u64,
    limit: usize,
    open: Vec<u8>,
    close: &'static [u8],
    write: WriteRun,
) -> Body {
    let state = (Step::Open(open), true);
    let chunks = stream::unfold(state, move |(step, mut first)| {
        let db = db.clone();
        let session_id = session_id.clone();
        async move {
            match step {
                Step::Open(bytes) => Some((
                    Ok(Bytes::from(bytes)),
                    (
                        Step::Runs {
                            next: offset,
                            left: limit,
                            per_read: 1,
                        },
                        first,
                    ),
                )),
                Step::Runs { left: 0, .. } => {
                    Some((Ok(Bytes::from_static(close)), (Step::Done, first)))
                }
                Step::Runs {
                    next,
                    left,
                    per_read,
                } => {
                    let want = left.min(per_read);
                    let runs = match db.get_runs_range(&session_id, next, want).await {
                        Ok(runs) => runs,
                        Err(error) => {
                            tracing::error!(session_id = %session_id.escape_debug(), %error, "reading a session's runs failed mid-body: the body is cut");
                            return Some((Err(std::io::Error::other(error)), (Step::Done, first)));
                        }
                    };
                    let mut out = Vec::new();
                    for run in &runs {
                        if let Err(error) = write(run, &mut out, &mut first) {
                            tracing::error!(run_id = %run.run_id, %error, "a stored run could not be written: the body is cut");
                            return Some((Err(std::io::Error::other(error)), (Step::Done, first)));
                        }
                    }
                    // Fewer than asked: that was the last of them.
                    let left = if runs.len() < want {
                        0
                    } else {
                        left - runs.len()
                    };
                    let next = next + runs.len() as u64;
                    let per_run = out.len() / runs.len().max(1);
                    let per_read = (BYTES_PER_READ / per_run.max(1)).clamp(1, RUNS_PER_READ);
                    let step = Step::Runs {
                        next,
                        left,
                        per_read,
                    };
                    Some((Ok(Bytes::from(out)), (step, first)))
                }
                Step::Done => None,
            }
        }
    });
    Body::from_stream(chunks)
}
