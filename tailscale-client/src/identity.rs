//! Which tailnet device is a given node: lookup by hostname and tags, `-1` name
//! collisions, stale duplicates, waiting for the node to come online.

use std::time::Duration;

use crate::client::TailscaleClient;
use crate::devices::Device;
use crate::error::Result;
use crate::poll::{Check, Wait};

/// First wait between two polls of [`NodeDeviceQuery::wait_for_online`].
const FIRST_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Longest wait between two polls.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(15);

/// The device found for a node, with what else shares its hostname.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NodeDevice {
    /// The newest device with the node's hostname and all the requested tags.
    pub device: Device,
    /// Every other device with the same hostname (old registrations, other tags).
    pub duplicates: Vec<Device>,
}

impl NodeDevice {
    /// The `N` of a `<hostname>-N` MagicDNS name: the control plane renamed this device
    /// because the name was taken, usually by a stale copy of the same node.
    pub fn name_collision_suffix(&self) -> Option<u32> {
        collision_suffix(&self.device)
    }

    /// Duplicates that are not connected: candidates for deletion, after which the device
    /// can be renamed back to its hostname.
    pub fn stale_duplicates(&self) -> impl Iterator<Item = &Device> {
        self.duplicates.iter().filter(|d| !d.connected_to_control)
    }
}

/// The MagicDNS label the control plane derives from a hostname: lower case, characters
/// other than letters and digits become `-`.
///
/// # Usage
/// ```
/// assert_eq!(tailscale_client::dns_label("K8s_1"), "k8s-1");
/// ```
pub fn dns_label(hostname: &str) -> String {
    hostname
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn collision_suffix(device: &Device) -> Option<u32> {
    let label = dns_label(&device.hostname);
    let rest = device.short_name().strip_prefix(label.as_str())?;
    let digits = rest.strip_prefix('-')?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Picks the node's device from devices listed by hostname: exact hostname, all `tags`,
/// newest `created` (devices without a creation time count as oldest).
pub fn select_node_device(
    hostname: &str,
    tags: &[String],
    devices: Vec<Device>,
) -> Option<NodeDevice> {
    let mut same_host: Vec<Device> = devices
        .into_iter()
        .filter(|d| d.hostname.eq_ignore_ascii_case(hostname))
        .collect();
    let best = same_host
        .iter()
        .enumerate()
        .filter(|(_, d)| d.has_tags(tags))
        .max_by_key(|(_, d)| d.created)
        .map(|(i, _)| i)?;
    let device = same_host.remove(best);
    Some(NodeDevice {
        device,
        duplicates: same_host,
    })
}

/// Lookup of a node's device; from [`TailscaleClient::node_device`].
#[derive(Debug)]
#[must_use = "nothing is looked up until `.find()` or `.wait_for_online()`"]
pub struct NodeDeviceQuery<'c> {
    client: &'c TailscaleClient,
    hostname: String,
    tags: Vec<String>,
}

impl TailscaleClient {
    /// Looks up the device of the node with `hostname`.
    ///
    /// # Usage
    /// ```no_run
    /// # async fn demo(client: tailscale_client::TailscaleClient) -> Result<(), tailscale_client::Error> {
    /// use std::time::Duration;
    /// let node = client
    ///     .node_device("talos-cp-1")
    ///     .tags(["tag:talos"])
    ///     .wait_for_online(Duration::from_secs(300))
    ///     .await?;
    /// if let Some(n) = node.name_collision_suffix() {
    ///     println!("renamed to -{n}; stale copies: {}", node.stale_duplicates().count());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn node_device(&self, hostname: impl Into<String>) -> NodeDeviceQuery<'_> {
        NodeDeviceQuery {
            client: self,
            hostname: hostname.into(),
            tags: Vec::new(),
        }
    }
}

impl NodeDeviceQuery<'_> {
    /// Require these tags on the device.
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Finds the node's device now, if there is one.
    ///
    /// # Errors
    /// API errors.
    pub async fn find(&self) -> Result<Option<NodeDevice>> {
        let devices = self
            .client
            .devices()
            .list()
            .hostname(self.hostname.clone())
            .send()
            .await?;
        Ok(select_node_device(&self.hostname, &self.tags, devices))
    }

    /// Cleans up after a re-registration: deletes the stale (not connected) duplicates of
    /// `node` and, if the device got a `<hostname>-N` name because of them and no
    /// connected duplicate remains, renames it back to its hostname. Connected duplicates
    /// are left alone: another live machine uses the hostname. Returns how many devices
    /// were deleted; call [`NodeDeviceQuery::find`] again for the new state.
    ///
    /// # Errors
    /// API errors; deletions already made stay made (deleting again is harmless).
    pub async fn remove_stale_duplicates(&self, node: &NodeDevice) -> Result<usize> {
        let devices = self.client.devices();
        let mut deleted = 0;
        for stale in node.stale_duplicates() {
            tracing::debug!(device = stale.device_id(), name = %stale.name, "deleting stale duplicate");
            devices.delete(stale.device_id()).await?;
            deleted += 1;
        }
        let live_duplicate = node.duplicates.iter().any(|d| d.connected_to_control);
        if node.name_collision_suffix().is_some() && !live_duplicate {
            devices
                .rename(node.device.device_id(), &dns_label(&node.device.hostname))
                .await?;
        }
        Ok(deleted)
    }

    /// Polls until the node's device is connected to the control plane, backing off from
    /// 2 s to 15 s between polls.
    ///
    /// # Errors
    /// [`Error::Timeout`](crate::Error::Timeout) with the last state seen when `timeout`
    /// passes (a poll the API leaves unanswered is abandoned at most 2 s later); API errors
    /// that are not retryable end the wait at once.
    pub async fn wait_for_online(&self, timeout: Duration) -> Result<NodeDevice> {
        let wait = Wait {
            what: format!("node {} to come online on the tailnet", self.hostname),
            timeout,
            first_interval: FIRST_POLL_INTERVAL,
            max_interval: MAX_POLL_INTERVAL,
            bound_polls: self.client.inner.bound_polls,
        };
        wait.until(|| async {
            Ok(match self.find().await? {
                Some(node) if node.device.connected_to_control => Check::Done(node),
                Some(node) => Check::NotYet(format!(
                    "device {} ({}) is not connected",
                    node.device.device_id(),
                    node.device.name
                )),
                None => Check::NotYet(format!(
                    "no device with hostname {} and tags {:?}",
                    self.hostname, self.tags
                )),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use time::macros::datetime;

    fn device(
        node_id: &str,
        name: &str,
        tags: &[&str],
        created: Option<time::OffsetDateTime>,
    ) -> Device {
        Device {
            node_id: node_id.to_owned(),
            hostname: "talos-cp-1".to_owned(),
            name: format!("{name}.tail1234.ts.net"),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            created,
            ..Device::default()
        }
    }

    #[test]
    fn newest_tagged_device_wins_and_the_rest_are_duplicates() {
        let old = device(
            "nOld",
            "talos-cp-1",
            &["tag:talos"],
            Some(datetime!(2026-01-01 0:00 UTC)),
        );
        let new = device(
            "nNew",
            "talos-cp-1-1",
            &["tag:talos"],
            Some(datetime!(2026-02-01 0:00 UTC)),
        );
        let untagged = device(
            "nUntagged",
            "talos-cp-1-2",
            &[],
            Some(datetime!(2026-03-01 0:00 UTC)),
        );
        let node = select_node_device(
            "talos-cp-1",
            &["tag:talos".to_owned()],
            vec![old, new, untagged],
        )
        .unwrap();
        assert_eq!(node.device.node_id, "nNew");
        assert_eq!(node.name_collision_suffix(), Some(1));
        assert_eq!(node.stale_duplicates().count(), 2);
    }

    #[test]
    fn a_hostname_with_a_digit_suffix_is_not_a_collision() {
        let mut d = device("n1", "worker-10", &[], None);
        d.hostname = "worker-10".to_owned();
        let node = select_node_device("worker-10", &[], vec![d]).unwrap();
        assert_eq!(node.name_collision_suffix(), None);
    }

    #[test]
    fn other_hostnames_are_ignored() {
        let mut d = device("n1", "other", &[], None);
        d.hostname = "other".to_owned();
        assert!(select_node_device("talos-cp-1", &[], vec![d]).is_none());
    }
}
