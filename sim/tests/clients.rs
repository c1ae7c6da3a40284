//! The tailnet and factory fakes work with the real tailscale-client and factory-client:
//! keys, device identity, route approval, policy ETags, OAuth, 429 and 5xx retries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use factory_client::{FactoryClient, Schematic};
use ipnet::IpNet;
use secrecy::SecretString;
use sim::clock::SimClock;
use sim::factory::{FactoryOptions, ImageFactory};
use sim::tailnet::{Registration, Tailnet, TailnetOptions};
use sim::{Faults, HttpServer};
use tailscale_client::{Credentials, PolicyFormat, TailscaleClient};

const APPEAR_DELAY: Duration = Duration::from_secs(5);

struct Tailscale {
    tailnet: Tailnet,
    faults: Faults,
    _server: HttpServer,
    client: TailscaleClient,
    url: String,
}

async fn tailscale() -> Tailscale {
    let faults = Faults::default();
    let options = TailnetOptions {
        appear_delay: APPEAR_DELAY,
        ..TailnetOptions::default()
    };
    let tailnet = Tailnet::new(options, SimClock::start(), faults.clone()).unwrap();
    let server = tailnet.serve().await.unwrap();
    let client = TailscaleClient::builder()
        .base_url(server.url())
        .credentials(Credentials::api_key(tailnet.api_key().clone()))
        .disable_timers()
        .build()
        .unwrap();
    Tailscale {
        tailnet,
        faults,
        url: server.url(),
        _server: server,
        client,
    }
}

fn service_cidr() -> IpNet {
    "10.43.0.0/16".parse().unwrap()
}

impl Tailscale {
    async fn node_key(&self) -> SecretString {
        self.client
            .keys()
            .create()
            .reusable(true)
            .preauthorized(true)
            .tags(["tag:k8s"])
            .expiry(Duration::from_secs(3600))
            .send()
            .await
            .unwrap()
            .secret
    }

    fn log_in(&self, host: &str, key: &SecretString) -> String {
        let mut registration = Registration::new(host, key.clone());
        registration.advertise_routes = vec!["10.43.0.0/16".to_owned()];
        self.tailnet.register(&registration).unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn a_logged_in_node_is_found_online_and_its_routes_approved() {
    let ts = tailscale().await;
    let key = ts.node_key().await;
    ts.log_in("k8s-1", &key);

    let node = ts
        .client
        .node_device("k8s-1")
        .tags(["tag:k8s"])
        .wait_for_online(Duration::from_secs(60))
        .await
        .unwrap();
    assert!(node.device.connected_to_control);
    let approval = ts
        .client
        .routes()
        .approve(node.device.device_id(), &[service_cidr()])
        .await
        .unwrap();
    assert_eq!(approval.newly_enabled, [service_cidr()]);
    assert!(approval.not_advertised.is_empty());
    let routes = ts
        .client
        .routes()
        .get(node.device.device_id())
        .await
        .unwrap();
    assert!(routes.is_enabled(&service_cidr()));
}

#[tokio::test(start_paused = true)]
async fn a_reinstalled_node_shows_the_dash_one_collision() {
    let ts = tailscale().await;
    let key = ts.node_key().await;
    ts.log_in("k8s-2", &key);
    ts.log_in("k8s-2", &key);
    tokio::time::sleep(APPEAR_DELAY).await;
    let node = ts
        .client
        .node_device("k8s-2")
        .find()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(node.name_collision_suffix(), Some(1));
    assert_eq!(node.duplicates.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_key_with_an_unowned_tag_is_refused() {
    let ts = tailscale().await;
    let error = ts
        .client
        .keys()
        .create()
        .tags(["tag:nobody-owns-this"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(400));
    assert!(
        error.to_string().contains("invalid or not permitted"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_revoked_key_reads_as_invalid() {
    let ts = tailscale().await;
    let created = ts
        .client
        .keys()
        .create()
        .reusable(true)
        .send()
        .await
        .unwrap();
    ts.client.keys().delete(&created.key.id).await.unwrap();
    let fetched = ts.client.keys().get(&created.key.id).await.unwrap();
    assert!(fetched.invalid);
    assert!(fetched.revoked.is_some());
}

#[tokio::test(start_paused = true)]
async fn a_policy_edit_with_a_stale_etag_is_a_conflict_and_writes_nothing() {
    let ts = tailscale().await;
    let mut policy = ts.client.policy().get(PolicyFormat::HuJson).await.unwrap();
    let stale = policy.clone();
    assert!(
        policy
            .ensure_route_auto_approver(&service_cidr(), "tag:k8s")
            .unwrap()
    );
    let saved = ts.client.policy().set(&policy).await.unwrap();
    assert_ne!(saved.etag(), stale.etag());

    let mut concurrent = stale;
    concurrent
        .ensure_tag_owner("tag:other", "autogroup:admin")
        .unwrap();
    let error = ts.client.policy().set(&concurrent).await.unwrap_err();
    assert!(error.is_conflict(), "{error}");
    let current = ts.client.policy().get(PolicyFormat::Json).await.unwrap();
    assert!(!current.text().contains("tag:other"));
    assert!(current.text().contains("10.43.0.0/16"));
}

#[tokio::test(start_paused = true)]
async fn rate_limited_requests_are_retried_after_retry_after() {
    let ts = tailscale().await;
    ts.faults.tailnet_rate_limited(2, Duration::from_secs(3));
    let devices = ts.client.devices().list().send().await.unwrap();
    assert!(devices.is_empty());
}

#[tokio::test(start_paused = true)]
async fn oauth_client_credentials_create_tagged_keys() {
    let ts = tailscale().await;
    let (id, secret) = ts.tailnet.oauth_client();
    let oauth = TailscaleClient::builder()
        .base_url(ts.url.clone())
        .credentials(Credentials::oauth(id, secret.clone(), ["auth_keys"]))
        .disable_timers()
        .build()
        .unwrap();
    let created = oauth
        .keys()
        .create()
        .reusable(true)
        .tags(["tag:k8s"])
        .send()
        .await
        .unwrap();
    assert!(!created.key.id.is_empty());
}

#[tokio::test]
async fn the_factory_client_creates_schematics_and_survives_a_5xx_burst() {
    let faults = Faults::default();
    let factory = ImageFactory::new(FactoryOptions::default(), faults.clone());
    let server = factory.serve().await.unwrap();
    let client = FactoryClient::new(&server.url()).unwrap();
    faults.factory_server_errors(1);
    let schematic = Schematic::builder()
        .extensions(["siderolabs/i915", "siderolabs/tailscale"])
        .build();
    let created = client.create_schematic(&schematic).await.unwrap();
    assert_eq!(created.id, schematic.id());
    assert_eq!(client.get_schematic(&created.id).await.unwrap(), schematic);
    assert_eq!(
        client
            .resolve_extension("v1.10.4", "tailscale")
            .await
            .unwrap(),
        "siderolabs/tailscale"
    );
    assert!(
        client
            .versions()
            .await
            .unwrap()
            .contains(&"v1.10.4".to_owned())
    );
}
