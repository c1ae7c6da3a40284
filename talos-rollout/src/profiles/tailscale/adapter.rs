//! The [`TailnetPort`] over `tailscale-client`.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use ipnet::IpNet;
use tailscale_client::TailscaleClient;

use rollout_core::{PortError, PortErrorKind};

use super::listing::{DEFAULT_MAX_AGE, DeviceListing};
use super::port::{DeviceObservation, TailnetPort};

/// [`TailnetPort`] over a [`TailscaleClient`]; devices are found by hostname (newest
/// registration wins, `-1` duplicates tolerated) and, optionally, required tags.
///
/// Device checks read one listing of the whole tailnet shared by every check due within
/// [`listing_max_age`](Self::listing_max_age) (clones share it too): the number of listings
/// per second stays bounded however many nodes are checked. Each new listing announces the
/// devices it found changed ([`TailnetPort::changes`]).
#[derive(Debug, Clone)]
pub struct TailnetAdapter {
    client: TailscaleClient,
    tags: Vec<String>,
    listing: DeviceListing,
}

impl TailnetAdapter {
    /// Wraps a tailscale client.
    pub fn new(client: TailscaleClient) -> Self {
        TailnetAdapter {
            client,
            tags: Vec::new(),
            listing: DeviceListing::new(DEFAULT_MAX_AGE),
        }
    }

    /// How old the shared device listing may be when a check reads it (default 250 ms);
    /// keep it well below the rollout's check interval. Zero lists for every check.
    pub fn listing_max_age(mut self, max_age: Duration) -> Self {
        self.listing = DeviceListing::new(max_age);
        self
    }

    /// Only consider devices carrying all these tags (e.g. `tag:talos`).
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }
}

fn port_error(operation: &str, error: tailscale_client::Error) -> PortError {
    let kind = if error.is_retryable() {
        PortErrorKind::Unavailable
    } else if error.is_not_found() {
        PortErrorKind::NotFound
    } else if error.is_permission_denied() {
        PortErrorKind::PermissionDenied
    } else {
        PortErrorKind::Other
    };
    let message = error.to_string();
    PortError::new("tailnet", operation, kind, message).with_source(error)
}

impl TailnetAdapter {
    /// The node's device from the shared listing (at most its max age old).
    async fn listed_device(
        &self,
        hostname: &str,
    ) -> Result<Option<tailscale_client::NodeDevice>, PortError> {
        self.listing
            .find(&self.client, hostname, &self.tags)
            .await
            .map_err(|e| port_error("list devices", e))
    }
}

#[async_trait]
impl TailnetPort for TailnetAdapter {
    async fn device(&self, hostname: &str) -> Result<Option<DeviceObservation>, PortError> {
        let found = self.listed_device(hostname).await?;
        // The listing has every field, the routes included.
        Ok(found.map(|node| DeviceObservation {
            hostname: node.device.hostname.clone(),
            online: node.device.connected_to_control,
            dns_name: node.device.name.trim_end_matches('.').to_owned(),
            addresses: node.device.addresses.clone(),
            advertised_routes: node
                .device
                .advertised_routes
                .iter()
                .map(ToString::to_string)
                .collect(),
            enabled_routes: node
                .device
                .enabled_routes
                .iter()
                .map(ToString::to_string)
                .collect(),
        }))
    }

    fn changes(&self) -> Option<BoxStream<'static, String>> {
        Some(self.listing.changes())
    }

    async fn approve_routes(&self, hostname: &str, routes: &[String]) -> Result<(), PortError> {
        let nets = routes
            .iter()
            .map(|route| {
                route.parse::<IpNet>().map_err(|_| {
                    PortError::new(
                        "tailnet",
                        "approve routes",
                        PortErrorKind::Rejected,
                        format!("{route:?} is not a CIDR"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The device from the shared listing (at most its max age old, as every check
        // sees it): no extra filtered listing per approval.
        let node = self.listed_device(hostname).await?.ok_or_else(|| {
            PortError::new(
                "tailnet",
                "approve routes",
                PortErrorKind::NotFound,
                format!(
                    "no device with hostname {hostname} (and the required tags) in the tailnet"
                ),
            )
        })?;
        match self
            .client
            .routes()
            .approve(node.device.device_id(), &nets)
            .await
        {
            Ok(approval) => {
                // The API's answer is the device's routes now: the next check sees them.
                self.listing
                    .record_routes(node.device.device_id(), &approval.routes)
                    .await;
                Ok(())
            }
            Err(error) => {
                // Unknown what changed: the next check lists the tailnet again.
                self.listing.invalidate().await;
                Err(port_error("approve routes", error))
            }
        }
    }
}
