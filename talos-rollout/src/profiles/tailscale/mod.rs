//! The Tailscale profile: `siderolabs/tailscale` with a per-node `ExtensionServiceConfig`
//! (`TS_AUTHKEY`, `TS_HOSTNAME`, `TS_ROUTES`), a minted, tagged, reusable auth key, and a
//! post-verify phase that waits for the node's tailnet device, approves its routes and
//! checks them.
//!
//! Start with [`TailscaleProfile`]. [`TailscaleEscBuilder`] refuses configurations
//! Tailscale's `containerboot` or Talos would reject, and returns [`TailscaleWarning`]s for
//! the ones that work but bite later (see `tailscale-api.md` §5–§6 for the facts behind each
//! rule).

mod adapter;
mod auth;
mod builder;
mod checks;
mod diagnosis;
mod health;
mod hostname;
mod listing;
mod port;
mod profile;
mod rotation;
mod warning;

pub use adapter::TailnetAdapter;
pub use auth::{AuthKeyKind, TailscaleAuth};
pub use builder::{RouteApproval, TailscaleEsc, TailscaleEscBuilder};
pub use health::{Health, HealthRound, NodeHealth, check_health};
pub use hostname::validate_hostname;
pub use port::{DeviceObservation, TailnetPort};
pub use profile::TailscaleProfile;
pub use rotation::{KeyRotation, NodeRotation, RotationReport};
pub use warning::TailscaleWarning;

/// The extension service name of the Talos tailscale extension (`ext-tailscale`).
pub const SERVICE_NAME: &str = "tailscale";

/// The official extension.
pub const EXTENSION: &str = "siderolabs/tailscale";

/// An invalid-configuration error of this profile.
fn invalid(reason: impl Into<String>) -> rollout_core::Error {
    rollout_core::Error::extension_config(SERVICE_NAME, reason)
}
