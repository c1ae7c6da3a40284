//! Pod templates: a pod bound to a node with its owner (ReplicaSet, DaemonSet, mirror or
//! none), labels and an optional `emptyDir` volume, and the replacement a ReplicaSet makes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, Pod, PodCondition, PodSpec, PodStatus, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};

use super::state::MIRROR_ANNOTATION;

/// Who owns a pod (what drain's filters look at).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodOwner {
    /// A controller ownerRef to `apps/v1 ReplicaSet <name>`; the pod is recreated elsewhere after eviction.
    ReplicaSet(String),
    /// A controller ownerRef to `apps/v1 DaemonSet <name>`.
    DaemonSet(String),
    /// A static pod's mirror: the `kubernetes.io/config.mirror` annotation, owned by the node.
    Mirror,
    /// No controller (an unmanaged pod).
    None,
}

/// A pod to add to the simulated API: running and Ready on `node`.
#[derive(Debug, Clone)]
pub struct PodTemplate {
    namespace: String,
    name: String,
    node: Option<String>,
    owner: PodOwner,
    labels: BTreeMap<String, String>,
    empty_dir: bool,
}

impl PodTemplate {
    /// A pod `namespace/name` on `node`, without an owner.
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        node: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            node: Some(node.into()),
            owner: PodOwner::None,
            labels: BTreeMap::new(),
            empty_dir: false,
        }
    }

    /// Sets the owner.
    pub fn owner(mut self, owner: PodOwner) -> Self {
        self.owner = owner;
        self
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Gives the pod an `emptyDir` volume (local data a drain deletes only when allowed).
    pub fn empty_dir(mut self) -> Self {
        self.empty_dir = true;
        self
    }

    /// The same template bound to `node` (`None`: Pending, not scheduled).
    pub(crate) fn on_node(mut self, node: Option<String>) -> Self {
        self.node = node;
        self
    }

    pub(crate) fn into_pod(self, now: Time) -> Pod {
        let controller = |kind: &str, name: &str| OwnerReference {
            api_version: "apps/v1".to_owned(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            uid: uuid::Uuid::new_v4().to_string(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        };
        let (owner_references, annotations) = match &self.owner {
            PodOwner::ReplicaSet(name) => (Some(vec![controller("ReplicaSet", name)]), None),
            PodOwner::DaemonSet(name) => (Some(vec![controller("DaemonSet", name)]), None),
            PodOwner::Mirror => (
                None,
                Some(BTreeMap::from([(
                    MIRROR_ANNOTATION.to_owned(),
                    uuid::Uuid::new_v4().simple().to_string(),
                )])),
            ),
            PodOwner::None => (None, None),
        };
        let scheduled = self.node.is_some();
        let volumes = self.empty_dir.then(|| {
            vec![Volume {
                name: "scratch".to_owned(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Volume::default()
            }]
        });
        let condition = |type_: &str| PodCondition {
            type_: type_.to_owned(),
            status: if scheduled { "True" } else { "False" }.to_owned(),
            last_transition_time: Some(now.clone()),
            ..PodCondition::default()
        };
        Pod {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                uid: Some(uuid::Uuid::new_v4().to_string()),
                labels: (!self.labels.is_empty()).then(|| self.labels.clone()),
                annotations,
                owner_references,
                creation_timestamp: Some(now.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec {
                node_name: self.node.clone(),
                containers: vec![Container {
                    name: "main".to_owned(),
                    image: Some("registry.k8s.io/pause:3.10".to_owned()),
                    ..Container::default()
                }],
                volumes,
                termination_grace_period_seconds: Some(30),
                ..PodSpec::default()
            }),
            status: Some(PodStatus {
                phase: Some(if scheduled { "Running" } else { "Pending" }.to_owned()),
                conditions: Some(vec![condition("PodScheduled"), condition("Ready")]),
                start_time: Some(now),
                ..PodStatus::default()
            }),
        }
    }
}

/// The pod a ReplicaSet creates in place of `pod` (a new name with a random suffix), if
/// `pod` belongs to one.
pub(crate) fn replacement(pod: &Pod) -> Option<PodTemplate> {
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true) && o.kind == "ReplicaSet")?;
    let suffix: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(5)
        .collect();
    Some(PodTemplate {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: format!("{}-{suffix}", owner.name),
        node: None,
        owner: PodOwner::ReplicaSet(owner.name.clone()),
        labels: pod.metadata.labels.clone().unwrap_or_default(),
        empty_dir: pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.as_ref())
            .is_some_and(|v| v.iter().any(|v| v.empty_dir.is_some())),
    })
}
