//! Plan and sans-IO one-node-at-a-time state machine for rolling a system extension onto a
//! Talos cluster, with gates, journal, driver and rollback.
//!
//! Where to start reading:
//! - [`spec`]: what the user asks for ([`RolloutSpec`]);
//! - [`tailscale`]: the tailscale `ExtensionServiceConfig` builder and its warnings;
//! - [`plan()`]: facts + spec → [`Plan`] (the dry run);
//! - [`machine`]: the sans-IO state machine [`Rollout`] (`poll_action` / `handle` / `poll_timeout`);
//! - [`gate`]: composable checks evaluated by the driver;
//! - [`journal`]: append-only journal, cluster lock, config backups, resume;
//! - [`driver`]: the async executor over [`ports`].

pub mod adapters;
pub mod discovery;
pub mod driver;
mod error;
pub mod esc;
pub mod gate;
pub mod journal;
pub mod machine;
pub mod plan;
pub mod ports;
pub mod spec;
pub mod tailscale;
pub mod version;

pub use discovery::{ClusterFacts, NodeFacts, NodeRole};
pub use error::{Error, Result};
pub use esc::{EscConfigFile, EscDigest, ExtensionServiceConfig};
pub use journal::JournalEntry;
pub use machine::{Action, Observation, Rollout, RolloutEvent};
pub use plan::{Plan, plan};
pub use spec::RolloutSpec;
