//! Port adapters over the workspace's clients: [`TalosAdapter`] (talos-client),
//! [`FactoryAdapter`] and [`FactoryResolver`] (factory-client). The tailnet adapter lives
//! with the Tailscale profile.

mod factory;
mod talos;

pub use factory::{FactoryAdapter, FactoryResolver};
pub use talos::TalosAdapter;
