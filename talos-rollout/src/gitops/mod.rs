//! GitOps: keep a talhelper repository in step with the rollout, so that the next
//! `talhelper genconfig` + apply does not undo the extension.
//!
//! - [`Repository`] finds `talconfig.yaml` (home-ops layout `talos/` or the directory itself)
//!   and its `talenv.yaml`.
//! - [`sync`] writes each node's `ExtensionServiceConfig` as
//!   `talos/patches/<node>/<extension>-extension.yaml` (0600; secrets as `${TS_AUTHKEY}`
//!   env references — also a profile's secrets inside config files, `${NUT_PASSWORD}` —
//!   unless [`Secrets::Inline`]), references it from the node's `patches`
//!   — or adds a talhelper `extensionServices` entry when the file already uses that field,
//!   never both for one node — points `talosImageURL` at the new schematic (or adds the
//!   extensions to the `schematic:` block), and updates `talosVersion` in `talenv.yaml` (or
//!   talconfig). Edits are text splices through `sdk_support::yaml_text`, verified by
//!   re-parsing: comments, ordering and quoting survive, and a second run changes nothing.
//! - [`check`] compares the repository with the live nodes ([`DriftReport`]).
//! - [`recovery`] writes the recovery bundle (schematic ID, installers, RUNBOOK.md) that
//!   every rollout leaves in its artifacts.
//!
//! # Usage
//! ```no_run
//! # fn after(store: talos_rollout::patch_store::PatchStore, plan: talos_rollout::core::Plan,
//! #     summary: talos_rollout::core::machine::Summary) -> talos_rollout::Result<()> {
//! use talos_rollout::gitops::{Repository, SyncOptions, sync_after_rollout};
//!
//! let repo = Repository::open("home-ops")?;
//! let report = sync_after_rollout(&repo, &store, &plan, &summary, &SyncOptions::default())?;
//! for variable in &report.env_references {
//!     println!("define {variable} in talos/talenv.sops.yaml");
//! }
//! # Ok(()) }
//! ```

mod drift;
mod expected;
mod patch_file;
pub mod recovery;
mod repository;
mod secret_refs;
mod sync;
mod talconfig;
mod talenv;
mod target;

pub use drift::{Difference, DriftReport, NodeDrift, check, public_digest};
pub use expected::{Expectation, expectations};
pub use patch_file::Secrets;
pub use repository::{Repository, Snapshot, TALCONFIG, TALENV};
pub use sync::{SyncOptions, SyncReport, sync, sync_after_rollout};
pub use target::NodeTarget;
