//! The sans-IO rollout state machine (quinn-proto style): [`Rollout`] owns every decision,
//! the driver performs [`Action`]s and reports [`Observation`]s; time is passed in.
//!
//! Invariants (checked by the property tests):
//! - never more nodes active than allowed (control plane: one, workers: `max_unavailable`);
//! - control-plane nodes strictly one at a time and before any worker;
//! - no node starts while another has failed or the rollout is halted, and no node is
//!   changed before its precheck gate passed;
//! - a node found converged is never disrupted; a completed disruptive step is never repeated;
//! - a reboot (or Rollback RPC) whose answer was lost is awaited by boot ID, never sent again;
//! - the etcd leader is the last control-plane node to start (the plan orders it last);
//! - every node ends Done, Halted or RolledBack.

mod action;
mod event;
mod forward;
mod journal_entry;
mod node_index;
mod node_state;
mod observation;
mod phase;
mod resume;
mod rollback;
mod rollout;
mod scheduler;
mod step;
mod wait;

pub use action::{Action, NodeRequest, RollbackMethod};
pub use event::{NodeFailure, RolloutEvent, Summary};
pub use journal_entry::JournalEntry;
pub use node_state::NodeStatus;
pub use observation::{BootProbe, LiveNode, Observation, Outcome};
pub use phase::{Phase, RollbackStep};
pub use rollout::{MachineOptions, Rollout};
pub use step::Step;
pub use wait::SAFETY_NET_INTERVALS;
