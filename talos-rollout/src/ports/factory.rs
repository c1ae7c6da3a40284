//! The Image Factory port.

use async_trait::async_trait;

use rollout_core::PortError;

/// Registers schematics with the Image Factory.
#[async_trait]
pub trait FactoryPort: Send + Sync {
    /// Registers a schematic (idempotent) and returns the factory's ID for it.
    async fn ensure_schematic(&self, yaml: &str) -> Result<String, PortError>;
}
