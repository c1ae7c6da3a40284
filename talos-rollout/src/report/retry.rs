//! Retrying the report's reads when the failure is transient — a node mid-reboot or an apid
//! connection that dropped. The rollout's steps are retried by the state machine, not here.

use std::future::Future;
use std::time::Duration;

/// How many times a transient read is tried.
const ATTEMPTS: u32 = 3;
/// Pause between two tries.
const PAUSE: Duration = Duration::from_millis(300);

/// Calls `read` until it succeeds, fails for good (`retryable` says no), or was tried
/// three times; returns the last result.
pub(super) async fn transient<T, E, F, Fut>(
    retryable: impl Fn(&E) -> bool,
    mut read: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match read().await {
            Err(error) if attempt < ATTEMPTS && retryable(&error) => {
                tracing::debug!(attempt, "transient failure; trying again");
                attempt += 1;
                tokio::time::sleep(PAUSE).await;
            }
            result => return result,
        }
    }
}
