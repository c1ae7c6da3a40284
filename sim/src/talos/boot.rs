//! One boot of a node: ends when the node goes down, either in an orderly way (open streams
//! fail with `Unavailable`) or abruptly (power cut, kernel panic: open streams simply end).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::CancellationToken;

/// How the current boot ends; cheap to clone, every clone sees the end.
#[derive(Debug, Clone, Default)]
pub(crate) struct Boot {
    ended: CancellationToken,
    abrupt: Arc<AtomicBool>,
}

impl Boot {
    /// Ends the boot; `abrupt` when the node lost power instead of shutting down.
    pub(crate) fn end(&self, abrupt: bool) {
        self.abrupt.store(abrupt, Ordering::SeqCst);
        self.ended.cancel();
    }

    /// Resolves once the boot has ended.
    pub(crate) async fn ended(&self) {
        self.ended.cancelled().await;
    }

    /// Whether the boot ended abruptly (only meaningful once it ended).
    pub(crate) fn ended_abruptly(&self) -> bool {
        self.abrupt.load(Ordering::SeqCst)
    }
}
