//! Reads through a port that are tried again on a transient failure (a node mid-reboot, a
//! dropped connection), with the SDK's one backoff policy, sleeping on the ports' clock.
//! The rollout's own steps are retried by the state machine, not here.

use std::future::Future;

use futures::future::BoxFuture;
use std::sync::Arc;

use rollout_core::PortError;
use sdk_support::backoff::{Backoff, retry_with_sleeper};

use super::Clock;

/// Calls `read` until it succeeds, fails for good, or `policy` gives up; returns the last
/// result. Only [`PortError::is_retryable`] failures are tried again. (The future is boxed
/// as `Send` here, where its types are concrete, so callers' futures stay `Send`.)
pub(crate) fn read_retrying<'a, T, Fut>(
    clock: &Arc<dyn Clock>,
    policy: &'a Backoff,
    read: impl FnMut() -> Fut + Send + 'a,
) -> BoxFuture<'a, Result<T, PortError>>
where
    T: Send + 'a,
    Fut: Future<Output = Result<T, PortError>> + Send + 'a,
{
    let clock = clock.clone();
    let sleeper = move |wait| {
        let clock = clock.clone();
        async move { clock.sleep(wait).await }
    };
    Box::pin(retry_with_sleeper(
        policy,
        sleeper,
        read,
        is_retryable,
        no_retry_after,
    ))
}

fn is_retryable(error: &PortError) -> bool {
    error.is_retryable()
}

/// Ports have no server-given wait: their adapters already honoured any `Retry-After`.
fn no_retry_after(_: &PortError) -> Option<std::time::Duration> {
    None
}
