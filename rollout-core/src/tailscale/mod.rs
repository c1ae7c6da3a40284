//! Builds and validates the `ExtensionServiceConfig` for the `siderolabs/tailscale` extension.
//!
//! Start with [`TailscaleEscBuilder`]. The builder refuses configurations Tailscale's
//! `containerboot` or Talos would reject, and returns [`TailscaleWarning`]s for the ones
//! that work but bite later (see `tailscale-api.md` §5–§6 for the facts behind each rule).

mod auth;
mod builder;
mod hostname;
mod warning;

pub use auth::{AuthKeyKind, TailscaleAuth};
pub use builder::{RouteApproval, TailscaleEsc, TailscaleEscBuilder};
pub use hostname::validate_hostname;
pub use warning::TailscaleWarning;

/// The extension service name of the Talos tailscale extension (`ext-tailscale`).
pub const SERVICE_NAME: &str = "tailscale";
