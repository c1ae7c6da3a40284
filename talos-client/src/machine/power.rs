//! `Reboot` and `Rollback`.

use crate::client::{NodeClient, machine_api, single};
use crate::error::Error;
use crate::methods;
use crate::proto::machine::{RebootRequest, RollbackRequest, reboot_request::Mode};
use crate::transport::{Failover, request};

/// How a node reboots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RebootMode {
    /// Orderly reboot (kexec when enabled).
    #[default]
    Default,
    /// Full power cycle, skipping kexec.
    Powercycle,
    /// Skip graceful shutdown steps (Talos 1.11+).
    Force,
}

impl RebootMode {
    fn to_wire(self) -> Mode {
        match self {
            Self::Default => Mode::Default,
            Self::Powercycle => Mode::Powercycle,
            Self::Force => Mode::Force,
        }
    }
}

impl NodeClient {
    /// Reboots the node; returns the actor id that tags the reboot's events.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] without `os:admin`/`os:operator`; [`Error::Api`].
    pub async fn reboot(&self, mode: RebootMode) -> Result<String, Error> {
        let context = self.context(methods::REBOOT);
        let message = RebootRequest {
            mode: mode.to_wire().into(),
        };
        let response = self
            .call(
                &context,
                Failover::OnConnectFailure,
                |channel, node| async move {
                    machine_api(channel)
                        .reboot(request(message, node.as_ref()))
                        .await
                },
            )
            .await?;
        Ok(single(&context, response.messages)?.actor_id)
    }

    /// Reverts the bootloader to the previous boot entry and reboots. There is no actor
    /// id: track the reboot by boot ID and machine status.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] without `os:admin`; [`Error::Api`] when there is no
    /// previous entry.
    pub async fn rollback(&self) -> Result<(), Error> {
        let context = self.context(methods::ROLLBACK);
        self.call(
            &context,
            Failover::OnConnectFailure,
            |channel, node| async move {
                machine_api(channel)
                    .rollback(request(RollbackRequest {}, node.as_ref()))
                    .await
            },
        )
        .await?;
        Ok(())
    }
}
