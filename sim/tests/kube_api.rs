//! The sim's Kubernetes API on the wire, read with the real kube-rs client: Status bodies,
//! the eviction subresource's budget arithmetic, rescheduling, leases' resourceVersion
//! rules, Ready following the Talos node's reboot, and the unavailable fault.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, EvictParams, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use secrecy::ExposeSecret;
use sim::Sim;
use sim::kube::KubeTimings;
use sim::talos::Timings;
use talos_client::TalosClient;
use talos_client::machine::RebootMode;

async fn kube_client(sim: &Sim) -> kube::Client {
    let kubeconfig = Kubeconfig::from_yaml(sim.kubeconfig().unwrap().expose_secret()).unwrap();
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .unwrap();
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}

fn api_status(error: kube::Error) -> kube::core::Status {
    match error {
        kube::Error::Api(status) => *status,
        other => panic!("expected a Status, got {other:?}"),
    }
}

fn lease(name: &str, holder: &str, resource_version: Option<String>) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            resource_version,
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            ..LeaseSpec::default()
        }),
    }
}

async fn eventually<F: FnMut() -> bool>(what: &str, mut check: F) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn an_eviction_the_budget_forbids_is_a_429_with_the_budget_named() {
    let sim = Sim::builder().start().await.unwrap();
    sim.faults().pdb_never_allows("kube-system", "coredns");
    let pods = Api::<Pod>::namespaced(kube_client(&sim).await, "kube-system");

    let status = api_status(
        pods.evict("coredns-7d8f9c-0", &EvictParams::default())
            .await
            .unwrap_err(),
    );

    assert_eq!(status.code, 429);
    assert_eq!(status.reason, "TooManyRequests");
    assert_eq!(
        status.message,
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    let cause = &status.details.unwrap().causes[0];
    assert_eq!(cause.reason, "DisruptionBudget");
    assert_eq!(
        cause.message,
        "The disruption budget coredns needs 1 healthy pods and has 2 currently"
    );
}

#[tokio::test]
async fn an_allowed_eviction_is_201_and_the_pod_comes_back_on_another_node() {
    let sim = Sim::builder()
        .kube_timings(KubeTimings::new(
            Duration::from_millis(50),
            Duration::from_millis(50),
        ))
        .start()
        .await
        .unwrap();
    let client = kube_client(&sim).await;
    let pods = Api::<Pod>::namespaced(client.clone(), "kube-system");

    let status = pods
        .evict("coredns-7d8f9c-0", &EvictParams::default())
        .await
        .unwrap();
    assert_eq!(status.code, 201);
    let budgets = Api::<PodDisruptionBudget>::namespaced(client, "kube-system");
    let pdb = budgets
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!(
        pdb.status.unwrap().disruptions_allowed,
        0,
        "one of two is terminating"
    );

    eventually("a replacement runs on another node", || {
        sim.kube().pods().iter().any(|p| {
            p.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("coredns-7d8f9c-") && n.len() > 16)
                && p.spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .is_some_and(|n| n != "k8s-1")
        })
    })
    .await;
    assert!(pods.get_opt("coredns-7d8f9c-0").await.unwrap().is_none());
}

#[tokio::test]
async fn a_missing_pod_is_a_404_status() {
    let sim = Sim::builder().start().await.unwrap();
    let pods = Api::<Pod>::namespaced(kube_client(&sim).await, "default");

    let status = api_status(
        pods.evict("nothing", &EvictParams::default())
            .await
            .unwrap_err(),
    );

    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    assert_eq!(status.message, "pods \"nothing\" not found");
}

#[tokio::test]
async fn leases_enforce_resource_versions() {
    let sim = Sim::builder().start().await.unwrap();
    let leases = Api::<Lease>::namespaced(kube_client(&sim).await, "kube-system");
    let created = leases
        .create(&PostParams::default(), &lease("lock", "a", None))
        .await
        .unwrap();
    let read = created.metadata.resource_version.clone();

    let again = api_status(
        leases
            .create(&PostParams::default(), &lease("lock", "b", None))
            .await
            .unwrap_err(),
    );
    assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"));
    let unconditional = api_status(
        leases
            .replace("lock", &PostParams::default(), &lease("lock", "b", None))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (unconditional.code, unconditional.reason.as_str()),
        (422, "Invalid")
    );

    leases
        .replace(
            "lock",
            &PostParams::default(),
            &lease("lock", "a", read.clone()),
        )
        .await
        .unwrap();
    let stale = api_status(
        leases
            .replace("lock", &PostParams::default(), &lease("lock", "b", read))
            .await
            .unwrap_err(),
    );
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));
    assert!(
        stale
            .message
            .contains("leases.coordination.k8s.io \"lock\": the object has been modified")
    );
}

#[tokio::test]
async fn node_ready_follows_the_talos_reboot() {
    let sim = Sim::builder()
        .timings(Timings {
            shutdown: Duration::from_millis(20),
            reboot: Duration::from_millis(300),
            boot: Duration::from_millis(20),
            service_restart: Duration::from_millis(100),
            install: Duration::ZERO,
        })
        .start()
        .await
        .unwrap();
    let nodes = Api::<Node>::all(kube_client(&sim).await);
    let ready = |node: &Node| {
        node.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    let boot_id = |node: &Node| {
        node.status
            .as_ref()
            .unwrap()
            .node_info
            .as_ref()
            .unwrap()
            .boot_id
            .clone()
    };
    let before = nodes.get("k8s-2").await.unwrap();
    assert!(ready(&before));
    sim.faults().node_never_returns("k8s-2");
    let talos = TalosClient::connect(sim.talosconfig().unwrap().context(None).unwrap()).unwrap();

    talos
        .node("k8s-2")
        .reboot(RebootMode::Default)
        .await
        .unwrap();

    eventually("the node is down", || {
        !sim.cluster().snapshot("k8s-2").unwrap().up
    })
    .await;
    assert!(!ready(&nodes.get("k8s-2").await.unwrap()));
    sim.faults().let_node_return("k8s-2");
    eventually("the node is ready", || {
        sim.cluster().snapshot("k8s-2").unwrap().ready
    })
    .await;
    let after = nodes.get("k8s-2").await.unwrap();
    assert!(ready(&after));
    assert_ne!(boot_id(&after), boot_id(&before));
}

#[tokio::test]
async fn the_unavailable_fault_answers_503_and_discovery_lists_eviction() {
    let sim = Sim::builder().start().await.unwrap();
    let client = kube_client(&sim).await;
    let resources = client.list_core_api_resources("v1").await.unwrap();
    let eviction = resources
        .resources
        .iter()
        .find(|r| r.name == "pods/eviction")
        .unwrap();
    assert_eq!(
        (
            eviction.kind.as_str(),
            eviction.group.as_deref(),
            eviction.version.as_deref()
        ),
        ("Eviction", Some("policy"), Some("v1"))
    );
    sim.faults().kube_api_unavailable(true);

    let status = api_status(Api::<Node>::all(client).get("k8s-1").await.unwrap_err());

    assert_eq!(
        (status.code, status.reason.as_str()),
        (503, "ServiceUnavailable")
    );
}
