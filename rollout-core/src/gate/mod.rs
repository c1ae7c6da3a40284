//! Gates: composable predicates (`and` / `or` / `not`) with timeout and interval, evaluated
//! by the driver against observations; the state machine asks for them with
//! [`crate::machine::NodeRequest::CheckGate`] and owns retries and deadlines.

mod condition;
pub mod conditions;
#[allow(clippy::module_inception)]
mod gate;
mod input;
mod stages;
mod user;

pub use condition::{All, Any, Condition, ConditionExt, Evaluation, Not, Predicate, predicate};
pub use gate::{Gate, GateTimedOut};
pub use input::{
    ClusterObservation, DeviceObservation, EtcdMemberObservation, GateInput, Needs,
    NodeObservation, Observed, ServiceObservation,
};
pub use stages::stage_gate;
pub use user::UserCheck;
