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
    fn waits_are_drawn_below_the_ceiling_and_the_last_attempt_is_not_retried() {
        let options = JobOptions::default();
        for _ in 0..1_000 {
            let wait = next_attempt(&options, 3, 20).unwrap();
            assert!(
                wait >= Duration::from_secs(2) && wait <= Duration::from_secs(4),
                "{wait:?}"
            );
        }
        assert_eq!(next_attempt(&options, 20, 20), None);
    }
}
