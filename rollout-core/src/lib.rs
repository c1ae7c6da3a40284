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
//! `spec` ← `plan`, `gate` ← `machine`.
//!
//! # Usage
//! ```
//! use std::collections::BTreeMap;
//! use std::time::Instant;
//! use rollout_core::plan::{NodeAction, ResolvedSchematic, SchematicRequest, SchematicResolver};
//! use rollout_core::{ClusterFacts, ExtensionRequest, NodeFacts, NodeRole, Rollout, RolloutSpec};
//!
//! // A real resolver computes the Image Factory's schematic ID offline (talos-rollout's
//! // `FactoryResolver`); this one names the schematic after its extensions.
//! struct FixedResolver;
//! impl SchematicResolver for FixedResolver {
//!     fn resolve(&self, request: &SchematicRequest<'_>) -> rollout_core::Result<ResolvedSchematic> {
//!         let SchematicRequest::Extend { current_extensions, add, .. } = request else { unreachable!() };
//!         let extensions: Vec<String> = current_extensions.iter().chain(add.iter()).cloned().collect();
//!         Ok(ResolvedSchematic { id: extensions.join("+"), yaml: String::new(), extensions })
//!     }
//!     # fn installer_image(&self, host: &str, platform: &str, _: bool, id: &str,
//!     #     version: &rollout_core::version::TalosVersion) -> rollout_core::Result<String> {
//!     #     Ok(format!("{host}/{platform}-installer/{id}:{version}"))
//!     # }
//! }
//!
//! let node = NodeFacts {
//!     node: "k8s-1".into(),
//!     nodename: "k8s-1".into(),
//!     role: NodeRole::ControlPlane,
//!     etcd_leader: true,
//!     version: "v1.10.4".into(),
//!     schematic_id: None,
//!     extensions: vec![],
//!     schematic_extensions: Some(vec![]),
//!     schematic_yaml: None,
//!     install_image: Some("ghcr.io/siderolabs/installer:v1.10.4".into()),
//!     extension_service_configs: BTreeMap::new(),
//!     boot_id: Some("boot-1".into()),
//! };
//! let facts = ClusterFacts { cluster: "home".into(), nodes: vec![node] };
//! let request = ExtensionRequest {
//!     profile: "iscsi-tools".into(),
//!     extensions: vec!["siderolabs/iscsi-tools".into()],
//!     ..ExtensionRequest::default()
//! };
//! let planned = rollout_core::plan(&RolloutSpec::default(), &facts, &FixedResolver, &request)?;
//! assert_eq!(planned.plan.nodes[0].action, NodeAction::Upgrade);
//!
//! // The machine says what to do next; a driver performs it and reports back.
//! let mut rollout = Rollout::new(planned.plan, Default::default(), Instant::now());
//! assert!(rollout.poll_action(Instant::now()).is_some());
//! # Ok::<(), rollout_core::Error>(())
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
