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

/// How many nodes discovery, final validation and report building read at once.
///
/// Enough to hide each read's round trip at a thousand nodes, few enough that one apid
/// endpoint (every read goes through it) and the Tailscale API's rate limit are not flooded.
pub const MAX_PARALLEL_NODE_READS: usize = 16;
pub use factory::FactoryPort;
pub use kube::{BlockingPod, Cordon, DrainReport, KubePort, NodeReadiness, SkippedPod, Uncordon};
pub(crate) use read_retry::read_retrying;
pub use talos::{ConfigChange, HealthScope, InstallOutcome, NodeChange, TalosPort};
