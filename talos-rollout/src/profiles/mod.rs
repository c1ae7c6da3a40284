//! Ready-made [`ExtensionProfile`](crate::profile::ExtensionProfile)s: Tailscale (the one the
//! SDK exists for), NUT client (a config file with a secret) and iSCSI tools (no config).

pub mod iscsi_tools;
pub mod nut_client;
pub mod tailscale;

pub use iscsi_tools::IscsiToolsProfile;
pub use nut_client::NutClientProfile;
pub use tailscale::TailscaleProfile;
