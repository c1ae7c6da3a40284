//! The tailnet adapter's shared device listing: checks within its age share one listing,
//! and a route approval of ours is seen by the next check at once.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use sim::clock::SimClock;
use sim::tailnet::{Registration, Tailnet, TailnetOptions};
use sim::{Faults, HttpServer};
use tailscale_client::{Credentials, TailscaleClient};
use talos_rollout::profile::ExtensionProfile;
use talos_rollout::profiles::TailscaleProfile;
use talos_rollout::profiles::tailscale::{TailnetAdapter, TailnetPort};

const ROUTE: &str = "10.43.0.0/16";
/// Longer than any test runs: only a change of ours or a new adapter lists again.
const FOREVER: Duration = Duration::from_secs(24 * 3600);

struct Tailscale {
    tailnet: Tailnet,
    _server: HttpServer,
    client: TailscaleClient,
}

impl Tailscale {
    async fn start() -> Self {
        let options = TailnetOptions {
            appear_delay: Duration::ZERO,
            ..TailnetOptions::default()
        };
        let tailnet = Tailnet::new(options, SimClock::start(), Faults::default()).unwrap();
        let server = tailnet.serve().await.unwrap();
        let client = TailscaleClient::builder()
            .base_url(server.url())
            .credentials(Credentials::api_key(tailnet.api_key().clone()))
            .disable_timers()
            .build()
            .unwrap();
        Self {
            tailnet,
            _server: server,
            client,
        }
    }

    async fn log_in(&self, host: &str) {
        let key: SecretString = self
            .client
            .keys()
            .create()
            .reusable(true)
            .preauthorized(true)
            .tags(["tag:k8s"])
            .send()
            .await
            .unwrap()
            .secret;
        let mut registration = Registration::new(host, key);
        registration.advertise_routes = vec![ROUTE.to_owned()];
        self.tailnet.register(&registration).unwrap();
    }
}

#[tokio::test]
async fn checks_within_the_listings_age_share_one_listing() {
    let ts = Tailscale::start().await;
    let shared = TailnetAdapter::new(ts.client.clone()).listing_max_age(FOREVER);
    assert_eq!(shared.device("k8s-1").await.unwrap(), None);
    ts.log_in("k8s-1").await;
    assert_eq!(
        shared.device("k8s-1").await.unwrap(),
        None,
        "the listing taken before the login is still young enough"
    );
    let fresh = TailnetAdapter::new(ts.client.clone()).listing_max_age(Duration::ZERO);
    let device = fresh.device("k8s-1").await.unwrap().unwrap();
    assert_eq!(
        device.advertised_routes,
        [ROUTE],
        "routes come with the listing"
    );
}

#[tokio::test]
async fn a_route_approval_is_seen_by_the_next_check() {
    let ts = Tailscale::start().await;
    ts.log_in("k8s-1").await;
    let adapter = TailnetAdapter::new(ts.client.clone()).listing_max_age(FOREVER);
    let before = adapter.device("k8s-1").await.unwrap().unwrap();
    assert!(before.enabled_routes.is_empty());
    adapter
        .approve_routes("k8s-1", &[ROUTE.to_owned()])
        .await
        .unwrap();
    let after = adapter.device("k8s-1").await.unwrap().unwrap();
    assert_eq!(after.enabled_routes, [ROUTE]);
}

/// The approval's answer updates the kept listing instead of discarding it: the check
/// right after sees the approved routes without listing the tailnet again (a device that
/// logged in meanwhile is not seen yet).
#[tokio::test]
async fn a_route_approval_updates_the_kept_listing_without_listing_again() {
    let ts = Tailscale::start().await;
    ts.log_in("k8s-1").await;
    let adapter = TailnetAdapter::new(ts.client.clone()).listing_max_age(FOREVER);
    assert!(adapter.device("k8s-2").await.unwrap().is_none());
    ts.log_in("k8s-2").await;
    adapter
        .approve_routes("k8s-1", &[ROUTE.to_owned()])
        .await
        .unwrap();
    let approved = adapter.device("k8s-1").await.unwrap().unwrap();
    assert_eq!(approved.enabled_routes, [ROUTE]);
    assert_eq!(approved.advertised_routes, [ROUTE]);
    assert!(
        adapter.device("k8s-2").await.unwrap().is_none(),
        "the tailnet was listed again after the approval"
    );
}

/// Each new listing announces the hostnames whose devices it found changed (here: a device
/// that logged in), and nothing when the tailnet is as before.
#[tokio::test]
async fn a_new_listing_announces_the_devices_it_found_changed() {
    use futures::{FutureExt, StreamExt};

    let ts = Tailscale::start().await;
    ts.log_in("k8s-1").await;
    let adapter = TailnetAdapter::new(ts.client.clone()).listing_max_age(Duration::ZERO);
    let mut changes = adapter.changes().unwrap();
    assert!(adapter.device("K8S-2").await.unwrap().is_none());
    ts.log_in("K8S-2").await;
    assert!(adapter.device("k8s-1").await.unwrap().is_some());
    let announced = tokio::time::timeout(Duration::from_secs(5), changes.next())
        .await
        .unwrap();
    assert_eq!(announced.as_deref(), Some("k8s-2"));
    assert!(adapter.device("k8s-1").await.unwrap().is_some());
    assert!(
        changes.next().now_or_never().is_none(),
        "a listing like the one before announces nothing"
    );
}

/// The Tailscale profile turns the listing's announcements into the plan's node names (the
/// driver wakes those nodes); a device of no planned node names nothing.
#[tokio::test]
async fn the_profile_names_the_planned_node_whose_device_changed() {
    use futures::{FutureExt, StreamExt};

    let ts = Tailscale::start().await;
    let adapter = TailnetAdapter::new(ts.client.clone()).listing_max_age(Duration::ZERO);
    let profile = TailscaleProfile::with_tailnet(Arc::new(adapter.clone()));
    let plan = support::seed_plan();
    let mut changes = profile.changes(&plan.nodes).unwrap();
    assert!(adapter.device("k8s-1").await.unwrap().is_none());
    ts.log_in("laptop").await;
    ts.log_in("K8S-2").await;
    assert!(adapter.device("k8s-1").await.unwrap().is_none());
    let named = tokio::time::timeout(Duration::from_secs(5), changes.next())
        .await
        .unwrap()
        .unwrap();
    let k8s_2 = plan
        .nodes
        .iter()
        .find(|node| node.nodename == "k8s-2")
        .unwrap();
    assert_eq!(named, k8s_2.node);
    assert!(
        changes.next().now_or_never().is_none(),
        "the laptop's device is no planned node's"
    );
}
