//! Machine configuration on a simulated node: the initial config, and how
//! `ApplyConfiguration` judges a new one (validation, mode, reboot need, dry-run summary).

use std::collections::BTreeSet;

use serde_yaml_ng::Value;
use talos_client::machine_config::{
    ConfigDocuments, ExtensionServiceConfig, MachineConfigError, V1ALPHA1_KIND,
};
use talos_client::proto::machine::apply_configuration_request::Mode;
use tonic::Status;

use super::spec::NodeSpec;
use super::version::TalosVersion;

/// Settings shared by every node's initial configuration.
#[derive(Debug, Clone)]
pub(crate) struct ClusterSettings {
    pub(crate) cluster_name: String,
    pub(crate) service_cidr: String,
    pub(crate) pod_cidr: String,
    pub(crate) control_plane_endpoint: String,
}

/// The configuration a node was installed with: one v1alpha1 document.
pub(crate) fn initial_config(
    spec: &NodeSpec,
    install_image: &str,
    cluster: &ClusterSettings,
) -> Vec<u8> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let token = format!("{}.{}", &token[..6], &token[6..22]);
    format!(
        "version: v1alpha1\n\
         debug: false\n\
         persist: true\n\
         machine:\n    \
             type: {machine_type}\n    \
             token: {token}\n    \
             certSANs: []\n    \
             kubelet:\n        \
                 image: ghcr.io/siderolabs/kubelet:v1.33.1\n    \
             network:\n        \
                 hostname: {hostname}\n    \
             install:\n        \
                 disk: /dev/sda\n        \
                 image: {install_image}\n        \
                 wipe: false\n\
         cluster:\n    \
             clusterName: {cluster_name}\n    \
             controlPlane:\n        \
                 endpoint: {endpoint}\n    \
             network:\n        \
                 dnsDomain: cluster.local\n        \
                 podSubnets:\n            \
                     - {pod_cidr}\n        \
                 serviceSubnets:\n            \
                     - {service_cidr}\n",
        machine_type = spec.role.machine_type(),
        hostname = spec.hostname,
        cluster_name = cluster.cluster_name,
        endpoint = cluster.control_plane_endpoint,
        pod_cidr = cluster.pod_cidr,
        service_cidr = cluster.service_cidr,
    )
    .into_bytes()
}

/// What an accepted `ApplyConfiguration` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApplyPlan {
    /// Nothing changes; the summary goes into `mode_details`.
    DryRun { mode: Mode, summary: String },
    /// The configuration is applied now; `reboot` when the node must reboot for it.
    Apply {
        mode: Mode,
        details: String,
        reboot: bool,
    },
    /// Kept for the next boot.
    Stage,
    /// Applied now and reverted after the try timeout unless replaced.
    Try,
}

/// The ExtensionServiceConfigs of stored configuration bytes (none when they do not parse).
pub(crate) fn stored_escs(bytes: &[u8]) -> Vec<ExtensionServiceConfig> {
    ConfigDocuments::parse(bytes)
        .map(|documents| documents.extension_service_configs())
        .unwrap_or_default()
}

/// The configuration's ExtensionServiceConfigs, after Talos's validation.
pub(crate) fn extension_service_configs(
    documents: &ConfigDocuments,
) -> Result<Vec<ExtensionServiceConfig>, Status> {
    let escs = documents.extension_service_configs();
    for esc in &escs {
        esc.validate()
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
    }
    Ok(escs)
}

/// A new configuration that passed validation: its documents and its v1alpha1 tree.
#[derive(Debug)]
pub(crate) struct NewConfig {
    pub(crate) documents: ConfigDocuments,
    /// The v1alpha1 document, parsed once for every check.
    pub(crate) v1alpha1: Value,
    /// The validated ExtensionServiceConfig documents.
    pub(crate) escs: Vec<ExtensionServiceConfig>,
}

/// Parses and validates a new configuration the way machined does.
pub(crate) fn parse_for_apply(bytes: &[u8]) -> Result<NewConfig, Status> {
    let documents = ConfigDocuments::parse(bytes).map_err(|error| match error {
        MachineConfigError::DuplicateDocument { id } => {
            Status::invalid_argument(format!("duplicate document: {id}"))
        }
        other => Status::invalid_argument(other.to_string()),
    })?;
    let Some(v1alpha1) = documents.find(V1ALPHA1_KIND, "") else {
        return Err(Status::invalid_argument(
            "the configuration has no v1alpha1 document: did you mean to patch the machine config instead?",
        ));
    };
    let v1alpha1: Value = serde_yaml_ng::from_str(v1alpha1.body()).unwrap_or_default();
    let unknown = unknown_v1alpha1_keys(&v1alpha1);
    if !unknown.is_empty() {
        return Err(Status::invalid_argument(format!(
            "failed to parse config: unknown keys found during decoding: {}",
            unknown.join(", ")
        )));
    }
    let escs = extension_service_configs(&documents)?;
    Ok(NewConfig {
        documents,
        v1alpha1,
        escs,
    })
}

/// The warnings Talos returns with an accepted configuration (deprecated fields).
pub(crate) fn warnings(config: &NewConfig) -> Vec<String> {
    let install_extensions = config.v1alpha1["machine"]["install"]
        .get("extensions")
        .is_some();
    if install_extensions {
        vec![
            ".machine.install.extensions is deprecated, please see https://www.talos.dev/latest/talos-guides/install/boot-assets/"
                .to_owned(),
        ]
    } else {
        Vec::new()
    }
}

const TOP_LEVEL_KEYS: &[&str] = &["version", "debug", "persist", "machine", "cluster"];
const MACHINE_KEYS: &[&str] = &[
    "type",
    "token",
    "ca",
    "acceptedCAs",
    "certSANs",
    "controlPlane",
    "kubelet",
    "pods",
    "network",
    "disks",
    "install",
    "files",
    "env",
    "time",
    "sysctls",
    "sysfs",
    "registries",
    "systemDiskEncryption",
    "features",
    "udev",
    "logging",
    "kernel",
    "seccompProfiles",
    "baseRuntimeSpecOverrides",
    "nodeLabels",
    "nodeAnnotations",
    "nodeTaints",
];
const CLUSTER_KEYS: &[&str] = &[
    "id",
    "secret",
    "controlPlane",
    "clusterName",
    "network",
    "token",
    "aescbcEncryptionSecret",
    "secretboxEncryptionSecret",
    "ca",
    "acceptedCAs",
    "aggregatorCA",
    "serviceAccount",
    "apiServer",
    "controllerManager",
    "proxy",
    "scheduler",
    "discovery",
    "etcd",
    "coreDNS",
    "externalCloudProvider",
    "extraManifests",
    "extraManifestHeaders",
    "inlineManifests",
    "adminKubeconfig",
    "allowSchedulingOnControlPlanes",
    "allowSchedulingOnMasters",
];
const INSTALL_KEYS: &[&str] = &[
    "disk",
    "diskSelector",
    "extraKernelArgs",
    "image",
    "extensions",
    "wipe",
    "legacyBIOSSupport",
    "grubUseUKICmdline",
];

/// Keys of the v1alpha1 document that Talos's strict decoder would not know, as dotted
/// paths (the top level, `machine`, `machine.install` and `cluster` are checked).
fn unknown_v1alpha1_keys(document: &Value) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut check = |prefix: &str, value: Option<&Value>, known: &[&str]| {
        for key in value
            .and_then(Value::as_mapping)
            .into_iter()
            .flat_map(|m| m.keys())
        {
            let name = key.as_str().unwrap_or_default();
            if !known.contains(&name) {
                unknown.push(format!("{prefix}{name}"));
            }
        }
    };
    check("", Some(document), TOP_LEVEL_KEYS);
    let machine = document.get("machine");
    check("machine.", machine, MACHINE_KEYS);
    check(
        "machine.install.",
        machine.and_then(|m| m.get("install")),
        INSTALL_KEYS,
    );
    check("cluster.", document.get("cluster"), CLUSTER_KEYS);
    unknown
}

/// Decides what applying `new` over `current` means for this mode and version.
pub(crate) fn plan_apply(
    current: &[u8],
    new: &NewConfig,
    mode: Mode,
    dry_run: bool,
    version: &TalosVersion,
) -> Result<ApplyPlan, Status> {
    let auto_never_reboots = version.at_least(1, 14);
    if mode == Mode::Reboot && auto_never_reboots {
        return Err(Status::unimplemented(
            "the REBOOT mode is not supported anymore, use AUTO or NO_REBOOT",
        ));
    }
    let needs_reboot = !auto_never_reboots && v1alpha1_needs_reboot(current, new);
    let (mode, reboot) = match (mode, needs_reboot) {
        (Mode::Reboot, _) | (Mode::Auto, true) => (Mode::Reboot, true),
        (Mode::Auto | Mode::NoReboot, false) => (Mode::NoReboot, false),
        (Mode::NoReboot, true) => {
            return Err(Status::invalid_argument(
                "apply configuration: the configuration change cannot be applied without a reboot; use the AUTO mode",
            ));
        }
        (Mode::Staged | Mode::Try, _) => (mode, false),
    };
    if dry_run {
        return Ok(ApplyPlan::DryRun {
            mode,
            summary: dry_run_summary(current, &new.documents.to_bytes(), mode),
        });
    }
    Ok(match mode {
        Mode::Staged => ApplyPlan::Stage,
        Mode::Try => ApplyPlan::Try,
        _ => ApplyPlan::Apply {
            mode,
            details: if reboot {
                "Applied configuration with a reboot".to_owned()
            } else {
                "Applied configuration without a reboot".to_owned()
            },
            reboot,
        },
    })
}

/// The v1alpha1 subtrees Talos applies without a reboot (its `CanApplyImmediate` list).
const IMMEDIATE_MACHINE_KEYS: &[&str] = &[
    "time",
    "certSANs",
    "install",
    "network",
    "nodeLabels",
    "nodeAnnotations",
    "nodeTaints",
    "sysfs",
    "sysctls",
    "logging",
    "controlPlane",
    "kubelet",
    "kernel",
    "registries",
    "features",
    "pods",
    "seccompProfiles",
    "udev",
    "env",
];

/// Whether the v1alpha1 documents differ outside what Talos applies immediately.
fn v1alpha1_needs_reboot(current: &[u8], new: &NewConfig) -> bool {
    let old_doc = ConfigDocuments::parse(current)
        .ok()
        .and_then(|docs| docs.find(V1ALPHA1_KIND, "").map(|d| d.body().to_owned()))
        .and_then(|text| serde_yaml_ng::from_str::<Value>(&text).ok());
    let reduce = |mut value: Value| -> Option<Value> {
        let root = value.as_mapping_mut()?;
        root.remove("cluster");
        root.remove("debug");
        if let Some(machine) = root.get_mut("machine").and_then(Value::as_mapping_mut) {
            for key in IMMEDIATE_MACHINE_KEYS {
                machine.remove(*key);
            }
        }
        Some(value)
    };
    old_doc.and_then(reduce) != reduce(new.v1alpha1.clone())
}

/// `mode_details` of a dry run: the mode and a line diff (values of secret-looking lines hidden).
fn dry_run_summary(current: &[u8], new: &[u8], mode: Mode) -> String {
    let old_text = String::from_utf8_lossy(current);
    let new_text = String::from_utf8_lossy(new);
    let old_lines: BTreeSet<&str> = old_text.lines().collect();
    let new_lines: BTreeSet<&str> = new_text.lines().collect();
    let mut diff = String::new();
    for line in old_text.lines().filter(|l| !new_lines.contains(l)) {
        diff.push_str(&format!("-{}\n", redact(line)));
    }
    for line in new_text.lines().filter(|l| !old_lines.contains(l)) {
        diff.push_str(&format!("+{}\n", redact(line)));
    }
    let applied = if mode == Mode::Reboot {
        "Applied configuration with a reboot"
    } else {
        "Applied configuration without a reboot"
    };
    format!("Dry run summary:\n{applied} (skipped in dry-run).\n\nConfig diff:\n\n{diff}")
}

fn redact(line: &str) -> String {
    let secret = ["AUTHKEY", "AUTH_KEY", "SECRET", "TOKEN", "KEY="];
    let upper = line.to_ascii_uppercase();
    if secret.iter().any(|marker| upper.contains(marker))
        && let Some((name, _)) = line.split_once('=')
    {
        return format!("{name}=***");
    }
    line.to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::unknown_v1alpha1_keys;

    fn keys(body: &str) -> Vec<String> {
        unknown_v1alpha1_keys(&serde_yaml_ng::from_str(body).unwrap())
    }

    #[test]
    fn misspelled_keys_are_unknown_and_real_ones_accepted() {
        let body = "version: v1alpha1\nmachine:\n  type: worker\n  instal:\n    image: x\n  install:\n    image: y\n    imag: z\ncluster:\n  clusterName: c\n";
        assert_eq!(keys(body), ["machine.instal", "machine.install.imag"]);
        assert!(keys("version: v1alpha1\nmachine:\n  install:\n    image: y\n").is_empty());
    }
}
