//! The tailnet port: what the Tailscale profile needs from the tailnet.

use async_trait::async_trait;
use futures::stream::BoxStream;

use rollout_core::PortError;
use serde::{Deserialize, Serialize};

/// The node's tailnet device as the checks see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceObservation {
    /// Device hostname.
    pub hostname: String,
    /// Connected to the control plane now.
    pub online: bool,
    /// Routes the device advertises.
    pub advertised_routes: Vec<String>,
    /// Routes approved (enabled).
    pub enabled_routes: Vec<String>,
    /// The MagicDNS name (`k8s-1.tail1234.ts.net`; empty when unknown).
    #[serde(default)]
    pub dns_name: String,
    /// The tailnet addresses (100.64.0.0/10 and fd7a:115c:a1e0::/48).
    #[serde(default)]
    pub addresses: Vec<String>,
}

/// Reads devices and approves routes in the tailnet.
#[async_trait]
pub trait TailnetPort: Send + Sync {
    /// The newest device with this hostname (None: not registered yet).
    async fn device(&self, hostname: &str) -> Result<Option<DeviceObservation>, PortError>;

    /// Approves routes for the device, merging with those already approved.
    async fn approve_routes(&self, hostname: &str, routes: &[String]) -> Result<(), PortError>;

    /// The lower-case hostnames whose devices changed, as the port's later reads of the
    /// tailnet find them. `None` (the default): the port cannot tell; checks are polled.
    fn changes(&self) -> Option<BoxStream<'static, String>> {
        None
    }
}
