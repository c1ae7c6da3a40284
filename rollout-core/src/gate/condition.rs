//! The [`Condition`] trait and its combinators (`and`, `or`, `not`).

use super::{CheckResult, GateInput, Needs};

/// A named predicate over a [`GateInput`] producing check results.
pub trait Condition: Send + Sync {
    /// Evaluates the condition; the result lists every check looked at.
    fn evaluate(&self, input: &GateInput<'_>) -> Evaluation;

    /// Which observations must be gathered for it.
    fn needs(&self) -> Needs;
}

/// A condition's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// True when the condition holds.
    pub passed: bool,
    /// Checks looked at (for progress and diagnosis).
    pub checks: Vec<CheckResult>,
}

/// Combinators available on every condition.
pub trait ConditionExt: Condition + Sized + 'static {
    /// Both hold.
    fn and(self, other: impl Condition + 'static) -> All {
        All(vec![Box::new(self), Box::new(other)])
    }

    /// At least one holds.
    fn or(self, other: impl Condition + 'static) -> Any {
        Any(vec![Box::new(self), Box::new(other)])
    }

    /// Does not hold.
    fn not(self) -> Not {
        Not(Box::new(self))
    }

    /// Boxes it.
    fn boxed(self) -> Box<dyn Condition> {
        Box::new(self)
    }
}

impl<C: Condition + Sized + 'static> ConditionExt for C {}

/// All conditions hold (an empty list holds).
pub struct All(pub Vec<Box<dyn Condition>>);

/// At least one condition holds (an empty list does not).
pub struct Any(pub Vec<Box<dyn Condition>>);

/// The inner condition does not hold.
pub struct Not(pub Box<dyn Condition>);

impl Condition for All {
    fn evaluate(&self, input: &GateInput<'_>) -> Evaluation {
        let results: Vec<Evaluation> = self.0.iter().map(|c| c.evaluate(input)).collect();
        Evaluation {
            passed: results.iter().all(|r| r.passed),
            checks: results.into_iter().flat_map(|r| r.checks).collect(),
        }
    }

    fn needs(&self) -> Needs {
        self.0
            .iter()
            .fold(Needs::default(), |needs, c| needs.union(c.needs()))
    }
}

impl Condition for Any {
    fn evaluate(&self, input: &GateInput<'_>) -> Evaluation {
        let results: Vec<Evaluation> = self.0.iter().map(|c| c.evaluate(input)).collect();
        Evaluation {
            passed: results.iter().any(|r| r.passed),
            checks: results.into_iter().flat_map(|r| r.checks).collect(),
        }
    }

    fn needs(&self) -> Needs {
        self.0
            .iter()
            .fold(Needs::default(), |needs, c| needs.union(c.needs()))
    }
}

impl Condition for Not {
    fn evaluate(&self, input: &GateInput<'_>) -> Evaluation {
        let inner = self.0.evaluate(input);
        let names: Vec<&str> = inner.checks.iter().map(|c| c.name.as_str()).collect();
        let passed = !inner.passed;
        Evaluation {
            passed,
            checks: vec![CheckResult {
                name: format!("not ({})", names.join(", ")),
                passed,
                detail: if inner.passed {
                    "inner condition holds".into()
                } else {
                    "inner condition fails".into()
                },
            }],
        }
    }

    fn needs(&self) -> Needs {
        self.0.needs()
    }
}

/// A leaf condition from a closure: `check(input)` returns `Ok(detail)` when it holds and
/// `Err(detail)` when it does not.
pub struct Predicate<F> {
    name: String,
    needs: Needs,
    check: F,
}

/// Builds a leaf condition from a closure.
///
/// # Usage
/// ```
/// use rollout_core::gate::{Needs, predicate};
/// let version_set = predicate("version reported", Needs { node: true, ..Needs::default() }, |input| {
///     match input.node {
///         Some(node) if !node.version.is_empty() => Ok(node.version.clone()),
///         _ => Err("no version".to_owned()),
///     }
/// });
/// # let _ = version_set;
/// ```
pub fn predicate<F>(name: impl Into<String>, needs: Needs, check: F) -> Predicate<F>
where
    F: Fn(&GateInput<'_>) -> Result<String, String> + Send + Sync,
{
    Predicate {
        name: name.into(),
        needs,
        check,
    }
}

impl<F> Condition for Predicate<F>
where
    F: Fn(&GateInput<'_>) -> Result<String, String> + Send + Sync,
{
    fn evaluate(&self, input: &GateInput<'_>) -> Evaluation {
        let (passed, detail) = match (self.check)(input) {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        Evaluation {
            passed,
            checks: vec![CheckResult {
                name: self.name.clone(),
                passed,
                detail,
            }],
        }
    }

    fn needs(&self) -> Needs {
        self.needs.clone()
    }
}
