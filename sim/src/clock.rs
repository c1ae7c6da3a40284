//! The sim's clock: wall-clock timestamps derived from tokio time, so paused tests control both.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::time::Instant;

/// Maps tokio's (pausable) monotonic clock onto wall-clock timestamps.
///
/// Every timestamp the sim serves (`created`, `lastSeen`, key expiry, event times) comes
/// from here, so a test that pauses and advances tokio time sees consistent timestamps.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    start_instant: Instant,
    start_wall: OffsetDateTime,
}

impl SimClock {
    /// A clock whose "now" is the current wall time at the current tokio instant.
    pub fn start() -> Self {
        Self {
            start_instant: Instant::now(),
            start_wall: OffsetDateTime::now_utc(),
        }
    }

    /// The current tokio instant.
    pub fn instant(&self) -> Instant {
        Instant::now()
    }

    /// The current simulated wall time.
    pub fn now(&self) -> OffsetDateTime {
        self.wall_time(Instant::now())
    }

    /// The simulated wall time at `instant`.
    pub fn wall_time(&self, instant: Instant) -> OffsetDateTime {
        let elapsed = instant.saturating_duration_since(self.start_instant);
        self.start_wall + elapsed
    }

    /// `now()` in RFC 3339 with second precision, the form the Tailscale API uses.
    pub fn now_rfc3339(&self) -> String {
        rfc3339(self.now())
    }
}

/// RFC 3339 text with whole seconds (`2026-11-24T20:00:00Z`).
pub fn rfc3339(at: OffsetDateTime) -> String {
    let whole = at.replace_nanosecond(0).unwrap_or(at);
    whole
        .format(&Rfc3339)
        .unwrap_or_else(|_| whole.unix_timestamp().to_string())
}
