//! The kube-rs `KubeAdapter` and the cluster Lease against the sim's Kubernetes API (HTTPS
//! with client certificates), with the real kube-rs client, on real time.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, Patch, PatchParams};
use rollout_core::PortErrorKind;
use sdk_support::backoff::Backoff;
use sim::Sim;
use sim::kube::{KubeTimings, PodOwner, PodTemplate};
use talos_rollout::adapters::kube::{
    CORDONED_BY_ANNOTATION, ClusterLease, DrainOptions, KubeAdapter, KubeconfigSource, LeaseError,
    LeaseSettings, OwnPod, connect, kubeconfig_via_talos,
};
use talos_rollout::ports::{Cordon, KubePort, Uncordon};

/// Fast retries and polls, a short drain timeout, no pod of our own.
fn fast_drain() -> DrainOptions {
    DrainOptions::default()
        .timeout(Duration::from_secs(5))
        .pacing(
            Backoff::new(Duration::from_millis(50), Duration::from_millis(200)),
            Duration::from_millis(50),
        )
        .own_pod(None)
}

async fn sim_with(timings: KubeTimings) -> Sim {
    Sim::builder().kube_timings(timings).start().await.unwrap()
}

async fn client(sim: &Sim) -> kube::Client {
    connect(&KubeconfigSource::Yaml(sim.kubeconfig().unwrap()))
        .await
        .unwrap()
}

async fn adapter(sim: &Sim, rollout_id: &str, drain: DrainOptions) -> KubeAdapter {
    KubeAdapter::new(client(sim).await, rollout_id, drain)
}

fn unschedulable(sim: &Sim, node: &str) -> bool {
    let node = sim.kube().node(node).unwrap();
    node.spec.and_then(|s| s.unschedulable).unwrap_or(false)
}

fn evictions_of(sim: &Sim, pod: &str) -> usize {
    let path = format!("/pods/{pod}/eviction");
    sim.kube()
        .received_requests()
        .iter()
        .filter(|r| r.starts_with("POST") && r.contains(&path))
        .count()
}

#[tokio::test]
async fn cordon_is_recorded_as_ours_and_uncordon_undoes_it() {
    let sim = sim_with(KubeTimings::default()).await;
    let kube = adapter(&sim, "rollout-1", fast_drain()).await;

    assert_eq!(kube.cordon("k8s-1").await.unwrap(), Cordon::Ours);
    let node = sim.kube().node("k8s-1").unwrap();
    assert_eq!(
        node.metadata
            .annotations
            .unwrap()
            .get(CORDONED_BY_ANNOTATION),
        Some(&"rollout-1".to_owned())
    );
    assert!(unschedulable(&sim, "k8s-1"));

    assert_eq!(kube.uncordon("k8s-1").await.unwrap(), Uncordon::Uncordoned);
    assert!(!unschedulable(&sim, "k8s-1"));
    assert!(
        sim.kube()
            .node("k8s-1")
            .unwrap()
            .metadata
            .annotations
            .is_none()
    );
}

#[tokio::test]
async fn a_node_cordoned_by_someone_else_stays_cordoned() {
    let sim = sim_with(KubeTimings::default()).await;
    let admin = client(&sim).await;
    Api::<Node>::all(admin)
        .patch(
            "k8s-2",
            &PatchParams::default(),
            &Patch::Strategic(serde_json::json!({"spec": {"unschedulable": true}})),
        )
        .await
        .unwrap();
    let kube = adapter(&sim, "rollout-1", fast_drain()).await;

    assert_eq!(kube.cordon("k8s-2").await.unwrap(), Cordon::SomeoneElses);
    assert_eq!(kube.uncordon("k8s-2").await.unwrap(), Uncordon::LeftAsIs);
    assert!(unschedulable(&sim, "k8s-2"));
}

#[tokio::test]
async fn drain_skips_daemonset_and_mirror_pods_and_evicts_the_rest() {
    let sim = sim_with(KubeTimings::default()).await;
    let kube = adapter(&sim, "rollout-1", fast_drain()).await;
    kube.cordon("k8s-1").await.unwrap();

    let report = kube.drain("k8s-1").await.unwrap();

    assert_eq!(report.evicted, vec!["kube-system/coredns-7d8f9c-0"]);
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.pod.as_str()).collect();
    assert_eq!(
        skipped,
        vec![
            "kube-system/kube-apiserver-k8s-1",
            "kube-system/kube-flannel-k8s-1"
        ]
    );
    assert!(report.blocking.is_empty());
    let left: Vec<String> = sim
        .kube()
        .pods_on("k8s-1")
        .into_iter()
        .map(|p| p.metadata.name.unwrap())
        .collect();
    assert_eq!(left, vec!["kube-apiserver-k8s-1", "kube-flannel-k8s-1"]);
}

#[tokio::test]
async fn a_budget_refusal_is_retried_until_the_replacement_is_ready() {
    // The first drain's pod comes back on k8s-3 only after 1 s; until then the budget
    // (minAvailable 1 of the two coredns pods) allows no second disruption.
    let sim = sim_with(KubeTimings::new(
        Duration::from_millis(100),
        Duration::from_secs(1),
    ))
    .await;
    let kube = adapter(&sim, "rollout-1", fast_drain()).await;
    kube.cordon("k8s-1").await.unwrap();
    kube.drain("k8s-1").await.unwrap();
    kube.cordon("k8s-2").await.unwrap();

    let report = kube.drain("k8s-2").await.unwrap();

    assert_eq!(report.evicted, vec!["kube-system/coredns-7d8f9c-1"]);
    assert!(
        evictions_of(&sim, "coredns-7d8f9c-1") >= 2,
        "the first eviction should have been refused with 429"
    );
}

#[tokio::test]
async fn a_drain_past_its_timeout_names_the_blocking_pod_and_budget() {
    let sim = sim_with(KubeTimings::default()).await;
    sim.faults().pdb_never_allows("kube-system", "coredns");
    let kube = adapter(
        &sim,
        "rollout-1",
        fast_drain().timeout(Duration::from_millis(800)),
    )
    .await;

    let error = kube.drain("k8s-1").await.unwrap_err();

    assert_eq!(error.kind, PortErrorKind::Rejected);
    assert!(
        error
            .message
            .contains("kube-system/coredns-7d8f9c-0 (PodDisruptionBudget coredns)"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("needs 1 healthy pods"),
        "{}",
        error.message
    );
    assert!(evictions_of(&sim, "coredns-7d8f9c-0") >= 2);
}

#[tokio::test]
async fn a_pod_that_never_terminates_blocks_the_drain() {
    let sim = sim_with(KubeTimings::default()).await;
    sim.faults()
        .pod_never_terminates("kube-system", "coredns-7d8f9c-0");
    let kube = adapter(
        &sim,
        "rollout-1",
        fast_drain().timeout(Duration::from_secs(1)),
    )
    .await;

    let error = kube.drain("k8s-1").await.unwrap_err();

    assert!(
        error
            .message
            .contains("kube-system/coredns-7d8f9c-0: evicted but still terminating"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn unmanaged_pods_are_evicted_only_with_force_and_never_our_own() {
    let sim = sim_with(KubeTimings::default()).await;
    sim.kube()
        .add_pod(PodTemplate::new("default", "debug-shell", "k8s-3"))
        .add_pod(
            PodTemplate::new("ops", "talos-rollout-6f7c9-x2x", "k8s-3")
                .owner(PodOwner::ReplicaSet("talos-rollout-6f7c9".to_owned())),
        );
    let own = OwnPod {
        namespace: Some("ops".to_owned()),
        name: "talos-rollout-6f7c9-x2x".to_owned(),
    };
    let careful = adapter(&sim, "rollout-1", fast_drain().own_pod(Some(own.clone()))).await;

    let refused = careful.drain("k8s-3").await.unwrap_err();
    assert!(
        refused
            .message
            .contains("default/debug-shell: no controller owns it"),
        "{}",
        refused.message
    );
    assert_eq!(evictions_of(&sim, "debug-shell"), 0);

    let forced = adapter(
        &sim,
        "rollout-1",
        fast_drain().force(true).own_pod(Some(own)),
    )
    .await;
    let report = forced.drain("k8s-3").await.unwrap();
    assert_eq!(report.evicted, vec!["default/debug-shell"]);
    assert!(
        report
            .skipped
            .iter()
            .any(|s| s.pod == "ops/talos-rollout-6f7c9-x2x"
                && s.reason.contains("does not evict itself"))
    );
    assert_eq!(evictions_of(&sim, "talos-rollout-6f7c9-x2x"), 0);
}

#[tokio::test]
async fn empty_dir_pods_are_evicted_only_when_allowed() {
    let sim = sim_with(KubeTimings::default()).await;
    sim.kube().add_pod(
        PodTemplate::new("default", "cache-0", "k8s-3")
            .owner(PodOwner::ReplicaSet("cache".to_owned()))
            .empty_dir(),
    );
    let keep = adapter(&sim, "r", fast_drain().delete_empty_dir_data(false)).await;

    let refused = keep.drain("k8s-3").await.unwrap_err();

    assert!(
        refused
            .message
            .contains("default/cache-0: has emptyDir data"),
        "{}",
        refused.message
    );
    let allowed = adapter(&sim, "r", fast_drain()).await;
    assert_eq!(
        allowed.drain("k8s-3").await.unwrap().evicted,
        vec!["default/cache-0"]
    );
}

#[tokio::test]
async fn readiness_follows_the_talos_node() {
    let sim = sim_with(KubeTimings::default()).await;
    let kube = adapter(&sim, "r", fast_drain()).await;

    let readiness = kube.readiness("k8s-1").await.unwrap();

    assert!(readiness.ready);
    assert_eq!(
        readiness.boot_id,
        Some(sim.cluster().snapshot("k8s-1").unwrap().boot_id)
    );
    assert!(readiness.unready_pods.is_empty());
}

#[tokio::test]
async fn an_unavailable_api_is_a_retryable_error_that_says_so() {
    let sim = sim_with(KubeTimings::default()).await;
    let kube = adapter(&sim, "r", fast_drain()).await;
    sim.faults().kube_api_unavailable(true);

    let error = kube.cordon("k8s-1").await.unwrap_err();

    assert_eq!(error.kind, PortErrorKind::Unavailable);
    assert!(error.is_retryable());
    assert!(
        error.message.contains("503 ServiceUnavailable"),
        "{}",
        error.message
    );
    assert!(!unschedulable(&sim, "k8s-1"));
}

#[tokio::test]
async fn a_second_holder_is_refused_the_lease_until_it_is_released() {
    let sim = sim_with(KubeTimings::default()).await;
    let client = client(&sim).await;
    let first = ClusterLease::acquire(&client, LeaseSettings::new("alice", "laptop", "rollout-a"))
        .await
        .unwrap();
    first.renew().await.unwrap();

    let refused =
        ClusterLease::acquire(&client, LeaseSettings::new("bob", "ci", "rollout-b")).await;

    match refused {
        Err(LeaseError::Held { holder, .. }) => {
            assert_eq!(holder.holder, "alice");
            assert_eq!(holder.host.as_deref(), Some("laptop"));
            assert_eq!(holder.rollout_id.as_deref(), Some("rollout-a"));
        }
        other => panic!("expected Held, got {other:?}"),
    }
    first.release().await.unwrap();
    let second = ClusterLease::acquire(&client, LeaseSettings::new("bob", "ci", "rollout-b"))
        .await
        .unwrap();
    let lease = sim.kube().lease("kube-system", "talos-rollout").unwrap();
    assert_eq!(lease.spec.unwrap().holder_identity.as_deref(), Some("bob"));
    drop(second);
}

#[tokio::test]
async fn a_stale_lease_is_taken_over_only_when_asked() {
    let sim = sim_with(KubeTimings::default()).await;
    let client = client(&sim).await;
    let short = LeaseSettings::new("alice", "laptop", "rollout-a").duration(Duration::from_secs(1));
    let _abandoned = ClusterLease::acquire(&client, short).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    let refused =
        ClusterLease::acquire(&client, LeaseSettings::new("bob", "ci", "rollout-b")).await;
    assert!(
        matches!(refused, Err(LeaseError::Stale { .. })),
        "{refused:?}"
    );

    let taken = LeaseSettings::new("bob", "ci", "rollout-b").take_over_stale(true);
    ClusterLease::acquire(&client, taken).await.unwrap();
    let spec = sim
        .kube()
        .lease("kube-system", "talos-rollout")
        .unwrap()
        .spec
        .unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("bob"));
    assert_eq!(spec.lease_transitions, Some(1));
}

#[tokio::test]
async fn a_renewal_after_someone_else_wrote_the_lease_is_lost() {
    let sim = sim_with(KubeTimings::default()).await;
    let client = client(&sim).await;
    let short = LeaseSettings::new("alice", "laptop", "rollout-a").duration(Duration::from_secs(1));
    let stale = ClusterLease::acquire(&client, short).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let taken = LeaseSettings::new("bob", "ci", "rollout-b").take_over_stale(true);
    ClusterLease::acquire(&client, taken).await.unwrap();

    let renewal = stale.renew().await;

    assert!(
        matches!(renewal, Err(LeaseError::Lost { .. })),
        "{renewal:?}"
    );
}

#[tokio::test]
async fn the_kubeconfig_can_come_from_the_talos_api() {
    let sim = sim_with(KubeTimings::default()).await;
    let context = sim.talosconfig().unwrap();
    let talos = talos_client::TalosClient::connect(context.context(None).unwrap()).unwrap();

    let yaml = kubeconfig_via_talos(&talos, "k8s-1").await.unwrap();
    let kube = KubeAdapter::new(
        connect(&KubeconfigSource::Yaml(yaml)).await.unwrap(),
        "r",
        fast_drain(),
    );

    assert!(kube.readiness("k8s-2").await.unwrap().ready);
}

#[tokio::test]
async fn a_worker_cannot_hand_out_a_kubeconfig() {
    let sim = Sim::builder().workers(1).start().await.unwrap();
    let context = sim.talosconfig().unwrap();
    let talos = talos_client::TalosClient::connect(context.context(None).unwrap()).unwrap();

    let error = kubeconfig_via_talos(&talos, "k8s-4").await.unwrap_err();

    assert_eq!(error.kind, PortErrorKind::Unsupported);
    assert!(
        error.message.contains("control-plane node"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_kubeconfig_path_given_by_the_user_comes_first() {
    use secrecy::ExposeSecret;
    let sim = sim_with(KubeTimings::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, sim.kubeconfig().unwrap().expose_secret()).unwrap();

    let source = KubeconfigSource::from_user(Some(&path)).unwrap();
    let kube = KubeAdapter::new(connect(&source).await.unwrap(), "r", fast_drain());

    assert!(matches!(&source, KubeconfigSource::Path(p) if *p == path));
    assert!(kube.readiness("k8s-1").await.unwrap().ready);
    let missing = KubeconfigSource::Path(dir.path().join("absent"));
    let Err(error) = connect(&missing).await else {
        panic!("a missing kubeconfig file must be refused");
    };
    assert_eq!(error.kind, PortErrorKind::Rejected);
    assert!(
        error.message.contains("could not read the kubeconfig"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_single_node_cluster_keeps_its_pods_and_says_why() {
    let sim = Sim::builder().control_planes(1).start().await.unwrap();
    let kube = adapter(&sim, "r", fast_drain()).await;

    let report = kube.drain("k8s-1").await.unwrap();

    assert!(report.evicted.is_empty());
    let coredns = report
        .skipped
        .iter()
        .find(|s| s.pod == "kube-system/coredns-7d8f9c-0")
        .unwrap();
    assert!(
        coredns.reason.starts_with("single-node cluster"),
        "{}",
        coredns.reason
    );
    assert_eq!(evictions_of(&sim, "coredns-7d8f9c-0"), 0);
}
