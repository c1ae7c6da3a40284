//! Port adapters over the workspace's clients: [`TalosAdapter`] (talos-client),
//! [`FactoryAdapter`] and [`FactoryResolver`] (factory-client), [`TailnetAdapter`]
//! (tailscale-client).

mod factory;
mod tailnet;
mod talos;

pub use factory::{FactoryAdapter, FactoryResolver};
pub use tailnet::TailnetAdapter;
pub use talos::TalosAdapter;
