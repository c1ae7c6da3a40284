//! When a gate is checked.

use serde::{Deserialize, Serialize};

/// When a gate is checked; the driver builds the concrete gate for a (node, stage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStage {
    /// Before touching a node: cluster health (through another control-plane node), etcd, user gates.
    Precheck,
    /// After the reboot: version, schematic, extension, ESC applied, service, ip_forward, node Ready.
    Verify,
    /// The profile's post-verify check step with this index
    /// ([`crate::extension::PostVerifyStep::Check`]).
    PostVerify(u8),
    /// At the end of the soak time: verify again, plus user soak gates.
    Soak,
    /// After a rollback: the original version and schematic run, machine ready.
    RollbackVerify,
}
