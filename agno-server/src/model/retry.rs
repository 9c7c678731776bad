//! When and how long to wait before retrying a model request.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use http::HeaderMap;

/// How a model client retries: up to `max_retries` more attempts after the
/// first, waiting `base_delay * 2^n` (with a little jitter) or the server's
/// `Retry-After`, never more than `max_delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2).
    pub max_retries: u32,
    /// Delay before the first retry, doubled for each next one (default 500 ms).
    pub base_delay: Duration,
    /// Upper bound of any delay, `Retry-After` included (default 8 s).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first retry): the
    /// server's `retry_after` if given, else exponential backoff with up to
    /// 25% jitter; both capped by `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay);
        }
        let factor = 2u32.saturating_pow(retry.min(20));
        let backoff = self.base_delay.saturating_mul(factor).min(self.max_delay);
        // Jitter in [0.75, 1.0] so that many clients do not retry in lockstep.
        let jitter = 1.0 - 0.25 * random_unit();
        backoff.mul_f64(jitter)
    }
}

/// Whether a status is worth retrying: 408, 409, 429 and every 5xx.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || (500..=599).contains(&status)
}

/// The wait a server asks for: `retry-after-ms` (milliseconds, as OpenAI
/// sends) or `Retry-After` in seconds (integer or decimal). HTTP dates and
/// unparseable or negative values give `None`.
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(parse_non_negative) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    get("retry-after")
        .and_then(parse_non_negative)
        .map(Duration::from_secs_f64)
}

fn parse_non_negative(s: &str) -> Option<f64> {
    let v: f64 = s.parse().ok()?;
    // Also bounds the value so that `Duration::from_secs_f64` cannot panic.
    (v.is_finite() && (0.0..=1.0e9).contains(&v)).then_some(v)
}

/// A number in `[0, 1)`, random enough for jitter, without a dependency.
fn random_unit() -> f64 {
    let bits = RandomState::new().build_hasher().finish() >> 11;
    bits as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "1")])),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", " 2.5 ")])),
            Some(Duration::from_millis(2500))
        );
    }

    #[test]
    fn retry_after_ms_wins() {
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "3"), ("retry-after-ms", "20")])),
            Some(Duration::from_millis(20))
        );
    }

    #[test]
    fn retry_after_invalid() {
        assert_eq!(parse_retry_after(&headers(&[])), None);
        assert_eq!(
            parse_retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            None
        );
        assert_eq!(parse_retry_after(&headers(&[("retry-after", "-1")])), None);
        assert_eq!(parse_retry_after(&headers(&[("retry-after", "NaN")])), None);
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "1e300")])),
            None
        );
    }

    #[test]
    fn delay_is_exponential_jittered_and_capped() {
        let p = RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
        };
        for _ in 0..50 {
            let d0 = p.delay(0, None);
            assert!(d0 >= Duration::from_millis(75) && d0 <= Duration::from_millis(100));
            let d1 = p.delay(1, None);
            assert!(d1 >= Duration::from_millis(150) && d1 <= Duration::from_millis(200));
            let d5 = p.delay(5, None);
            assert!(d5 <= Duration::from_millis(350));
        }
        assert!(p.delay(100, None) <= p.max_delay);
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy {
            max_delay: Duration::from_secs(2),
            ..RetryPolicy::default()
        };
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(30))),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 409, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 422] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }
}
