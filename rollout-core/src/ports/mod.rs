//! Ports: the traits the driver performs actions through, in rollout-core's own types.
//! Adapters over talos-client, factory-client and tailscale-client implement them.

mod clock;
mod error;
mod factory;
mod kube;
mod tailnet;
mod talos;

pub use clock::{Clock, TokioClock};
pub use error::{PortError, PortErrorKind};
pub use factory::FactoryPort;
pub use kube::KubePort;
pub use tailnet::TailnetPort;
pub use talos::{ConfigChange, InstallOutcome, TalosPort};
