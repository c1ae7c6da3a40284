//! Roll a system extension — first of all Tailscale — onto every node of a running Talos
//! cluster, one node at a time, with verification, resume and rollback.
//!
//! This is the SDK's front door: [`ExtensionRollout`] runs the whole procedure from one
//! builder, an [`ExtensionProfile`](profile::ExtensionProfile) says what is specific to one
//! extension ([`profiles`] has Tailscale, NUT client and iSCSI tools), and every step is
//! decided by the pure core in `rollout-core`, re-exported as [`core`].
//!
//! # Usage
//! ```no_run
//! # async fn seed(talos: talos_client::TalosClient, factory: factory_client::FactoryClient,
//! #     tailscale: tailscale_client::TailscaleClient) -> talos_rollout::Result<()> {
//! use talos_rollout::ExtensionRollout;
//! use talos_rollout::profiles::TailscaleProfile;
//!
//! let profile = TailscaleProfile::new(tailscale).tags(["tag:k8s"]).routes(["10.43.0.0/16"]);
//! let (rollout, _events) = ExtensionRollout::builder()
//!     .talos(talos)
//!     .factory(factory)
//!     .profile(profile)
//!     .cluster("home")
//!     .nodes(["k8s-1", "k8s-2", "k8s-3"])
//!     .build()?;
//! println!("{}", rollout.plan().await?);
//! let summary = rollout.run().await?;
//! println!("{:?}", summary.nodes);
//! # Ok(()) }
//! ```
//!
//! Where to start reading: [`rollout`] (the front door), [`profile`] and [`profiles`],
//! [`driver`] (the async executor), [`ports`] and [`adapters`], [`journal`] and
//! [`patch_store`] (what lands in the artifacts directory), [`report`] (the final
//! validation and `report.json`), [`gitops`] (keeping a talhelper repository in step, the
//! recovery bundle).

pub mod adapters;
pub mod diagnosis;
pub mod driver;
mod error;
pub mod event;
pub mod gitops;
pub mod journal;
mod lease_lock;
pub mod metrics;
pub mod originals;
pub mod patch_store;
pub mod ports;
pub mod profile;
pub mod profiles;
pub mod report;
pub mod rollout;

pub use error::{Error, Result};
pub use event::{Event, RunEvent};
pub use rollout::{Abandoned, ExtensionRollout, ExtensionRolloutBuilder};
pub use rollout_core as core;
