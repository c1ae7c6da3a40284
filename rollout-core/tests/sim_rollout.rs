//! End to end through the real adapters: talos-client over mTLS gRPC, factory-client and
//! tailscale-client over HTTP, against the simulated seed cluster (tokio time paused).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rollout_core::adapters::{FactoryAdapter, FactoryResolver, TailnetAdapter, TalosAdapter};
use rollout_core::driver::{Driver, Ports};
use rollout_core::machine::{Phase, RolloutEvent};
use rollout_core::ports::TokioClock;
use rollout_core::tailscale::{RouteApproval, TailscaleAuth, TailscaleEscBuilder};
use rollout_core::{RolloutSpec, plan};
use sim::Sim;
use tailscale_client::{Credentials, TailscaleClient};
use talos_client::TalosClient;

const NODES: [&str; 3] = ["k8s-1", "k8s-2", "k8s-3"];

#[tokio::test(start_paused = true)]
async fn the_seed_cluster_gets_tailscale_through_the_real_clients() {
    let sim = Sim::builder().start().await.unwrap();
    let talos = TalosClient::connect(sim.talosconfig().unwrap().context(None).unwrap()).unwrap();
    let factory = factory_client::FactoryClient::new(&sim.factory_url()).unwrap();
    let tailscale = TailscaleClient::builder()
        .base_url(sim.tailnet_url())
        .credentials(Credentials::api_key(sim.tailnet_api_key().clone()))
        .disable_timers()
        .build()
        .unwrap();
    let key = tailscale
        .keys()
        .create()
        .reusable(true)
        .preauthorized(true)
        .tags(["tag:k8s"])
        .expiry(Duration::from_secs(7 * 24 * 3600))
        .send()
        .await
        .unwrap()
        .secret;

    let artifacts = tempfile::tempdir().unwrap();
    let mut spec = RolloutSpec {
        factory_host: factory.registry_host(),
        artifacts_dir: artifacts.path().to_owned(),
        route_approval: RouteApproval::Api,
        soak: Duration::from_secs(10),
        ..RolloutSpec::default()
    };
    for node in NODES {
        let esc = TailscaleEscBuilder::new(TailscaleAuth::auth_key(key.clone()))
            .hostname(node)
            .routes_from_text(["10.43.0.0/16"])
            .unwrap()
            .route_approval(RouteApproval::Api)
            .auth_once(true)
            .build()
            .unwrap();
        spec.extension_service_configs
            .insert(node.to_owned(), esc.config);
    }
    let ports = Ports {
        talos: Arc::new(TalosAdapter::new(talos.clone())),
        factory: Arc::new(FactoryAdapter::new(factory)),
        tailnet: Some(Arc::new(TailnetAdapter::new(tailscale.clone()))),
        kube: None,
        clock: Arc::new(TokioClock),
    };
    let (driver, events) = Driver::new(spec.clone(), ports);
    let nodes: Vec<String> = NODES.iter().map(|n| n.to_string()).collect();
    let facts = driver.discover("sim", &nodes).await.unwrap();
    assert_eq!(
        facts.nodes.iter().filter(|n| n.etcd_leader).count(),
        1,
        "{facts:?}"
    );
    let plan = plan(&spec, &facts, &FactoryResolver).unwrap();

    let summary = driver.run(plan.clone()).await.unwrap();
    drop(driver);
    let events: Vec<RolloutEvent> = events.collect().await;
    let failures: Vec<&RolloutEvent> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                RolloutEvent::NodeFailed { .. } | RolloutEvent::Diagnosis(_)
            )
        })
        .collect();
    assert!(summary.succeeded(), "{summary:?} {failures:#?}");
    assert!(summary.nodes.iter().all(|(_, phase)| *phase == Phase::Done));

    let target = plan.nodes[0].to.schematic_id.clone().unwrap();
    for node in NODES {
        let client = talos.node(node);
        assert_eq!(
            client.schematic_id().await.unwrap().as_deref(),
            Some(target.as_str())
        );
        let device = tailscale.node_device(node).find().await.unwrap().unwrap();
        assert!(device.device.connected_to_control, "{node} online");
        let routes = tailscale
            .routes()
            .get(device.device.device_id())
            .await
            .unwrap();
        assert_eq!(
            routes.enabled_routes,
            ["10.43.0.0/16".parse().unwrap()],
            "{node} routes approved"
        );
    }
}
