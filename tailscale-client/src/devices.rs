//! Devices: list (all fields, server-side filters), get, delete, authorize, tags, key
//! expiry, rename.

use std::collections::BTreeMap;

use ipnet::IpNet;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::client::TailscaleClient;
use crate::error::Result;
use crate::keys::Deleted;
use crate::transport::{ApiRequest, Endpoint};

const LIST: Endpoint = Endpoint {
    operation: "list devices",
    scope: "devices:core:read",
};
const GET: Endpoint = Endpoint {
    operation: "get device",
    scope: "devices:core:read",
};
const DELETE: Endpoint = Endpoint {
    operation: "delete device",
    scope: "devices:core",
};
const AUTHORIZE: Endpoint = Endpoint {
    operation: "authorize device",
    scope: "devices:core",
};
const SET_TAGS: Endpoint = Endpoint {
    operation: "set device tags",
    scope: "devices:core",
};
const SET_KEY_EXPIRY: Endpoint = Endpoint {
    operation: "set device key expiry",
    scope: "devices:core",
};
const RENAME: Endpoint = Endpoint {
    operation: "rename device",
    scope: "devices:core",
};

/// A device (node) of the tailnet, decoded leniently.
///
/// Fields the API sends only with `fields=all` (routes, connectivity, ...) are empty or
/// `None` otherwise; this client always asks for all fields. Timestamps that are `""` or
/// Go's zero time decode to `None`; `last_seen` is absent while the device is connected.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Device {
    /// Legacy numeric id, as a string.
    pub id: String,
    /// Preferred id, e.g. `n5SUKe8CNTRL`; use it to address the device.
    pub node_id: String,
    /// MagicDNS name, e.g. `talos-cp-1.tail1234.ts.net` (gets `-1` on a collision).
    pub name: String,
    /// The machine's own hostname.
    pub hostname: String,
    /// Login name of the user who registered it.
    pub user: String,
    /// Operating system.
    pub os: String,
    /// Tailscale client version (`""` for external devices).
    pub client_version: String,
    /// Tailscale IPv4 and IPv6 addresses.
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub addresses: Vec<String>,
    /// ACL tags.
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub tags: Vec<String>,
    /// Whether the device is authorized.
    pub authorized: bool,
    /// Whether the device is connected to the control plane right now.
    pub connected_to_control: bool,
    /// Whether the device is ephemeral.
    pub is_ephemeral: bool,
    /// Whether the device is shared in from another tailnet.
    pub is_external: bool,
    /// Whether node key expiry is disabled.
    pub key_expiry_disabled: bool,
    /// Whether a client update is available.
    pub update_available: bool,
    /// Whether the device refuses incoming connections.
    pub blocks_incoming_connections: bool,
    /// When the device joined the tailnet (`None` when the API sent `""`).
    #[serde(with = "crate::lenient_time")]
    pub created: Option<OffsetDateTime>,
    /// Last contact; `None` while connected or never seen.
    #[serde(with = "crate::lenient_time")]
    pub last_seen: Option<OffsetDateTime>,
    /// Node key expiry (`None` for the zero time).
    #[serde(with = "crate::lenient_time")]
    pub expires: Option<OffsetDateTime>,
    /// Machine key (`""` for external devices).
    pub machine_key: String,
    /// Node key.
    pub node_key: String,
    /// Subnet routes the device advertises (`fields=all`).
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub advertised_routes: Vec<IpNet>,
    /// Subnet routes approved for the device (`fields=all`).
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub enabled_routes: Vec<IpNet>,
    /// Whether Tailscale SSH is enabled (`fields=all`).
    pub ssh_enabled: Option<bool>,
    /// Linux distribution (`fields=all`).
    pub distro: Option<Distro>,
    /// Network connectivity report (`fields=all`).
    pub client_connectivity: Option<ClientConnectivity>,
    /// Whether several nodes share this identity (present only when true).
    pub multiple_connections: bool,
}

impl Device {
    /// The id to address this device with: `nodeId`, or the legacy id if that is empty.
    pub fn device_id(&self) -> &str {
        if self.node_id.is_empty() {
            &self.id
        } else {
            &self.node_id
        }
    }

    /// The first label of the MagicDNS name, e.g. `talos-cp-1-1`.
    pub fn short_name(&self) -> &str {
        self.name.split('.').next().unwrap_or_default()
    }

    /// True when the device carries every tag in `tags`.
    pub fn has_tags<S: AsRef<str>>(&self, tags: &[S]) -> bool {
        tags.iter()
            .all(|t| self.tags.iter().any(|have| have == t.as_ref()))
    }
}

/// `distro` of a device.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Distro {
    /// Distribution name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Code name.
    pub code_name: String,
}

/// `clientConnectivity` of a device.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ClientConnectivity {
    /// Public endpoints (`ip:port`).
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub endpoints: Vec<String>,
    /// Whether NAT mapping depends on the destination.
    #[serde(rename = "mappingVariesByDestIP")]
    pub mapping_varies_by_dest_ip: Option<bool>,
    /// Latency per DERP region.
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub latency: BTreeMap<String, DerpLatency>,
    /// Feature support; each member may be `null` (unknown).
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub client_supports: BTreeMap<String, Option<bool>>,
}

/// Latency to one DERP region.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct DerpLatency {
    /// Whether this is the preferred region.
    pub preferred: bool,
    /// Latency in milliseconds.
    pub latency_ms: f64,
}

/// Device operations; from [`TailscaleClient::devices`].
#[derive(Debug, Clone, Copy)]
pub struct Devices<'c> {
    client: &'c TailscaleClient,
}

impl TailscaleClient {
    /// Device operations.
    pub fn devices(&self) -> Devices<'_> {
        Devices { client: self }
    }
}

fn device_path(device_id: &str, rest: &[&str]) -> Vec<String> {
    let mut path = vec!["device".to_owned(), device_id.to_owned()];
    path.extend(rest.iter().map(|s| (*s).to_owned()));
    path
}

impl<'c> Devices<'c> {
    /// Starts a device listing (all fields); add filters, finish with
    /// [`ListDevices::send`].
    pub fn list(&self) -> ListDevices<'c> {
        ListDevices {
            client: self.client,
            filters: Vec::new(),
        }
    }

    /// Gets one device with all fields.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown id.
    pub async fn get(&self, device_id: &str) -> Result<Device> {
        let request = ApiRequest::get(GET, device_path(device_id, &[])).query("fields", "all");
        self.client.inner.send(request).await?.json()
    }

    /// Deletes a device; one that is already gone is not an error.
    ///
    /// # Errors
    /// API errors other than 404 (a device of another tailnet answers 501).
    pub async fn delete(&self, device_id: &str) -> Result<Deleted> {
        let request = ApiRequest::new(DELETE, Method::DELETE, device_path(device_id, &[]));
        match self.client.inner.send(request).await {
            Ok(_) => Ok(Deleted::Deleted),
            Err(e) if e.is_not_found() => Ok(Deleted::AlreadyGone),
            Err(e) => Err(e),
        }
    }

    /// Authorizes (`true`) or deauthorizes (`false`) a device.
    ///
    /// # Errors
    /// API errors.
    pub async fn set_authorized(&self, device_id: &str, authorized: bool) -> Result<()> {
        let request =
            ApiRequest::post_idempotent(AUTHORIZE, device_path(device_id, &["authorized"]))
                .json(json!({ "authorized": authorized }));
        self.client.inner.send(request).await.map(drop)
    }

    /// Replaces the device's tags.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a malformed tag (nothing
    /// sent); [`Error::BadRequest`](crate::Error::BadRequest) when a tag has no owner in
    /// the policy file or the caller may not use it.
    pub async fn set_tags<S: AsRef<str>>(&self, device_id: &str, tags: &[S]) -> Result<()> {
        let tags: Vec<&str> = tags.iter().map(AsRef::as_ref).collect();
        for tag in &tags {
            crate::tags::validate_tag(tag)?;
        }
        let request = ApiRequest::post_idempotent(SET_TAGS, device_path(device_id, &["tags"]))
            .json(json!({ "tags": tags }));
        self.client.inner.send(request).await.map(drop)
    }

    /// Disables (`true`) or re-enables (`false`) node key expiry. Re-enabling restores the
    /// original expiry, which may already have passed.
    ///
    /// # Errors
    /// API errors.
    pub async fn set_key_expiry_disabled(&self, device_id: &str, disabled: bool) -> Result<()> {
        let request = ApiRequest::post_idempotent(SET_KEY_EXPIRY, device_path(device_id, &["key"]))
            .json(json!({ "keyExpiryDisabled": disabled }));
        self.client.inner.send(request).await.map(drop)
    }

    /// Renames the device (base name or FQDN; empty resets it to the OS hostname).
    ///
    /// # Errors
    /// API errors.
    pub async fn rename(&self, device_id: &str, name: &str) -> Result<()> {
        let request = ApiRequest::post_idempotent(RENAME, device_path(device_id, &["name"]))
            .json(json!({ "name": name }));
        self.client.inner.send(request).await.map(drop)
    }
}

/// Builder for a device listing; from [`Devices::list`].
///
/// Filters are exact matches on top-level device fields and are ANDed by the server.
#[derive(Debug)]
#[must_use = "nothing is listed until `.send().await`"]
pub struct ListDevices<'c> {
    client: &'c TailscaleClient,
    filters: Vec<(&'static str, String)>,
}

impl ListDevices<'_> {
    /// Only devices whose `hostname` equals `hostname`.
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.filters.push(("hostname", hostname.into()));
        self
    }

    /// Only devices carrying `tag` (repeat for several; all must be present).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.filters.push(("tags", tag.into()));
        self
    }

    /// Only ephemeral (`true`) or non-ephemeral (`false`) devices.
    pub fn ephemeral(mut self, yes: bool) -> Self {
        self.filters.push(("isEphemeral", yes.to_string()));
        self
    }

    /// Sends the request.
    ///
    /// # Errors
    /// API errors; 504 (the API took too long) is retried.
    pub async fn send(self) -> Result<Vec<Device>> {
        #[derive(Deserialize)]
        struct DeviceList {
            #[serde(default, deserialize_with = "crate::nullable::or_default")]
            devices: Vec<Device>,
        }
        let path = vec![
            "tailnet".to_owned(),
            self.client.inner.tailnet.clone(),
            "devices".to_owned(),
        ];
        let mut request = ApiRequest::get(LIST, path).query("fields", "all");
        for (name, value) in self.filters {
            request = request.query(name, value);
        }
        let list: DeviceList = self.client.inner.send(request).await?.json()?;
        Ok(list.devices)
    }
}
