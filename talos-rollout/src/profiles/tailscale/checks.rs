//! The profile's named checks, evaluated against the node's tailnet device.

use rollout_core::gate::CheckResult;

use super::port::DeviceObservation;

/// The device is connected to the tailnet's control plane.
pub(super) const DEVICE_ONLINE: &str = "tailnet device online";
/// The device advertises every planned route.
pub(super) const ROUTES_ADVERTISED: &str = "routes advertised";
/// Every planned route is approved.
pub(super) const ROUTES_APPROVED: &str = "routes approved";
/// The action that approves the node's routes through the API (merging, never dropping).
pub(super) const APPROVE_ROUTES: &str = "approve routes";

/// Evaluates check `name` for a device looked up by `hostname` that should carry `routes`.
pub(super) fn evaluate(
    name: &str,
    hostname: &str,
    routes: &[String],
    device: Option<&DeviceObservation>,
) -> CheckResult {
    let outcome = match (name, device) {
        (_, None) if is_known(name) => Err(format!("no device with hostname {hostname} yet")),
        (DEVICE_ONLINE, Some(device)) if device.online => Ok(device.hostname.clone()),
        (DEVICE_ONLINE, Some(device)) => Err(format!("{} offline", device.hostname)),
        (ROUTES_ADVERTISED, Some(device)) => {
            all_in(routes, &device.advertised_routes, "not advertised")
        }
        (ROUTES_APPROVED, Some(device)) => all_in(routes, &device.enabled_routes, "not approved"),
        _ => Err("the tailscale profile has no check with this name".to_owned()),
    };
    let (passed, detail) = match outcome {
        Ok(detail) => (true, detail),
        Err(detail) => (false, detail),
    };
    CheckResult {
        name: name.to_owned(),
        passed,
        detail,
    }
}

fn is_known(name: &str) -> bool {
    [DEVICE_ONLINE, ROUTES_ADVERTISED, ROUTES_APPROVED].contains(&name)
}

fn all_in(wanted: &[String], have: &[String], absent: &str) -> Result<String, String> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|route| !have.contains(route))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(wanted.join(","))
    } else {
        Err(format!("{absent}: {}", missing.join(",")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(online: bool, advertised: &[&str], enabled: &[&str]) -> DeviceObservation {
        DeviceObservation {
            hostname: "k8s-1".into(),
            online,
            advertised_routes: advertised.iter().map(|r| (*r).to_owned()).collect(),
            enabled_routes: enabled.iter().map(|r| (*r).to_owned()).collect(),
            dns_name: "k8s-1.tail1234.ts.net".into(),
            addresses: vec!["100.64.0.1".into()],
        }
    }

    #[test]
    fn each_check_fails_until_its_condition_holds() {
        let routes = vec!["10.43.0.0/16".to_owned()];
        let check = |name, device: Option<&DeviceObservation>| {
            evaluate(name, "k8s-1", &routes, device).passed
        };
        assert!(!check(DEVICE_ONLINE, None));
        assert!(!check(DEVICE_ONLINE, Some(&device(false, &[], &[]))));
        assert!(check(DEVICE_ONLINE, Some(&device(true, &[], &[]))));
        assert!(!check(ROUTES_ADVERTISED, Some(&device(true, &[], &[]))));
        assert!(check(
            ROUTES_ADVERTISED,
            Some(&device(true, &["10.43.0.0/16"], &[]))
        ));
        assert!(!check(
            ROUTES_APPROVED,
            Some(&device(true, &["10.43.0.0/16"], &[]))
        ));
        assert!(check(
            ROUTES_APPROVED,
            Some(&device(true, &["10.43.0.0/16"], &["10.43.0.0/16"]))
        ));
        assert!(!check("no such check", Some(&device(true, &[], &[]))));
    }
}
