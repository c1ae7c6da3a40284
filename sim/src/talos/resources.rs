//! COSI resources of a simulated node, rendered from its state: registered types, specs in
//! both encodings, and versions that increase whenever a resource changes.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use factory_client::InstallerRef;
use prost::Message;
use serde_json::{Value, json};
use talos_client::proto::cosi::resource as cosi;
use talos_client::proto::resource::config::MachineConfigSpec;
use talos_client::proto::talos::resource::definitions::{extensions, k8s, runtime, v1alpha1};
use talos_client::resources::{
    BootId, ExtensionServiceConfig, ExtensionServiceConfigStatus, ExtensionStatus,
    ImageFactorySchematic, KernelParamStatus, MachineConfig, MachineStatus, NodeStatus, Nodename,
    ResourceKind, Service, Version,
};
use time::OffsetDateTime;

use super::node::NodeState;
use super::spec::NodeSpec;
use super::version::{TalosVersion, has_boot_id_resource, has_image_factory_schematic_resource};

/// A registered resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResourceType {
    pub(crate) name: &'static str,
    pub(crate) namespace: &'static str,
    /// Reading needs `os:admin`.
    pub(crate) sensitive: bool,
    owner: &'static str,
}

const fn kind<K: ResourceKind>(sensitive: bool, owner: &'static str) -> ResourceType {
    ResourceType {
        name: K::TYPE,
        namespace: K::NAMESPACE,
        sensitive,
        owner,
    }
}

const TYPES: &[ResourceType] = &[
    kind::<ExtensionStatus>(false, "runtime.ExtensionStatusController"),
    kind::<MachineConfig>(true, ""),
    kind::<ExtensionServiceConfig>(true, "runtime.ExtensionServiceConfigController"),
    kind::<ExtensionServiceConfigStatus>(false, "runtime.ExtensionServiceConfigFilesController"),
    kind::<MachineStatus>(false, "runtime.MachineStatusController"),
    kind::<KernelParamStatus>(false, "runtime.KernelParamSpecController"),
    kind::<Service>(false, "v1alpha1.ServiceController"),
    kind::<Version>(false, "runtime.VersionController"),
    kind::<BootId>(false, "runtime.BootIDController"),
    kind::<ImageFactorySchematic>(false, "runtime.ImageFactorySchematicController"),
    kind::<Nodename>(false, "k8s.NodenameController"),
    kind::<NodeStatus>(false, "k8s.NodeStatusController"),
];

/// The type registered under `name` on a node running `version`.
pub(crate) fn resource_type(name: &str, version: &TalosVersion) -> Option<ResourceType> {
    TYPES
        .iter()
        .copied()
        .filter(|t| t.name != BootId::TYPE || has_boot_id_resource(version))
        .filter(|t| {
            t.name != ImageFactorySchematic::TYPE || has_image_factory_schematic_resource(version)
        })
        .find(|t| t.name == name)
}

/// One resource before versioning.
struct Rendered {
    id: String,
    proto: Vec<u8>,
    yaml: String,
}

fn rendered(id: impl Into<String>, spec: &impl Message, yaml: Value) -> Rendered {
    rendered_text(
        id,
        spec,
        serde_yaml_ng::to_string(&yaml).unwrap_or_default(),
    )
}

/// A resource whose YAML form is given as text (the machine configuration is its own YAML).
fn rendered_text(id: impl Into<String>, spec: &impl Message, yaml: String) -> Rendered {
    Rendered {
        id: id.into(),
        proto: spec.encode_to_vec(),
        yaml,
    }
}

/// Creation and update bookkeeping per (type, id); reset on every boot.
#[derive(Debug, Default)]
pub(crate) struct ResourceVersions {
    entries: HashMap<(String, String), Versioned>,
}

#[derive(Debug, Clone, Copy)]
struct Versioned {
    hash: u64,
    version: u64,
    created: OffsetDateTime,
    updated: OffsetDateTime,
}

impl ResourceVersions {
    fn stamp(&mut self, type_name: &str, id: &str, proto: &[u8], now: OffsetDateTime) -> Versioned {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        proto.hash(&mut hasher);
        let hash = hasher.finish();
        let entry = self
            .entries
            .entry((type_name.to_owned(), id.to_owned()))
            .or_insert(Versioned {
                hash,
                version: 1,
                created: now,
                updated: now,
            });
        if entry.hash != hash {
            entry.hash = hash;
            entry.version += 1;
            entry.updated = now;
        }
        *entry
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

/// All resources of `resource_type` on the node, versioned, sorted by id.
pub(crate) fn list(
    spec: &NodeSpec,
    state: &mut NodeState,
    resource_type: ResourceType,
    now: OffsetDateTime,
) -> Vec<cosi::Resource> {
    let mut items = render(spec, state, resource_type.name);
    items.sort_by_key(|item| natural_key(&item.id));
    items
        .into_iter()
        .map(|item| {
            let stamp =
                state
                    .resource_versions
                    .stamp(resource_type.name, &item.id, &item.proto, now);
            cosi::Resource {
                metadata: Some(cosi::Metadata {
                    namespace: resource_type.namespace.to_owned(),
                    r#type: resource_type.name.to_owned(),
                    id: item.id,
                    version: stamp.version.to_string(),
                    owner: resource_type.owner.to_owned(),
                    phase: "running".to_owned(),
                    created: Some(timestamp(stamp.created)),
                    updated: Some(timestamp(stamp.updated)),
                    ..Default::default()
                }),
                spec: Some(cosi::Spec {
                    proto_spec: item.proto,
                    yaml_spec: item.yaml,
                }),
            }
        })
        .collect()
}

fn natural_key(id: &str) -> (u64, String) {
    (id.parse().unwrap_or(u64::MAX), id.to_owned())
}

fn timestamp(at: OffsetDateTime) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.unix_timestamp(),
        nanos: i32::try_from(at.nanosecond()).unwrap_or_default(),
    }
}

fn render(spec: &NodeSpec, state: &mut NodeState, type_name: &str) -> Vec<Rendered> {
    match type_name {
        t if t == ExtensionStatus::TYPE => extension_statuses(state),
        t if t == MachineConfig::TYPE => machine_configs(state),
        t if t == ExtensionServiceConfig::TYPE => extension_service_configs(state),
        t if t == ExtensionServiceConfigStatus::TYPE => esc_statuses(state),
        t if t == MachineStatus::TYPE => vec![machine_status(state)],
        t if t == KernelParamStatus::TYPE => vec![ip_forward()],
        t if t == Service::TYPE => services(state),
        t if t == Version::TYPE => vec![version(state)],
        t if t == BootId::TYPE => vec![boot_id(state)],
        t if t == ImageFactorySchematic::TYPE => {
            image_factory_schematic(state).into_iter().collect()
        }
        t if t == Nodename::TYPE => vec![nodename(spec)],
        t if t == NodeStatus::TYPE => vec![node_status(spec, state)],
        _ => Vec::new(),
    }
}

fn extension_statuses(state: &NodeState) -> Vec<Rendered> {
    state
        .extensions
        .iter()
        .enumerate()
        .map(|(index, extension)| {
            let image = format!("{index:03}.sqsh");
            let layer = extensions::Layer {
                image: image.clone(),
                metadata: Some(extensions::Metadata {
                    name: extension.name.clone(),
                    version: extension.version.clone(),
                    author: extension.author.clone(),
                    description: extension.description.clone(),
                    compatibility: Some(extensions::Compatibility {
                        talos: Some(extensions::Constraint {
                            version: ">= v1.9.0".to_owned(),
                        }),
                    }),
                    extra_info: String::new(),
                }),
            };
            let yaml = json!({
                "image": image,
                "metadata": {
                    "name": extension.name,
                    "version": extension.version,
                    "author": extension.author,
                    "description": extension.description,
                    "compatibility": { "talos": { "version": ">= v1.9.0" } },
                },
            });
            rendered(index.to_string(), &layer, yaml)
        })
        .collect()
}

fn machine_configs(state: &NodeState) -> Vec<Rendered> {
    let text = String::from_utf8_lossy(&state.config).into_owned();
    let spec = MachineConfigSpec {
        yaml_marshalled: state.config.clone(),
    };
    ["v1alpha1", "persistent"]
        .into_iter()
        .map(|id| rendered_text(id, &spec, text.clone()))
        .collect()
}

fn extension_service_configs(state: &NodeState) -> Vec<Rendered> {
    state
        .escs
        .iter()
        .map(|(name, record)| {
            let files: Vec<runtime::ExtensionServiceConfigFile> = record
                .config
                .config_files
                .iter()
                .map(|f| runtime::ExtensionServiceConfigFile {
                    content: f.content.clone(),
                    mount_path: f.mount_path.clone(),
                })
                .collect();
            let yaml = json!({
                "files": files.iter().map(|f| json!({"content": f.content, "mountPath": f.mount_path})).collect::<Vec<_>>(),
                "environment": record.config.environment,
            });
            let spec = runtime::ExtensionServiceConfigSpec {
                files,
                environment: record.config.environment.clone(),
            };
            rendered(name.clone(), &spec, yaml)
        })
        .collect()
}

fn esc_statuses(state: &NodeState) -> Vec<Rendered> {
    state
        .escs
        .iter()
        .map(|(name, record)| {
            let spec = runtime::ExtensionServiceConfigStatusSpec {
                spec_version: record.version.to_string(),
            };
            rendered(
                name.clone(),
                &spec,
                json!({ "specVersion": spec.spec_version }),
            )
        })
        .collect()
}

fn machine_status(state: &NodeState) -> Rendered {
    let unmet: Vec<runtime::UnmetCondition> = if state.ready {
        Vec::new()
    } else {
        vec![runtime::UnmetCondition {
            name: "services".to_owned(),
            reason: "some services are not running yet".to_owned(),
        }]
    };
    let spec = runtime::MachineStatusSpec {
        stage: i32::from(state.stage),
        status: Some(runtime::MachineStatusStatus {
            ready: state.ready,
            unmet_conditions: unmet.clone(),
        }),
    };
    let stage = state
        .stage
        .as_str_name()
        .to_ascii_lowercase()
        .replace('_', " ");
    let yaml = json!({
        "stage": stage,
        "status": {
            "ready": state.ready,
            "unmetConditions": unmet.iter().map(|c| json!({"name": c.name, "reason": c.reason})).collect::<Vec<_>>(),
        },
    });
    rendered("machine", &spec, yaml)
}

fn ip_forward() -> Rendered {
    let spec = runtime::KernelParamStatusSpec {
        current: "1".to_owned(),
        default: "0".to_owned(),
        unsupported: false,
    };
    rendered(
        "proc.sys.net.ipv4.ip_forward",
        &spec,
        json!({ "current": "1", "default": "0", "unsupported": false }),
    )
}

fn services(state: &NodeState) -> Vec<Rendered> {
    state
        .services
        .iter()
        .map(|(id, service)| {
            let spec = v1alpha1::ServiceSpec {
                running: service.is_running(),
                healthy: service.is_healthy(),
                unknown: !service.has_health_check,
            };
            let yaml = json!({ "running": spec.running, "healthy": spec.healthy, "unknown": spec.unknown });
            rendered(id.clone(), &spec, yaml)
        })
        .collect()
}

fn version(state: &NodeState) -> Rendered {
    let spec = runtime::VersionSpec {
        version: state.installed.version.clone(),
        name: "Talos".to_owned(),
    };
    rendered(
        "version",
        &spec,
        json!({ "version": spec.version, "name": spec.name }),
    )
}

fn boot_id(state: &mut NodeState) -> Rendered {
    let boot_id = state.read_boot_id();
    let yaml = json!({ "bootID": boot_id });
    rendered("boot-id", &runtime::BootIdSpec { boot_id }, yaml)
}

/// The factory schematic of the running image; none for an image no factory built. The
/// API URL is the installer's registry host over https; `flavor` stays empty.
fn image_factory_schematic(state: &NodeState) -> Option<Rendered> {
    let schematic_id = state.installed.schematic?.to_string();
    let apiurl = InstallerRef::parse(&state.installed.image)
        .map(|installer| format!("https://{}", installer.host))
        .unwrap_or_default();
    let yaml = json!({ "schematicId": schematic_id, "flavor": "", "apiUrl": apiurl });
    let spec = runtime::ImageFactorySchematicSpec {
        schematic_id,
        flavor: String::new(),
        apiurl,
    };
    Some(rendered("image-factory-schematic", &spec, yaml))
}

fn nodename(spec: &NodeSpec) -> Rendered {
    let nodename = k8s::NodenameSpec {
        nodename: spec.hostname.clone(),
        hostname_version: "1".to_owned(),
        skip_node_registration: false,
    };
    rendered(
        "nodename",
        &nodename,
        json!({ "nodename": spec.hostname, "hostnameVersion": "1", "skipNodeRegistration": false }),
    )
}

fn node_status(spec: &NodeSpec, state: &NodeState) -> Rendered {
    let mut labels = HashMap::from([
        ("kubernetes.io/hostname".to_owned(), spec.hostname.clone()),
        ("kubernetes.io/os".to_owned(), "linux".to_owned()),
    ]);
    if spec.is_control_plane() {
        labels.insert(
            "node-role.kubernetes.io/control-plane".to_owned(),
            String::new(),
        );
    }
    let status = k8s::NodeStatusSpec {
        nodename: spec.hostname.clone(),
        node_ready: state.ready,
        unschedulable: false,
        labels: labels.clone(),
        annotations: HashMap::new(),
        pod_cidrs: Vec::new(),
    };
    let yaml = json!({
        "nodename": spec.hostname,
        "nodeReady": state.ready,
        "unschedulable": false,
        "labels": labels,
    });
    rendered(spec.hostname.clone(), &status, yaml)
}
