//! The tailnet port: what the Tailscale profile needs from the tailnet.

use async_trait::async_trait;

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
}

/// Reads devices and approves routes in the tailnet.
#[async_trait]
pub trait TailnetPort: Send + Sync {
    /// The newest device with this hostname (None: not registered yet).
    async fn device(&self, hostname: &str) -> Result<Option<DeviceObservation>, PortError>;

    /// Approves routes for the device, merging with those already approved.
    async fn approve_routes(&self, hostname: &str, routes: &[String]) -> Result<(), PortError>;
}
