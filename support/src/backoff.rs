//! The SDK's one retry policy: capped exponential backoff with jitter, limited by a number
//! of retries and/or a total waiting time, honouring a server's `Retry-After`.
//!
//! [`Backoff`] is plain data (`Copy`, `const` builders). It plugs into the `backon` crate
//! as a [`BackoffBuilder`], so an async operation can be retried with
//! `op.retry(policy).when(..).adjust(..)`; `retry` (feature `tokio`) and
//! [`retry_with_sleeper`] are the same in one call. A loop with its own clock walks
//! [`Backoff::delays`] instead.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

pub use backon::{BackoffBuilder, Retryable, Sleeper};

/// Longest wait a server's `Retry-After` may impose unless [`Backoff::with_retry_after_cap`]
/// says otherwise.
pub const DEFAULT_RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// How often and how long to wait before trying a failed operation again.
///
/// The wait before retry `n` (1-based) is `first_delay × 2^(n-1)`, capped at `max_delay`,
/// with "equal jitter": a random point between half of it and all of it, so that many
/// clients failing together do not retry in step. Retrying ends after `max_retries`
/// retries and, when set, once the computed waits would add up to more than `max_total`.
/// A server's `Retry-After` replaces the computed wait, capped at the retry-after cap
/// (see [`Backoff::honour_retry_after`]).
///
/// # Usage
///
/// ```
/// use std::time::Duration;
/// use sdk_support::backoff::Backoff;
///
/// let policy = Backoff::new(Duration::from_millis(100), Duration::from_secs(2))
///     .with_max_retries(3)
///     .with_retry_after_cap(Duration::from_secs(10));
/// let waits: Vec<Duration> = policy.delays().collect();
/// assert_eq!(waits.len(), 3);
/// assert!(waits[0] >= Duration::from_millis(50) && waits[0] <= Duration::from_millis(100));
/// assert_eq!(Backoff::none().delays().count(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first_delay: Duration,
    max_delay: Duration,
    max_retries: Option<u32>,
    max_total: Option<Duration>,
    retry_after_cap: Duration,
    jitter: bool,
}

impl Default for Backoff {
    /// 4 retries, waits from 500 ms doubling up to 30 s, `Retry-After` honoured up to 60 s.
    fn default() -> Self {
        Self::new(Duration::from_millis(500), Duration::from_secs(30))
    }
}

impl Backoff {
    /// Waits starting at `first_delay` and doubling up to `max_delay`, with jitter, at most
    /// 4 retries, no total-time limit, `Retry-After` capped at [`DEFAULT_RETRY_AFTER_CAP`].
    pub const fn new(first_delay: Duration, max_delay: Duration) -> Self {
        Self {
            first_delay,
            max_delay,
            max_retries: Some(4),
            max_total: None,
            retry_after_cap: DEFAULT_RETRY_AFTER_CAP,
            jitter: true,
        }
    }

    /// A policy that never retries.
    pub const fn none() -> Self {
        Self::new(Duration::ZERO, Duration::ZERO).with_max_retries(0)
    }

    /// At most `retries` retries after the first attempt (0 disables retrying).
    pub const fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// No limit on the number of retries: bound the wait with
    /// [`with_max_total`](Self::with_max_total) or an outer timeout instead.
    pub const fn without_max_retries(mut self) -> Self {
        self.max_retries = None;
        self
    }

    /// Stop retrying once the computed waits would add up to more than `total`.
    ///
    /// # Caveats
    /// Waits imposed by `Retry-After` are not counted; the retry-after cap bounds them.
    pub const fn with_max_total(mut self, total: Duration) -> Self {
        self.max_total = Some(total);
        self
    }

    /// The longest wait a server's `Retry-After` may impose.
    pub const fn with_retry_after_cap(mut self, cap: Duration) -> Self {
        self.retry_after_cap = cap;
        self
    }

    /// Exact doubling waits without randomness, for polling schedules that are not
    /// retries of a failed request.
    pub const fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// The wait before the first retry (before jitter).
    pub const fn first_delay(&self) -> Duration {
        self.first_delay
    }

    /// The longest computed wait.
    pub const fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// The retry limit; `None` when only time bounds the retries.
    pub const fn max_retries(&self) -> Option<u32> {
        self.max_retries
    }

    /// The limit on the sum of computed waits, if any.
    pub const fn max_total(&self) -> Option<Duration> {
        self.max_total
    }

    /// The longest wait a server's `Retry-After` may impose.
    pub const fn retry_after_cap(&self) -> Duration {
        self.retry_after_cap
    }

    /// The waits before each retry, in order; the iterator ends when the policy allows no
    /// further retry. Each call starts over from the first wait.
    pub fn delays(&self) -> Delays {
        let max = self.max_delay;
        let first = if self.first_delay < max {
            self.first_delay
        } else {
            max
        };
        // backon's jitter adds up to one more base wait, so halving the base gives waits
        // between half and all of the exponential value.
        let (first, max) = if self.jitter {
            (first / 2, max / 2)
        } else {
            (first, max)
        };
        let mut builder = backon::ExponentialBuilder::new()
            .with_min_delay(first)
            .with_max_delay(max)
            .with_factor(2.0)
            .with_total_delay(self.max_total);
        builder = match self.max_retries {
            Some(retries) => builder.with_max_times(usize::try_from(retries).unwrap_or(usize::MAX)),
            None => builder.without_max_times(),
        };
        if self.jitter {
            builder = builder.with_jitter();
        }
        Delays(builder.build())
    }

    /// The wait before the next retry: `None` when the policy allows no further retry
    /// (`computed` is `None`), otherwise the server's `retry_after` capped at the
    /// retry-after cap, or the `computed` wait when the server asked for none.
    ///
    /// This is the `adjust` step of a backon retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sdk_support::backoff::Backoff;
    ///
    /// let policy = Backoff::default().with_retry_after_cap(Duration::from_secs(5));
    /// let computed = Some(Duration::from_millis(300));
    /// assert_eq!(policy.honour_retry_after(computed, None), computed);
    /// assert_eq!(policy.honour_retry_after(computed, Some(Duration::from_secs(2))), Some(Duration::from_secs(2)));
    /// assert_eq!(policy.honour_retry_after(computed, Some(Duration::from_secs(90))), Some(Duration::from_secs(5)));
    /// assert_eq!(policy.honour_retry_after(None, Some(Duration::from_secs(2))), None);
    /// ```
    pub fn honour_retry_after(
        &self,
        computed: Option<Duration>,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let computed = computed?;
        Some(retry_after.map_or(computed, |asked| asked.min(self.retry_after_cap)))
    }
}

/// The waits of one run of a [`Backoff`] policy (see [`Backoff::delays`]).
#[derive(Debug)]
pub struct Delays(backon::ExponentialBackoff);

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.0.next()
    }
}

impl BackoffBuilder for Backoff {
    type Backoff = Delays;

    fn build(self) -> Delays {
        self.delays()
    }
}

impl BackoffBuilder for &Backoff {
    type Backoff = Delays;

    fn build(self) -> Delays {
        self.delays()
    }
}

/// Runs `op` until it succeeds, fails with an error `is_retryable` rejects, or `policy`
/// allows no further retry; waits with `sleeper` (any `Fn(Duration) -> impl Future`, or a
/// backon [`Sleeper`]). `retry_after_of` reads the wait a failure's server asked for.
///
/// # Errors
/// The last error `op` returned.
///
/// # Usage
///
/// ```
/// use std::time::Duration;
/// use sdk_support::backoff::{Backoff, retry_with_sleeper};
///
/// # block_on(async {
/// let mut calls = 0;
/// let policy = Backoff::new(Duration::ZERO, Duration::ZERO).with_max_retries(5);
/// let result: Result<u32, String> = retry_with_sleeper(
///     &policy,
///     |_wait: Duration| std::future::ready(()),
///     || {
///         calls += 1;
///         let outcome = if calls < 3 { Err("busy".to_owned()) } else { Ok(calls) };
///         std::future::ready(outcome)
///     },
///     |error| error == "busy",
///     |_| None,
/// )
/// .await;
/// assert_eq!(result, Ok(3));
/// # });
/// # fn block_on(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub async fn retry_with_sleeper<T, E, Fut, Op, S, R, A>(
    policy: &Backoff,
    sleeper: S,
    op: Op,
    mut is_retryable: R,
    mut retry_after_of: A,
) -> Result<T, E>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    S: Sleeper,
    R: FnMut(&E) -> bool,
    A: FnMut(&E) -> Option<Duration>,
    E: Display,
{
    let mut retries = 0_u32;
    op.retry(policy)
        .sleep(sleeper)
        .when(|error| is_retryable(error))
        .adjust(|error, computed| policy.honour_retry_after(computed, retry_after_of(error)))
        .notify(|error, wait| {
            retries += 1;
            tracing::debug!(retry = retries, ?wait, %error, "retrying after a transient failure");
        })
        .await
}

/// [`retry_with_sleeper`] on tokio's timer.
///
/// # Errors
/// The last error `op` returned.
///
/// # Usage
///
/// ```
/// use std::time::Duration;
/// use sdk_support::backoff::{Backoff, retry};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let policy = Backoff::new(Duration::from_millis(1), Duration::from_millis(5));
/// let result: Result<(), String> = retry(
///     &policy,
///     || async { Err("the server is down".to_owned()) },
///     |_| true,
///     |_| None,
/// )
/// .await;
/// assert_eq!(result, Err("the server is down".to_owned()));
/// # }
/// ```
#[cfg(feature = "tokio")]
pub async fn retry<T, E, Fut, Op, R, A>(
    policy: &Backoff,
    op: Op,
    is_retryable: R,
    retry_after_of: A,
) -> Result<T, E>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    R: FnMut(&E) -> bool,
    A: FnMut(&E) -> Option<Duration>,
    E: Display,
{
    retry_with_sleeper(
        policy,
        backon::TokioSleeper,
        op,
        is_retryable,
        retry_after_of,
    )
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn waits_double_within_equal_jitter_bounds_up_to_the_cap() {
        let policy = Backoff::new(100 * MS, 1000 * MS).with_max_retries(10);
        for _ in 0..50 {
            let waits: Vec<Duration> = policy.delays().collect();
            assert_eq!(waits.len(), 10);
            for (index, wait) in waits.iter().enumerate() {
                let exponential = (100 * MS * 2_u32.pow(index as u32)).min(1000 * MS);
                // backon multiplies in f32: allow a microsecond of rounding.
                let slack = Duration::from_micros(1);
                assert!(
                    *wait + slack >= exponential / 2 && *wait <= exponential + slack,
                    "retry {index}: {wait:?} not within [{:?}, {exponential:?}]",
                    exponential / 2
                );
            }
        }
    }

    #[test]
    fn without_jitter_the_waits_are_exact() {
        let policy = Backoff::new(100 * MS, 300 * MS)
            .with_max_retries(4)
            .without_jitter();
        let waits: Vec<u128> = policy.delays().map(|wait| wait.as_millis()).collect();
        assert_eq!(waits, [100, 200, 300, 300]);
    }

    #[test]
    fn a_first_delay_above_the_cap_is_capped() {
        let policy = Backoff::new(10 * MS, 4 * MS).without_jitter();
        assert!(policy.delays().all(|wait| wait == 4 * MS));
    }

    #[test]
    fn the_retry_limit_ends_the_waits() {
        assert_eq!(Backoff::default().delays().count(), 4);
        assert_eq!(Backoff::none().delays().count(), 0);
        let unlimited = Backoff::default().without_max_retries();
        assert_eq!(unlimited.delays().take(1000).count(), 1000);
    }

    #[test]
    fn the_total_time_limit_ends_the_waits() {
        let policy = Backoff::new(100 * MS, 100 * MS)
            .without_max_retries()
            .without_jitter()
            .with_max_total(350 * MS);
        assert_eq!(policy.delays().count(), 3);
    }

    #[test]
    fn a_server_wait_replaces_the_computed_one_up_to_the_cap() {
        let policy = Backoff::default().with_retry_after_cap(2 * MS * 1000);
        assert_eq!(
            policy.honour_retry_after(Some(MS), Some(1500 * MS)),
            Some(1500 * MS)
        );
        assert_eq!(
            policy.honour_retry_after(Some(MS), Some(Duration::from_secs(3600))),
            Some(2000 * MS)
        );
        assert_eq!(policy.honour_retry_after(None, Some(MS)), None);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_stops_at_the_first_error_that_is_not_retryable() {
        let mut calls = 0;
        let result: Result<(), &str> = retry_with_sleeper(
            &Backoff::default(),
            tokio::time::sleep,
            || {
                calls += 1;
                std::future::ready(Err(if calls < 2 { "busy" } else { "denied" }))
            },
            |error| *error == "busy",
            |_| None,
        )
        .await;
        assert_eq!(result, Err("denied"));
        assert_eq!(calls, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_after_the_retry_budget() {
        let mut calls = 0;
        let result: Result<(), &str> = retry_with_sleeper(
            &Backoff::default().with_max_retries(2),
            tokio::time::sleep,
            || {
                calls += 1;
                std::future::ready(Err("busy"))
            },
            |_| true,
            |_| None,
        )
        .await;
        assert_eq!(result, Err("busy"));
        assert_eq!(calls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_waits_as_long_as_the_server_asks() {
        let start = tokio::time::Instant::now();
        let mut calls = 0;
        let result: Result<u32, &str> = retry_with_sleeper(
            &Backoff::new(MS, MS),
            tokio::time::sleep,
            || {
                calls += 1;
                std::future::ready(if calls == 1 { Err("busy") } else { Ok(calls) })
            },
            |_| true,
            |_| Some(Duration::from_secs(7)),
        )
        .await;
        assert_eq!(result, Ok(2));
        assert_eq!(start.elapsed(), Duration::from_secs(7));
    }
}
