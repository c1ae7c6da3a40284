//! The clock port: time for the driver (tests pause and advance it).

use std::time::{Duration, Instant};

use async_trait::async_trait;

/// Time source for the driver.
#[async_trait]
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Instant;
    /// Sleeps for `duration`.
    async fn sleep(&self, duration: Duration);
}

/// The tokio clock (follows `tokio::time::pause()` in tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

#[async_trait]
impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
