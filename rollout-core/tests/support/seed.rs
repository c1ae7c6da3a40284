//! The seed cluster's facts (k8s-1..3, all control plane, Talos v1.10.4, i915 + mei, k8s-1
//! leads etcd), for any schematic ID the caller's resolver gives "i915 + mei". Shared with
//! talos-rollout's tests, which use the real resolver.

use std::collections::BTreeMap;

use rollout_core::{ClusterFacts, NodeFacts, NodeRole};

/// Seed node `k8s-<index>`, running schematic `current`.
pub fn seed_node_running(index: usize, leader: bool, current: &str) -> NodeFacts {
    NodeFacts {
        node: format!("k8s-{index}"),
        nodename: format!("k8s-{index}"),
        role: NodeRole::ControlPlane,
        etcd_leader: leader,
        version: "v1.10.4".into(),
        schematic_id: Some(current.to_owned()),
        extensions: vec!["i915".into(), "mei".into()],
        schematic_extensions: Some(vec!["siderolabs/i915".into(), "siderolabs/mei".into()]),
        schematic_yaml: None,
        install_image: Some(format!(
            "factory.talos.dev/metal-installer/{current}:v1.10.4"
        )),
        extension_service_configs: BTreeMap::new(),
        boot_id: Some(format!("boot-{index}-0")),
    }
}

/// The seed cluster, every node running schematic `current`.
pub fn seed_cluster_running(current: &str) -> ClusterFacts {
    ClusterFacts {
        cluster: "seed".into(),
        nodes: (1..=3)
            .map(|i| seed_node_running(i, i == 1, current))
            .collect(),
    }
}
