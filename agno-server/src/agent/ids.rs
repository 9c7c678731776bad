//! A run's ids, made before anything else.

use super::RunRequest;
use crate::db::JobFence;

/// A new run or session id: a UUID, version 7 (RFC 9562), whose leading
/// bits are the time in milliseconds. Ids made later sort later, so the
/// store's primary-key indexes on `session_id` and `run_id` grow at their
/// right edge instead of taking every new id at a random page: a busy
/// server dirties a few pages per batch of runs, not two or three random
/// ones per run (BENCHMARKS.md, "The write path, second pass"). Agno makes version
/// 4 ids; both are 36-character UUID strings and neither is parsed.
pub(super) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
/// A run's ids, made before anything else (a stream reports them even if
/// the run fails at once).
pub(super) struct RunIds {
    pub(super) run_id: String,
    pub(super) session_id: String,
    /// A background run's job and attempt: its result is written only
    /// while it still holds them.
    pub(super) fence: Option<JobFence>,
}

impl RunIds {
    pub(super) fn new(request: &RunRequest) -> Self {
        Self {
            run_id: new_id(),
            session_id: request.session_id.clone().unwrap_or_else(new_id),
            fence: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::new_id;

    #[test]
    fn ids_are_version_7_uuids_that_sort_in_the_order_made() {
        let ids: Vec<String> = (0..1_000).map(|_| new_id()).collect();
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 7, "{id}");
            assert_eq!(id.len(), 36);
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids out of order");
    }
}
