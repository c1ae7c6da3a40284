//! What evaluating a gate produced: each check and the overall verdict.

use serde::{Deserialize, Serialize};

/// One evaluated check inside a gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Check name (`extension present: siderolabs/tailscale`).
    pub name: String,
    /// Passed?
    pub passed: bool,
    /// What was observed.
    pub detail: String,
}

/// The result of evaluating a gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateVerdict {
    /// True when the whole gate holds.
    pub passed: bool,
    /// The individual checks (for progress and diagnosis).
    pub checks: Vec<CheckResult>,
}

impl GateVerdict {
    /// Each failing check as `name: not met (detail)`.
    pub fn failing_checks(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|check| !check.passed)
            .map(|check| format!("{}: not met ({})", check.name, check.detail))
            .collect()
    }

    /// The failing checks joined for messages.
    pub fn failing(&self) -> String {
        let failing = self.failing_checks();
        if failing.is_empty() {
            "gate did not hold".to_owned()
        } else {
            failing.join("; ")
        }
    }
}
