//! `MachineStatuses.runtime.talos.dev`: the machine's stage and readiness.

use super::{Resource, resource_kind};
use crate::client::NodeClient;
use crate::error::Error;
use crate::machine::MachineStage;
use crate::proto::talos::resource::definitions::runtime::MachineStatusSpec;

resource_kind!(
    /// The machine's lifecycle stage and readiness (id `machine`).
    MachineStatus,
    "MachineStatuses.runtime.talos.dev",
    "runtime",
    MachineStatusSpec
);

impl Resource<MachineStatus> {
    /// The lifecycle stage.
    pub fn stage(&self) -> MachineStage {
        MachineStage::from_wire(self.spec.stage)
    }

    /// True when every readiness condition is met.
    pub fn is_ready(&self) -> bool {
        self.spec.status.as_ref().is_some_and(|status| status.ready)
    }

    /// The unmet readiness conditions, as `name: reason`.
    pub fn unmet_conditions(&self) -> Vec<String> {
        self.spec
            .status
            .as_ref()
            .map(|status| {
                status
                    .unmet_conditions
                    .iter()
                    .map(|condition| format!("{}: {}", condition.name, condition.reason))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl NodeClient {
    /// The machine's status (stage and readiness).
    ///
    /// # Errors
    ///
    /// As [`NodeClient::get`]; [`Error::Protocol`] when the node has no `machine` status.
    pub async fn machine_status(&self) -> Result<Resource<MachineStatus>, Error> {
        self.get::<MachineStatus>("machine").await?.ok_or_else(|| {
            self.context(crate::methods::RESOURCE_GET)
                .protocol_error("the node reports no MachineStatuses/machine resource")
        })
    }
}
