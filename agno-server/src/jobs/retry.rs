//! The retry policy: after a failed attempt, whether the job runs again
//! and when.

use std::time::Duration;

use super::options::JobOptions;

/// The wait before the next attempt, after attempt `attempt` of
/// `max_attempts` failed; `None` when it was the last.
pub(super) fn next_attempt(
    options: &JobOptions,
    attempt: u32,
    max_attempts: u32,
) -> Option<Duration> {
    (attempt < max_attempts).then(|| options.backoff(attempt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_attempt_is_not_retried() {
        let options = JobOptions::default();
        assert_eq!(next_attempt(&options, 1, 3), Some(Duration::from_secs(1)));
        assert_eq!(next_attempt(&options, 2, 3), Some(Duration::from_secs(2)));
        assert_eq!(next_attempt(&options, 3, 3), None);
    }
}
