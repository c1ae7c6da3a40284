//! Subnet routes of a device: read, replace, approve (merge), revoke, wait for adverts.

use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::TailscaleClient;
use crate::error::Result;
use crate::poll::{Check, Wait};
use crate::transport::{ApiRequest, Endpoint};

const GET: Endpoint = Endpoint {
    operation: "get device routes",
    scope: "devices:routes:read",
};
const SET: Endpoint = Endpoint {
    operation: "set device routes",
    scope: "devices:routes",
};

/// First wait between two polls of [`Routes::wait_until_advertised`].
const FIRST_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Longest wait between two polls.
const MAX_POLL_INTERVAL: Duration = Duration::from_secs(10);

/// The routes a device advertises and the routes approved (enabled) for it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeviceRoutes {
    /// Routes the device announces (`tailscale up --advertise-routes`, `TS_ROUTES`).
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub advertised_routes: Vec<IpNet>,
    /// Routes approved for it; only routes both advertised and enabled carry traffic.
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub enabled_routes: Vec<IpNet>,
}

impl DeviceRoutes {
    /// True when `route` is advertised.
    pub fn is_advertised(&self, route: &IpNet) -> bool {
        contains(&self.advertised_routes, route)
    }

    /// True when `route` is enabled.
    pub fn is_enabled(&self, route: &IpNet) -> bool {
        contains(&self.enabled_routes, route)
    }

    /// Advertised routes still waiting for approval.
    pub fn unapproved(&self) -> Vec<IpNet> {
        self.advertised_routes
            .iter()
            .filter(|r| !self.is_enabled(r))
            .copied()
            .collect()
    }
}

/// The outcome of [`Routes::approve`] (or of [`plan_approval`], without the request).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteApproval {
    /// The routes after approval.
    pub routes: DeviceRoutes,
    /// Requested routes that were not enabled before.
    pub newly_enabled: Vec<IpNet>,
    /// Requested routes the device does not advertise yet: they are pre-approved and carry
    /// traffic once advertised.
    pub not_advertised: Vec<IpNet>,
}

impl RouteApproval {
    /// True when approval changed the enabled set.
    pub fn changed(&self) -> bool {
        !self.newly_enabled.is_empty()
    }
}

/// Routes compare by network, so `10.96.0.1/12` and `10.96.0.0/12` are the same route.
fn same_route(a: &IpNet, b: &IpNet) -> bool {
    a.trunc() == b.trunc()
}

fn contains(set: &[IpNet], route: &IpNet) -> bool {
    set.iter().any(|r| same_route(r, route))
}

/// Computes what approving `requested` on a device whose routes are `current` does:
/// the enabled set becomes `current.enabled_routes` plus the requested routes not yet in
/// it, in that order, each written as its network (`10.96.0.1/12` as `10.96.0.0/12`,
/// the form the API accepts). Nothing enabled before is ever dropped.
pub fn plan_approval(current: &DeviceRoutes, requested: &[IpNet]) -> RouteApproval {
    let mut enabled = current.enabled_routes.clone();
    let mut newly_enabled = Vec::new();
    for route in requested {
        if !contains(&enabled, route) {
            enabled.push(route.trunc());
            newly_enabled.push(route.trunc());
        }
    }
    let mut not_advertised: Vec<IpNet> = Vec::new();
    for route in requested {
        if !current.is_advertised(route) && !contains(&not_advertised, route) {
            not_advertised.push(*route);
        }
    }
    RouteApproval {
        routes: DeviceRoutes {
            advertised_routes: current.advertised_routes.clone(),
            enabled_routes: enabled,
        },
        newly_enabled,
        not_advertised,
    }
}

/// The enabled set after revoking `revoked`: exactly those routes are removed.
pub fn plan_revocation(current: &DeviceRoutes, revoked: &[IpNet]) -> Vec<IpNet> {
    current
        .enabled_routes
        .iter()
        .filter(|r| !contains(revoked, r))
        .copied()
        .collect()
}

/// Subnet route operations; from [`TailscaleClient::routes`].
#[derive(Debug, Clone, Copy)]
pub struct Routes<'c> {
    client: &'c TailscaleClient,
}

impl TailscaleClient {
    /// Subnet route operations.
    pub fn routes(&self) -> Routes<'_> {
        Routes { client: self }
    }
}

fn routes_path(device_id: &str) -> Vec<String> {
    vec![
        "device".to_owned(),
        device_id.to_owned(),
        "routes".to_owned(),
    ]
}

impl Routes<'_> {
    /// Reads the device's advertised and enabled routes.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) for an unknown device; API errors.
    pub async fn get(&self, device_id: &str) -> Result<DeviceRoutes> {
        self.client
            .inner
            .send(ApiRequest::get(GET, routes_path(device_id)))
            .await?
            .json()
    }

    /// Replaces the enabled routes with exactly `routes` (an empty list disables all).
    /// Prefer [`Routes::approve`], which never drops routes.
    ///
    /// # Errors
    /// API errors.
    pub async fn set(&self, device_id: &str, routes: &[IpNet]) -> Result<DeviceRoutes> {
        let request = ApiRequest::post_idempotent(SET, routes_path(device_id))
            .json(json!({ "routes": routes }));
        let response = self.client.inner.send(request).await?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            // Some servers answer 200 with no body; read back what is in force.
            return self.get(device_id).await;
        }
        response.json()
    }

    /// Enables `routes` in addition to the routes already enabled, and reports which of
    /// them the device does not advertise yet. Sends nothing when all are enabled already,
    /// so repeating it is harmless.
    ///
    /// # Errors
    /// API errors ([`Error::PermissionDenied`](crate::Error::PermissionDenied) names the `devices:routes` scope).
    ///
    /// # Caveats
    /// The API replaces the whole enabled list and has no conditional write, so this is a
    /// read-then-write: a route someone else enables in between is overwritten. Do not run
    /// two approvals for the same device at once.
    ///
    /// # Usage
    /// ```no_run
    /// # async fn demo(client: tailscale_client::TailscaleClient) -> Result<(), tailscale_client::Error> {
    /// let service_cidr = "10.96.0.0/12".parse().expect("valid cidr");
    /// let approval = client.routes().approve("nABC123CNTRL", &[service_cidr]).await?;
    /// if !approval.not_advertised.is_empty() {
    ///     println!("pre-approved, not advertised yet: {:?}", approval.not_advertised);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn approve(&self, device_id: &str, routes: &[IpNet]) -> Result<RouteApproval> {
        let current = self.get(device_id).await?;
        let mut approval = plan_approval(&current, routes);
        if approval.changed() {
            approval.routes = self.set(device_id, &approval.routes.enabled_routes).await?;
        }
        Ok(approval)
    }

    /// Disables exactly `routes`, keeping every other enabled route.
    ///
    /// # Errors
    /// API errors.
    pub async fn revoke(&self, device_id: &str, routes: &[IpNet]) -> Result<DeviceRoutes> {
        let current = self.get(device_id).await?;
        let remaining = plan_revocation(&current, routes);
        if remaining.len() == current.enabled_routes.len() {
            return Ok(current);
        }
        self.set(device_id, &remaining).await
    }

    /// Polls until the device advertises every route in `routes`, backing off from 1 s to
    /// 10 s between polls.
    ///
    /// # Errors
    /// [`Error::Timeout`](crate::Error::Timeout) naming the routes still missing when
    /// `timeout` passes (a poll the API leaves unanswered is abandoned at most 2 s later);
    /// API errors that are not retryable end the wait at once.
    pub async fn wait_until_advertised(
        &self,
        device_id: &str,
        routes: &[IpNet],
        timeout: Duration,
    ) -> Result<DeviceRoutes> {
        let wait = Wait {
            what: format!("device {device_id} to advertise {routes:?}"),
            timeout,
            first_interval: FIRST_POLL_INTERVAL,
            max_interval: MAX_POLL_INTERVAL,
            bound_polls: self.client.inner.bound_polls,
        };
        wait.until(|| async {
            let current = self.get(device_id).await?;
            let missing: Vec<IpNet> = routes
                .iter()
                .filter(|r| !current.is_advertised(r))
                .copied()
                .collect();
            Ok(if missing.is_empty() {
                Check::Done(current)
            } else {
                Check::NotYet(format!("routes {missing:?} not advertised"))
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn approval_merges_and_reports_unadvertised() {
        let current = DeviceRoutes {
            advertised_routes: nets(&["10.96.0.0/12", "10.244.0.0/16"]),
            enabled_routes: nets(&["10.244.0.0/16"]),
        };
        let approval = plan_approval(&current, &nets(&["10.96.0.0/12", "192.168.0.0/24"]));
        assert_eq!(
            approval.routes.enabled_routes,
            nets(&["10.244.0.0/16", "10.96.0.0/12", "192.168.0.0/24"])
        );
        assert_eq!(approval.not_advertised, nets(&["192.168.0.0/24"]));
        assert_eq!(approval.newly_enabled.len(), 2);
    }

    #[test]
    fn host_bits_do_not_make_a_different_route() {
        let current = DeviceRoutes {
            advertised_routes: vec![],
            enabled_routes: nets(&["10.96.0.0/12"]),
        };
        assert!(!plan_approval(&current, &nets(&["10.96.0.1/12"])).changed());
    }

    #[test]
    fn new_routes_are_enabled_as_their_network() {
        let approval = plan_approval(&DeviceRoutes::default(), &nets(&["10.96.0.1/12"]));
        assert_eq!(approval.routes.enabled_routes, nets(&["10.96.0.0/12"]));
        assert_eq!(approval.newly_enabled, nets(&["10.96.0.0/12"]));
    }

    #[test]
    fn unapproved_lists_advertised_but_disabled() {
        let routes = DeviceRoutes {
            advertised_routes: nets(&["10.96.0.0/12", "0.0.0.0/0"]),
            enabled_routes: nets(&["0.0.0.0/0"]),
        };
        assert_eq!(routes.unapproved(), nets(&["10.96.0.0/12"]));
    }
}
