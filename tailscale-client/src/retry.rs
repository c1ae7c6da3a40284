//! When and how long to wait before repeating a request that hit 429 or a 5xx.

use std::time::Duration;

use rand::Rng;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// Retry behaviour for rate-limited (429) and failed (5xx, transport) requests.
///
/// Waits grow exponentially from `base_delay` up to `max_delay`, with jitter. A
/// `Retry-After` answer header (seconds or HTTP date) replaces the computed wait, capped at
/// `max_retry_after`. Requests that are not idempotent (creating a key, saving the policy
/// file with `If-Match`) are repeated only after a 429, which means the request was not
/// processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Wait before the first retry when the server gives no `Retry-After`.
    pub base_delay: Duration,
    /// Upper bound of the computed exponential wait.
    pub max_delay: Duration,
    /// Upper bound for a server-provided `Retry-After`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (1-based), given the server's `Retry-After`.
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_retry_after);
        }
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(self.max_delay);
        let half = exp / 2;
        let spread = u64::try_from((exp - half).as_micros()).unwrap_or(u64::MAX);
        half + Duration::from_micros(rand::rng().random_range(0..=spread))
    }
}

/// The wait an answer's `Retry-After` header asks for, if it has a readable one.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, OffsetDateTime::now_utc())
}

/// Parses a `Retry-After` header: delay seconds or an HTTP date (relative to `now`).
pub(crate) fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    let delta = when - now;
    Some(Duration::try_from(delta).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn retry_after_seconds() {
        let now = datetime!(2026-01-01 00:00 UTC);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
    }

    #[test]
    fn retry_after_http_date() {
        let now = datetime!(2015-10-21 07:27:50 UTC);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn retry_after_in_the_past_means_now() {
        let now = datetime!(2016-01-01 00:00 UTC);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_garbage_is_ignored() {
        let now = datetime!(2016-01-01 00:00 UTC);
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn server_retry_after_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            policy.max_retry_after
        );
    }

    #[test]
    fn computed_delay_grows_and_stays_below_the_cap() {
        let policy = RetryPolicy::default();
        for retry in 1..20 {
            let d = policy.delay(retry, None);
            let exp = policy
                .base_delay
                .saturating_mul(2u32.saturating_pow(retry - 1))
                .min(policy.max_delay);
            assert!(d >= exp / 2 && d <= exp, "retry {retry}: {d:?} vs {exp:?}");
        }
    }
}
