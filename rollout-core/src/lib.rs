//! Plan and sans-IO one-node-at-a-time state machine for rolling a system extension onto a
//! Talos cluster, with gates, journal, driver and rollback.
//!
//! Where to start reading:
//! - [`spec`]: what the user asks for ([`RolloutSpec`]);
//! - [`tailscale`]: the tailscale `ExtensionServiceConfig` builder and its warnings;
//! - [`plan()`]: facts + spec → [`Plan`] (the dry run, no side effects);
//! - [`machine`]: the sans-IO state machine [`Rollout`] (`poll_action` / `handle` /
//!   `poll_timeout` / `poll_event` / `poll_journal`);
//! - [`gate`]: composable checks the driver evaluates when the machine asks;
//! - [`journal`]: append-only journal, cluster lock, config backups;
//! - [`driver`]: the async executor over the [`ports`], with resume, cancellation,
//!   diagnosis and rollback;
//! - [`adapters`]: the ports over talos-client, factory-client and tailscale-client.
//!
//! # Usage
//! ```no_run
//! # async fn example(talos: talos_client::TalosClient, factory: factory_client::FactoryClient,
//! #     tailscale: tailscale_client::TailscaleClient, spec: rollout_core::RolloutSpec) -> rollout_core::Result<()> {
//! use std::sync::Arc;
//! use rollout_core::adapters::{FactoryAdapter, FactoryResolver, TailnetAdapter, TalosAdapter};
//! use rollout_core::driver::{Driver, Ports};
//!
//! let ports = Ports {
//!     talos: Arc::new(TalosAdapter::new(talos)),
//!     factory: Arc::new(FactoryAdapter::new(factory)),
//!     tailnet: Some(Arc::new(TailnetAdapter::new(tailscale))),
//!     kube: None,
//!     clock: Arc::new(rollout_core::ports::TokioClock),
//! };
//! let (driver, _events) = Driver::new(spec.clone(), ports);
//! let facts = driver.discover("home", &["k8s-1".into(), "k8s-2".into(), "k8s-3".into()]).await?;
//! let plan = rollout_core::plan(&spec, &facts, &FactoryResolver)?;
//! println!("{plan}");
//! let summary = driver.run(plan).await?;
//! assert!(summary.succeeded());
//! # Ok(()) }
//! ```

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
