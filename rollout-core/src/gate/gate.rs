//! [`Gate`]: a named condition evaluated once per request.

use super::GateVerdict;
use super::{Condition, Observed};
use crate::plan::NodePlan;

/// A named, composable condition. The state machine owns the waiting: it asks for one
/// evaluation at a time, schedules the next after the check interval and fails the node at
/// its phase's timeout (see [`crate::spec::PhaseTimeouts`]).
pub struct Gate {
    name: String,
    condition: Box<dyn Condition>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// A gate named `name` over `condition`.
    pub fn new(name: impl Into<String>, condition: impl Condition + 'static) -> Self {
        Gate {
            name: name.into(),
            condition: Box::new(condition),
        }
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
