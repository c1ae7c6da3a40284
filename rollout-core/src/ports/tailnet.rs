//! The tailnet port.

use async_trait::async_trait;

use super::PortError;
use crate::gate::DeviceObservation;

/// Reads devices and approves routes in the tailnet.
#[async_trait]
pub trait TailnetPort: Send + Sync {
    /// The newest device with this hostname (None: not registered yet).
    async fn device(&self, hostname: &str) -> Result<Option<DeviceObservation>, PortError>;

    /// Approves routes for the device, merging with those already approved.
    async fn approve_routes(&self, hostname: &str, routes: &[String]) -> Result<(), PortError>;
}
