//! The Tailscale profile: `siderolabs/tailscale` with a per-node `ExtensionServiceConfig`
//! (`TS_AUTHKEY`, `TS_HOSTNAME`, `TS_ROUTES`), a minted, tagged, reusable auth key (or a
//! key-free login: an OAuth client secret or workload identity federation, see
//! [`TailscaleAuth`]), and a post-verify phase that waits for the node's tailnet device,
//! approves its routes and checks them.
//!
//! Start with [`TailscaleProfile`]. [`TailscaleEscBuilder`] refuses configurations
//! Tailscale's `containerboot` or Talos would reject, and returns [`TailscaleWarning`]s for
//! the ones that work but bite later (see `tailscale-api.md` §5–§6 for the facts behind each
//! rule).

mod adapter;
mod auth;
mod builder;
mod cert_sans;
mod checks;
mod connectivity;
mod diagnosis;
mod emergency;
mod health;
mod hostname;
mod listing;
mod port;
mod profile;
mod rotation;
mod warning;

pub use adapter::TailnetAdapter;
pub use auth::{AuthKeyKind, IdentityToken, TailscaleAuth};
pub use builder::{RouteApproval, TailscaleEsc, TailscaleEscBuilder};
pub use cert_sans::{ADD_TAILNET_CERT_SANS, tailnet_cert_sans};
pub use connectivity::{
    ConnectivityProbe, Diagnosis, KUBE_API_OVER_TAILNET, NOT_ON_TAILNET, ProbeOutcome, ProbeReport,
    SERVICE_OVER_TAILNET, TALOS_API_OVER_TAILNET, TailnetPresence, TailnetResolver,
};
pub use emergency::{
    EMERGENCY_KUBECONFIG, EMERGENCY_TALOSCONFIG, EmergencyConfigs, EmergencyNode,
    write_emergency_configs,
};
pub use health::{Health, HealthRound, NodeHealth, check_health, probe_connectivity};
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

/// Checks that `tag` is a Tailscale tag: `tag:` followed by letters, digits, `-` or `_`.
fn validate_tag(tag: &str) -> rollout_core::Result<()> {
    let name = tag.strip_prefix("tag:").unwrap_or_default();
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(invalid(format!(
            "tag {tag:?} is not a Tailscale tag such as tag:k8s (tag: followed by letters, digits, - or _)"
        )))
    }
}
