//! Tailscale admin API v2 client: auth keys, devices, subnet routes, policy file, OAuth client credentials.
//!
//! Start with [`TailscaleClient::builder`]. Each area of the API is a small handle
//! borrowed from the client: [`TailscaleClient::keys`], [`TailscaleClient::devices`],
//! [`TailscaleClient::routes`], [`TailscaleClient::policy`], and the node lookup
//! [`TailscaleClient::node_device`].
//!
//! Behaviour shared by every call:
//! - Authentication with an API access token or OAuth client credentials; OAuth access
//!   tokens are cached, refreshed shortly before they expire (one refresh at a time), and
//!   refreshed once more if the API rejects them.
//! - 429 and 5xx answers are retried with capped exponential backoff and jitter, honouring
//!   `Retry-After` (see [`Backoff`], the SDK's one retry policy).
//! - Errors are typed ([`Error`]); 401/403 name the OAuth scope the operation needs.
//! - Deleting something that is already gone (404) succeeds with [`Deleted::AlreadyGone`].
//!
//! # Usage
//! ```no_run
//! use tailscale_client::{Credentials, TailscaleClient};
//! # async fn demo() -> Result<(), tailscale_client::Error> {
//! let client = TailscaleClient::builder()
//!     .credentials(Credentials::oauth("client-id", "tskey-client-...", ["auth_keys", "devices:core", "devices:routes"]))
//!     .build()?;
//! let node = client.node_device("talos-cp-1").tags(["tag:talos"]).find().await?;
//! if let Some(node) = node {
//!     let cidr = "10.96.0.0/12".parse().expect("valid cidr");
//!     client.routes().approve(node.device.device_id(), &[cidr]).await?;
//! }
//! # Ok(()) }
//! ```

mod auth;
mod client;
mod credentials;
mod devices;
mod error;
mod identity;
mod keys;
mod lenient_time;
mod nullable;
pub mod policy;
mod poll;
mod routes;
mod tags;
mod transport;

pub use client::{
    DEFAULT_BASE_URL, DEFAULT_TAILNET, DEFAULT_TIMEOUT, TailscaleClient, TailscaleClientBuilder,
};
pub use credentials::{Credentials, ENV_API_KEY, ENV_OAUTH_CLIENT_ID, ENV_OAUTH_CLIENT_SECRET};
pub use devices::{ClientConnectivity, DerpLatency, Device, Devices, Distro, ListDevices};
pub use error::{ApiFinding, Error, Result};
pub use identity::{NodeDevice, NodeDeviceQuery, dns_label, select_node_device};
pub use keys::{
    AuthKey, CreateAuthKey, CreatedAuthKey, Deleted, DeviceCapabilities, DeviceCreateCapabilities,
    KeyCapabilities, Keys, MAX_AUTH_KEY_EXPIRY, MAX_DESCRIPTION_LEN,
};
pub use policy::{Modified, Policy, PolicyFile, PolicyFormat, PolicyValidation};
pub use routes::{DeviceRoutes, RouteApproval, Routes, plan_approval, plan_revocation};
pub use sdk_support::backoff::Backoff;

pub use ipnet::IpNet;
pub use secrecy::{ExposeSecret, SecretString};
pub use tags::validate_tag;
