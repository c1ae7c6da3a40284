//! Port adapters over the workspace's clients: [`TalosAdapter`] (talos-client),
//! [`FactoryAdapter`] and [`FactoryResolver`] (factory-client), [`kube::KubeAdapter`]
//! (kube-rs). The tailnet adapter lives with the Tailscale profile.

mod factory;
pub mod kube;
pub(crate) mod talos;

pub use factory::{FactoryAdapter, FactoryResolver};
pub use talos::TalosAdapter;
