//! `ServiceList` and `ServiceRestart`.

use crate::client::{NodeClient, machine_api, single};
use crate::error::Error;
use crate::methods;
use crate::proto::machine::ServiceRestartRequest;
use crate::transport::{Failover, request};

/// Health of a service as Talos reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceHealth {
    /// No health check is defined (always true for extension services).
    pub unknown: bool,
    /// The last health check passed.
    pub healthy: bool,
    /// The last health check's message.
    pub last_message: String,
}

/// One service on a node (`ext-tailscale`, `kubelet`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    /// Service id, for example `ext-tailscale`.
    pub id: String,
    /// State name: `Running`, `Waiting`, `Failed`, `Finished`, …
    pub state: String,
    /// Health check result.
    pub health: ServiceHealth,
    /// Recent state changes, oldest first (`state: message`).
    pub events: Vec<String>,
}

impl ServiceStatus {
    /// True when the service runs. Extension services have no health check, so this is
    /// the way to tell they are up.
    pub fn is_running(&self) -> bool {
        self.state == "Running"
    }
}

impl NodeClient {
    /// Every service on the node with its state and health.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] from the node; transport errors.
    pub async fn service_list(&self) -> Result<Vec<ServiceStatus>, Error> {
        let context = self.context(methods::SERVICE_LIST);
        let response = self
            .call(
                &context,
                Failover::OnUnavailable,
                |channel, node| async move {
                    machine_api(channel)
                        .service_list(request((), node.as_ref()))
                        .await
                },
            )
            .await?;
        let list = single(&context, response.messages)?;
        Ok(list
            .services
            .into_iter()
            .map(|service| {
                let health = service.health.unwrap_or_default();
                ServiceStatus {
                    id: service.id,
                    state: service.state,
                    health: ServiceHealth {
                        unknown: health.unknown,
                        healthy: health.healthy,
                        last_message: health.last_message,
                    },
                    events: service
                        .events
                        .map(|events| {
                            events
                                .events
                                .into_iter()
                                .map(|event| format!("{}: {}", event.state, event.msg))
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Restarts the service `id` (for example `ext-tailscale`); returns the node's reply.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] without `os:admin`/`os:operator`; [`Error::Api`] for an
    /// unknown service.
    pub async fn service_restart(&self, id: &str) -> Result<String, Error> {
        let context = self.context(methods::SERVICE_RESTART);
        let message = ServiceRestartRequest { id: id.to_owned() };
        let response = self
            .call(&context, Failover::OnConnectFailure, |channel, node| {
                let message = message.clone();
                async move {
                    machine_api(channel)
                        .service_restart(request(message, node.as_ref()))
                        .await
                }
            })
            .await?;
        Ok(single(&context, response.messages)?.resp)
    }
}
