//! Properties of route approval: idempotent, never drops an enabled route unless asked.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use tailscale_client::{DeviceRoutes, IpNet, plan_approval, plan_revocation};

/// Routes from a small pool so that generated lists overlap often.
fn route() -> impl Strategy<Value = IpNet> {
    (
        0u8..6,
        prop_oneof![Just(8u8), Just(12), Just(16), Just(24)],
        any::<bool>(),
    )
        .prop_map(|(n, prefix, host_bits)| {
            let addr = Ipv4Addr::new(10, n * 16, 0, u8::from(host_bits));
            IpNet::V4(ipnet::Ipv4Net::new(addr, prefix).unwrap())
        })
}

fn routes() -> impl Strategy<Value = Vec<IpNet>> {
    proptest::collection::vec(route(), 0..6)
}

fn device_routes() -> impl Strategy<Value = DeviceRoutes> {
    (routes(), routes()).prop_map(|(advertised_routes, enabled_routes)| DeviceRoutes {
        advertised_routes,
        enabled_routes,
    })
}

fn has(set: &[IpNet], route: &IpNet) -> bool {
    set.iter().any(|r| r.trunc() == route.trunc())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn approval_keeps_every_enabled_route_and_adds_the_requested(current in device_routes(), requested in routes()) {
        let approval = plan_approval(&current, &requested);
        for r in current.enabled_routes.iter().chain(&requested) {
            prop_assert!(has(&approval.routes.enabled_routes, r), "{r} missing");
        }
        for r in &approval.routes.enabled_routes {
            prop_assert!(has(&current.enabled_routes, r) || has(&requested, r), "{r} came from nowhere");
        }
    }

    #[test]
    fn approving_twice_changes_nothing_the_second_time(current in device_routes(), requested in routes()) {
        let first = plan_approval(&current, &requested);
        let second = plan_approval(&first.routes, &requested);
        prop_assert!(!second.changed());
        prop_assert_eq!(&second.routes, &first.routes);
    }

    #[test]
    fn not_advertised_is_exactly_the_requested_routes_without_adverts(current in device_routes(), requested in routes()) {
        let approval = plan_approval(&current, &requested);
        for r in &requested {
            prop_assert_eq!(has(&approval.not_advertised, r), !has(&current.advertised_routes, r));
        }
    }

    #[test]
    fn revocation_drops_exactly_the_named_routes(current in device_routes(), revoked in routes()) {
        let remaining = plan_revocation(&current, &revoked);
        for r in &current.enabled_routes {
            prop_assert_eq!(has(&remaining, r), !has(&revoked, r));
        }
    }
}
