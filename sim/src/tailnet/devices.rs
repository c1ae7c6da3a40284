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

/// The tailnet's CGNAT range, 100.64.0.0/10: its first address.
const TAILNET_IPV4_BASE: u32 = u32::from_be_bytes([100, 64, 0, 0]);
/// The host bits of an address in 100.64.0.0/10.
const TAILNET_IPV4_HOST_MASK: u32 = (1 << 22) - 1;
/// Tailscale's own DNS resolver address ("quad100"), never given to a device.
const QUAD100: Ipv4Addr = Ipv4Addr::new(100, 100, 100, 100);
/// The tailnet's ULA range, fd7a:115c:a1e0::/48.
const TAILNET_IPV6_BASE: Ipv6Addr = Ipv6Addr::new(0xfd7a, 0x115c, 0xa1e0, 0, 0, 0, 0, 0);

/// The addresses of the `number`-th device: scattered over 100.64.0.0/10 as the
/// coordination server allocates them (an odd multiplier is a bijection on the 22 host
/// bits, so no two devices collide), the IPv6 address carrying the same 32 bits under
/// fd7a:115c:a1e0::/48.
pub(crate) fn tailnet_addresses(number: u32) -> (Ipv4Addr, Ipv6Addr) {
    let scatter = |n: u32| n.wrapping_mul(2_654_435_761) & TAILNET_IPV4_HOST_MASK;
    let mut ipv4 = Ipv4Addr::from(TAILNET_IPV4_BASE | scatter(number));
    if ipv4 == QUAD100 || ipv4.octets()[3] == 0 {
        ipv4 = Ipv4Addr::from(TAILNET_IPV4_BASE | scatter(number | 1 << 21));
    }
    let ipv6 = TAILNET_IPV6_BASE | Ipv6Addr::from(u128::from(u32::from(ipv4)));
    (ipv4, ipv6)
}

/// A device's MagicDNS name and tailnet addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAddresses {
    /// The MagicDNS FQDN, e.g. `k8s-1.tail1234.ts.net`.
    pub fqdn: String,
    /// The address in 100.64.0.0/10.
    pub ipv4: Ipv4Addr,
    /// The address in fd7a:115c:a1e0::/48.
    pub ipv6: Ipv6Addr,
}

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

    /// The device's MagicDNS name and tailnet addresses.
    pub(crate) fn addresses(&self) -> DeviceAddresses {
        DeviceAddresses {
            fqdn: self.fqdn(),
            ipv4: self.ipv4,
            ipv6: self.ipv6,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tailnet_addresses_are_distinct_and_inside_the_tailnet_ranges() {
        let v4_range: ipnet::Ipv4Net = "100.64.0.0/10".parse().unwrap_or_default();
        let v6_range: ipnet::Ipv6Net = "fd7a:115c:a1e0::/48".parse().unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        for number in 1..5000 {
            let (ipv4, ipv6) = tailnet_addresses(number);
            assert!(v4_range.contains(&ipv4) && ipv4 != QUAD100, "{ipv4}");
            assert!(v6_range.contains(&ipv6), "{ipv6}");
            assert!(seen.insert(ipv4), "{ipv4} given twice");
        }
    }
}
