//! Gates: composable predicates (`and` / `or` / `not`) with timeout and interval, evaluated
//! against observations; the state machine asks for them with
//! [`crate::machine::NodeRequest::CheckGate`] and owns retries and deadlines.
//!
//! Built-in conditions look at Talos node and cluster observations; everything else (user
//! gates, an extension profile's checks such as "tailnet device online") is a *named check*
//! whose result the driver gathers and the gate reads by name ([`conditions::named`]).

mod condition;
pub mod conditions;
#[allow(clippy::module_inception)]
mod gate;
mod input;
mod stage;
mod stages;
mod verdict;

pub use condition::{All, Any, Condition, ConditionExt, Evaluation, Not, Predicate, predicate};
pub use gate::Gate;
pub use input::{
    ClusterObservation, EtcdMemberObservation, GateInput, KubernetesObservation, Needs,
    NodeObservation, Observed, ServiceObservation,
};
pub use stage::GateStage;
pub use stages::stage_gate;
pub use verdict::{CheckResult, GateVerdict};
