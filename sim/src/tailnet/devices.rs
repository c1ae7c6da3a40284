//! Tailnet devices: their state (visibility, control connection, routes) and their JSON form.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::clock::rfc3339;

/// The client version the Talos extension ships (tailscale 1.102.2).
const CLIENT_VERSION: &str = "1.102.2-t2b4e6b3e1-g0a1b2c3d4";
/// How long an offline ephemeral device survives before the control plane removes it.
pub(crate) const EPHEMERAL_CLEANUP: Duration = Duration::from_secs(30 * 60);
/// The node key lifetime of untagged devices (tailnet default).
const NODE_KEY_LIFETIME: Duration = Duration::from_secs(180 * 24 * 60 * 60);

/// The device's connection to the control plane.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ControlConnection {
    /// Connects (or connected) at this instant and stays connected.
    ConnectsAt(Instant),
    /// Registered but never connects (fault).
    Never,
    /// Was connected, went offline at this time.
    OfflineSince(Instant, OffsetDateTime),
}

/// One device of the tailnet.
#[derive(Debug, Clone)]
pub(crate) struct Device {
    pub(crate) node_id: String,
    pub(crate) numeric_id: u64,
    pub(crate) hostname: String,
    pub(crate) base_name: String,
    pub(crate) dns_suffix: String,
    pub(crate) ipv4: Ipv4Addr,
    pub(crate) ipv6: Ipv6Addr,
    pub(crate) created: OffsetDateTime,
    pub(crate) tags: Vec<String>,
    pub(crate) ephemeral: bool,
    pub(crate) authorized: bool,
    pub(crate) key_expiry_disabled: bool,
    pub(crate) advertised_routes: Vec<String>,
    pub(crate) enabled_routes: Vec<String>,
    pub(crate) visible_from: Instant,
    pub(crate) connection: ControlConnection,
    pub(crate) auth_key_id: String,
    pub(crate) machine_key: String,
    pub(crate) node_key: String,
}

impl Device {
    /// Whether the device has appeared in the API yet ("devices appear late").
    pub(crate) fn is_visible(&self, now: Instant) -> bool {
        now >= self.visible_from
    }

    /// Whether the id (preferred `nodeId` or legacy numeric id) names this device.
    pub(crate) fn has_id(&self, id: &str) -> bool {
        self.node_id == id || self.numeric_id.to_string() == id
    }

    /// `connectedToControl` at `now`.
    pub(crate) fn is_connected(&self, now: Instant) -> bool {
        matches!(self.connection, ControlConnection::ConnectsAt(at) if now >= at)
    }

    /// The control connection drops (node rebooting or service stopped).
    pub(crate) fn go_offline(&mut self, now: Instant, wall: OffsetDateTime) {
        if self.is_connected(now) {
            self.connection = ControlConnection::OfflineSince(now, wall);
        } else if matches!(self.connection, ControlConnection::ConnectsAt(_)) {
            self.connection = ControlConnection::Never;
        }
    }

    /// Whether the control plane has removed this ephemeral device by `now`.
    pub(crate) fn is_cleaned_up(&self, now: Instant) -> bool {
        self.ephemeral
            && matches!(self.connection,
                ControlConnection::OfflineSince(since, _) if now >= since + EPHEMERAL_CLEANUP)
    }

    /// The MagicDNS name, e.g. `k8s-1-1.tail1234.ts.net`.
    pub(crate) fn fqdn(&self) -> String {
        format!("{}.{}", self.base_name, self.dns_suffix)
    }

    /// The API's `Device` object; routes and connectivity details only with `all_fields`.
    pub(crate) fn to_json(&self, now: Instant, all_fields: bool) -> Value {
        let connected = self.is_connected(now);
        let expires = if self.key_expiry_disabled {
            "0001-01-01T00:00:00Z".to_owned()
        } else {
            rfc3339(self.created + NODE_KEY_LIFETIME)
        };
        let mut device = json!({
            "addresses": [self.ipv4.to_string(), self.ipv6.to_string()],
            "id": self.numeric_id.to_string(),
            "nodeId": self.node_id,
            "user": if self.tags.is_empty() { "admin@example.com" } else { "tagged-devices" },
            "name": self.fqdn(),
            "hostname": self.hostname,
            "clientVersion": CLIENT_VERSION,
            "updateAvailable": false,
            "os": "linux",
            "created": rfc3339(self.created),
            "connectedToControl": connected,
            "keyExpiryDisabled": self.key_expiry_disabled,
            "expires": expires,
            "authorized": self.authorized,
            "isExternal": false,
            "machineKey": self.machine_key,
            "nodeKey": self.node_key,
            "blocksIncomingConnections": false,
            "tailnetLockKey": "",
            "tailnetLockError": "",
            "tags": self.tags,
            "isEphemeral": self.ephemeral,
        });
        let Some(map) = device.as_object_mut() else {
            return device;
        };
        if let ControlConnection::OfflineSince(_, at) = self.connection {
            map.insert("lastSeen".to_owned(), json!(rfc3339(at)));
        }
        if all_fields {
            add_all_fields(map, self);
        }
        device
    }
}

fn add_all_fields(map: &mut Map<String, Value>, device: &Device) {
    map.insert(
        "advertisedRoutes".to_owned(),
        json!(device.advertised_routes),
    );
    map.insert("enabledRoutes".to_owned(), json!(device.enabled_routes));
    map.insert(
        "clientConnectivity".to_owned(),
        json!({
            "endpoints": ["192.0.2.10:41641"],
            "mappingVariesByDestIP": false,
            "latency": { "Frankfurt": { "preferred": true, "latencyMs": 12.5 } },
            "clientSupports": {
                "hairPinning": null, "ipv6": false, "pcp": false,
                "pmp": false, "udp": true, "upnp": false
            }
        }),
    );
    map.insert("postureIdentity".to_owned(), json!({ "disabled": true }));
    map.insert("sshEnabled".to_owned(), json!(false));
    map.insert(
        "distro".to_owned(),
        json!({ "name": "talos", "version": "", "codeName": "" }),
    );
}

/// Whether `device_json` satisfies every `field=value` filter (lists must contain each value).
pub(crate) fn matches_filters(device_json: &Value, filters: &[(String, String)]) -> bool {
    filters
        .iter()
        .all(|(field, wanted)| match device_json.get(field) {
            Some(Value::String(actual)) => actual == wanted,
            Some(Value::Bool(actual)) => actual.to_string() == *wanted,
            Some(Value::Array(items)) => items.iter().any(|item| item.as_str() == Some(wanted)),
            _ => false,
        })
}
