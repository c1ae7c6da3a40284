//! [`DeviceListing`]: one device listing of the tailnet shared by every check due within a
//! short window, so that checking n nodes costs a bounded number of listings per second
//! instead of one (server-side filtered) listing per node and check. Each new listing
//! announces the hostnames whose devices it found changed, so that a node waiting for its
//! device is checked as soon as any check's listing shows it, not at its own next poll.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use tailscale_client::{Device, DeviceRoutes, NodeDevice, TailscaleClient, select_node_device};
use tokio::sync::{Mutex, broadcast};
use tokio::time::Instant;

/// How old a shared listing may be when a check reads it (the default).
///
/// Far below any sensible check interval (the adaptive schedule's fastest re-check at a 1 s
/// interval is 125 ms), so a check never sees the tailnet older than it would have
/// without sharing; long enough that the checks of a hundred nodes in flight cost a few
/// listings per second.
pub(crate) const DEFAULT_MAX_AGE: Duration = Duration::from_millis(250);

/// How many announced hostnames a slow reader may fall behind by; it then misses some
/// (its checks still poll) rather than holding memory.
const CHANGES_BACKLOG: usize = 4096;

/// Every device of the tailnet, by lower-case hostname.
type ByHostname = HashMap<String, Vec<Device>>;

#[derive(Debug)]
struct Listed {
    at: Instant,
    devices: Arc<ByHostname>,
}

/// A shared, briefly kept listing of all devices.
#[derive(Debug, Clone)]
pub(crate) struct DeviceListing {
    max_age: Duration,
    /// One listing at a time: checks arriving while it runs wait for it and share it.
    listed: Arc<Mutex<Option<Listed>>>,
    /// Lower-case hostnames whose devices a new listing found changed.
    changes: broadcast::Sender<String>,
}

impl DeviceListing {
    pub(crate) fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            listed: Arc::new(Mutex::new(None)),
            changes: broadcast::channel(CHANGES_BACKLOG).0,
        }
    }

    /// The lower-case hostnames whose devices each later listing found different from the
    /// listing before it (new, changed or gone). A reader that falls too far behind skips
    /// what it missed.
    pub(crate) fn changes(&self) -> BoxStream<'static, String> {
        stream::unfold(self.changes.subscribe(), |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(hostname) => return Some((hostname, receiver)),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    }

    /// The node's device (newest registration with all `tags` wins) from a listing at most
    /// `max_age` old, listing the tailnet again when it is older.
    pub(crate) async fn find(
        &self,
        client: &TailscaleClient,
        hostname: &str,
        tags: &[String],
    ) -> tailscale_client::Result<Option<NodeDevice>> {
        let devices = self.devices(client).await?;
        let same_host = devices
            .get(&hostname.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default();
        Ok(select_node_device(hostname, tags, same_host))
    }

    /// Forgets the listing (after a change of ours the next check must see it).
    pub(crate) async fn invalidate(&self) {
        *self.listed.lock().await = None;
    }

    /// Writes a device's routes, as the API answered a change of ours, into the kept
    /// listing (its age unchanged), so the next check sees the change without listing the
    /// whole tailnet again. Without a kept listing there is nothing to update.
    pub(crate) async fn record_routes(&self, device_id: &str, routes: &DeviceRoutes) {
        let mut listed = self.listed.lock().await;
        let Some(listing) = listed.as_mut() else {
            return;
        };
        let devices = Arc::make_mut(&mut listing.devices);
        for device in devices.values_mut().flatten() {
            if device.device_id() == device_id {
                device
                    .advertised_routes
                    .clone_from(&routes.advertised_routes);
                device.enabled_routes.clone_from(&routes.enabled_routes);
            }
        }
    }

    /// Sends every hostname whose devices differ between the two listings (when anyone
    /// reads the changes).
    fn announce_changes(&self, before: &ByHostname, now: &ByHostname) {
        if self.changes.receiver_count() == 0 {
            return;
        }
        let changed = now
            .iter()
            .filter(|(hostname, devices)| before.get(*hostname) != Some(*devices))
            .map(|(hostname, _)| hostname);
        let gone = before
            .keys()
            .filter(|hostname| !now.contains_key(*hostname));
        for hostname in changed.chain(gone) {
            // No receiver left: nobody waits for changes any more.
            let _ = self.changes.send(hostname.clone());
        }
    }

    async fn devices(&self, client: &TailscaleClient) -> tailscale_client::Result<Arc<ByHostname>> {
        let mut listed = self.listed.lock().await;
        if let Some(listing) = listed.as_ref().filter(|l| l.at.elapsed() <= self.max_age) {
            return Ok(listing.devices.clone());
        }
        let started = Instant::now();
        let mut by_hostname = ByHostname::new();
        for device in client.devices().list().send().await? {
            by_hostname
                .entry(device.hostname.to_ascii_lowercase())
                .or_default()
                .push(device);
        }
        if let Some(previous) = listed.as_ref() {
            self.announce_changes(&previous.devices, &by_hostname);
        }
        let devices = Arc::new(by_hostname);
        // Aged from when the listing was asked for: the tailnet may have changed during it.
        *listed = Some(Listed {
            at: started,
            devices: devices.clone(),
        });
        Ok(devices)
    }
}
