//! Waiting for a remote state: polls with doubling intervals until a deadline.

use std::future::Future;
use std::time::Duration;

use sdk_support::backoff::Backoff;
use tokio::time::Instant;

use crate::error::{Error, Result};

/// The least time one poll may take near the deadline, so that a wait ends at most this
/// long after its timeout even when the API stalls.
const MIN_POLL_BUDGET: Duration = Duration::from_secs(2);

/// What one poll found.
pub(crate) enum Check<T> {
    /// The awaited state, which ends the wait.
    Done(T),
    /// Not there yet; the text describes what was seen (used in the timeout error).
    NotYet(String),
}

/// How a wait polls.
pub(crate) struct Wait {
    /// What is awaited, for the timeout error (`"node x to come online"`).
    pub(crate) what: String,
    /// How long to wait in total.
    pub(crate) timeout: Duration,
    /// Pause after the first poll; it doubles after every poll.
    pub(crate) first_interval: Duration,
    /// Longest pause between two polls.
    pub(crate) max_interval: Duration,
    /// Whether a poll still in flight at the deadline is abandoned (after
    /// [`MIN_POLL_BUDGET`] at least). Off only for tests on a paused clock.
    pub(crate) bound_polls: bool,
}

impl Wait {
    /// Polls `check` until it reports [`Check::Done`]. Retryable errors count as "not yet"
    /// (their text becomes the last state seen); other errors end the wait.
    ///
    /// # Errors
    /// [`Error::Timeout`] with the last state seen once `timeout` has passed; the first
    /// error that is not retryable.
    pub(crate) async fn until<T, F, Fut>(self, mut check: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Check<T>>>,
    {
        let start = Instant::now();
        let deadline = start + self.timeout;
        // The SDK's backoff, exact: a schedule of polls, not a crowd of retries to spread.
        let mut intervals = Backoff::new(self.first_interval, self.max_interval)
            .without_max_retries()
            .without_jitter()
            .delays();
        let mut last_seen = "no answer yet".to_owned();
        loop {
            let polled = if self.bound_polls {
                let budget = deadline.saturating_duration_since(Instant::now());
                tokio::time::timeout(budget.max(MIN_POLL_BUDGET), check())
                    .await
                    .ok()
            } else {
                Some(check().await)
            };
            match polled {
                Some(Ok(Check::Done(value))) => return Ok(value),
                Some(Ok(Check::NotYet(seen))) => last_seen = seen,
                Some(Err(e)) if e.is_retryable() => last_seen = e.to_string(),
                Some(Err(e)) => return Err(e),
                None => last_seen = format!("the api did not answer in time (before: {last_seen})"),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Timeout {
                    what: self.what,
                    waited: now - start,
                    last_seen,
                });
            }
            let interval = intervals.next().unwrap_or(self.max_interval);
            tokio::time::sleep(interval.min(deadline - now)).await;
        }
    }
}
