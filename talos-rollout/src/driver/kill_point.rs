//! Deterministic kill points for crash tests: the driver ends its own process at a chosen
//! place, so a test can resume from exactly there (a real crash, not a cancellation).

use std::fmt;
use std::str::FromStr;

use rollout_core::machine::Step;

use crate::Error;

/// The exit code of a process ended at a kill point (as if killed by SIGKILL).
pub const KILLED_EXIT_CODE: i32 = 137;

/// Where the driver ends the process.
///
/// Text form (as the examples read it from `TALOS_ROLLOUT_KILL_AT`): `journal:N`,
/// `before-call:STEP:NODE` or `after-call:STEP:NODE`, where STEP is a step name such as `install`, `reboot`,
/// `apply_config`, `restore_config` or `boot_previous`.
///
/// # Usage
/// ```
/// use talos_rollout::driver::KillPoint;
/// let point: KillPoint = "after-call:install:10.5.0.3".parse().unwrap();
/// assert_eq!(point.to_string(), "after-call:install:10.5.0.3");
/// let point: KillPoint = "before-call:reboot:10.5.0.3".parse().unwrap();
/// assert_eq!(point.to_string(), "before-call:reboot:10.5.0.3");
/// assert!("journal:0".parse::<KillPoint>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KillPoint {
    /// Right after this process appended (and synced) its N-th journal entry (1-based).
    JournalEntry(usize),
    /// Right before the call of `step` on `node` is sent, after the state machine's journal
    /// entries before it were written: the call was intended and never sent.
    BeforeCall {
        /// Which step.
        step: Step,
        /// Which node.
        node: String,
    },
    /// Right after the call of `step` on `node` returned, before its answer reaches the
    /// state machine: the call took effect, its answer is lost.
    AfterCall {
        /// Which step.
        step: Step,
        /// Which node.
        node: String,
    },
}

impl KillPoint {
    /// Ends the process when `point` is this kill point.
    pub(crate) fn hit(&self, point: &KillPoint) {
        if self == point {
            tracing::warn!(kill_point = %self, "ending the process at the requested kill point");
            std::process::exit(KILLED_EXIT_CODE);
        }
    }
}

/// The step name used in journal lines (`install`, `boot_previous`, ...).
fn step_name(step: Step) -> String {
    serde_json::to_value(step)
        .ok()
        .and_then(|value| {
            value
                .get("step")
                .and_then(|s| s.as_str().map(str::to_owned))
        })
        .unwrap_or_default()
}

fn invalid(text: &str, why: &str) -> Error {
    Error::spec(
        "kill point",
        format!(
            "{text:?}: {why}; use journal:N (N >= 1), before-call:STEP:NODE or after-call:STEP:NODE"
        ),
    )
}

impl FromStr for KillPoint {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(count) = text.strip_prefix("journal:") {
            return match count.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(KillPoint::JournalEntry(n)),
                _ => Err(invalid(text, "N must be a whole number from 1")),
            };
        }
        let (before, rest) = match (
            text.strip_prefix("before-call:"),
            text.strip_prefix("after-call:"),
        ) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            (None, None) => return Err(invalid(text, "unknown kill point")),
        };
        let Some((name, node)) = rest.split_once(':').filter(|(_, node)| !node.is_empty()) else {
            return Err(invalid(text, "name the step and the node"));
        };
        let step: Step = serde_json::from_value(serde_json::json!({ "step": name }))
            .map_err(|_| invalid(text, "unknown step"))?;
        let node = node.to_owned();
        Ok(if before {
            KillPoint::BeforeCall { step, node }
        } else {
            KillPoint::AfterCall { step, node }
        })
    }
}

impl fmt::Display for KillPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KillPoint::JournalEntry(n) => write!(f, "journal:{n}"),
            KillPoint::BeforeCall { step, node } => {
                write!(f, "before-call:{}:{node}", step_name(*step))
            }
            KillPoint::AfterCall { step, node } => {
                write!(f, "after-call:{}:{node}", step_name(*step))
            }
        }
    }
}
