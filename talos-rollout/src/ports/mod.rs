//! Ports: the traits the driver performs actions through, in rollout-core's own types
//! (failures are [`rollout_core::PortError`]). The adapters over talos-client and
//! factory-client implement them; a profile brings the ports it needs itself (the tailnet
//! port lives with the Tailscale profile).

mod clock;
mod factory;
mod kube;
mod read_retry;
mod talos;

pub use clock::{Clock, TokioClock};
pub use factory::FactoryPort;
pub use kube::{BlockingPod, Cordon, DrainReport, KubePort, NodeReadiness, SkippedPod, Uncordon};
pub(crate) use read_retry::read_retrying;
pub use talos::{ConfigChange, InstallOutcome, TalosPort};
