//! The pure core of a Talos extension rollout: the model, the plan (the dry run), gates and
//! the sans-IO one-node-at-a-time state machine. No async runtime, no network, no files:
//! the `talos-rollout` crate drives this core through its ports and is the front door.
//!
//! Where to start reading:
//! - [`facts`]: what discovery observed about each node ([`ClusterFacts`]);
//! - [`spec`]: what the user asks for ([`RolloutSpec`]);
//! - [`extension`]: what an extension profile asks for, as data ([`ExtensionRequest`]);
//! - [`plan()`]: facts + spec + extension request → [`Planned`] (the public [`Plan`] and the
//!   secret per-node configs), pure;
//! - [`gate`]: composable checks evaluated against observations;
//! - [`machine`]: the sans-IO state machine [`Rollout`] (`poll_action` / `handle` /
//!   `poll_timeout` / `poll_event` / `poll_journal`) and the journal entries it emits.
//!
//! Module layering (no cycles): `facts`, `esc`, `version`, `port_error`, `extension`,
//! `spec` ← `plan` ← `gate` ← `machine`.
//!
//! # Usage
//! The machine says what to do next; a driver performs it and reports back (see
//! [`plan()`] for how a plan is made):
//! ```
//! use std::time::Instant;
//! use rollout_core::machine::{Action, NodeRequest};
//! use rollout_core::{Planned, Rollout};
//!
//! fn first_step(planned: Planned) -> Option<Action> {
//!     let mut rollout = Rollout::new(planned.plan, Default::default(), Instant::now());
//!     let action = rollout.poll_action(Instant::now())?;
//!     // Registering the target schematic comes before any node is touched.
//!     assert!(matches!(action, Action::EnsureSchematic { .. }) || matches!(
//!         action,
//!         Action::Node { request: NodeRequest::Inspect, .. }
//!     ));
//!     Some(action)
//! }
//! ```

mod error;
pub mod esc;
pub mod extension;
pub mod facts;
pub mod gate;
pub mod machine;
pub mod plan;
mod port_error;
pub mod spec;
pub mod version;

pub use error::{Error, Result};
pub use esc::{EscConfigFile, EscDigest, ExtensionServiceConfig};
pub use extension::{ExtensionRequest, NodeExtension};
pub use facts::{ClusterFacts, NodeFacts, NodeRole};
pub use machine::{Action, JournalEntry, Observation, Rollout, RolloutEvent};
pub use plan::{Plan, Planned, plan};
pub use port_error::{PortError, PortErrorKind};
pub use spec::RolloutSpec;
