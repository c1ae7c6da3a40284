//! [`Gate`]: a named condition with a timeout and a check interval.

use std::time::Duration;

use super::GateVerdict;
use super::{Condition, Observed};
use crate::plan::NodePlan;

/// A named, composable condition with a timeout and check interval. The state machine owns
/// the waiting: it asks for one evaluation at a time and schedules the next.
pub struct Gate {
    name: String,
    condition: Box<dyn Condition>,
    timeout: Duration,
    interval: Duration,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate with a 10 minute timeout and a 5 second interval.
    pub fn new(name: impl Into<String>, condition: impl Condition + 'static) -> Self {
        Gate {
            name: name.into(),
            condition: Box::new(condition),
            timeout: Duration::from_secs(600),
            interval: Duration::from_secs(5),
        }
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the interval between checks.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The gate's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The condition (for its [`super::Needs`]).
    pub fn condition(&self) -> &dyn Condition {
        self.condition.as_ref()
    }

    /// Evaluates the gate once against observations.
    pub fn evaluate(&self, plan: &NodePlan, observed: &Observed) -> GateVerdict {
        let evaluation = self.condition.evaluate(&observed.input(plan));
        GateVerdict {
            passed: evaluation.passed,
            checks: evaluation.checks,
        }
    }
}
