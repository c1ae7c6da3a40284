//! The drift check: what the repository declares for each node against what the node runs
//! (version, schematic, installer image, `ExtensionServiceConfig` documents compared by a
//! digest that leaves secret values out).

use std::collections::BTreeSet;

use factory_client::InstallerRef;
use rollout_core::ExtensionServiceConfig;
use rollout_core::esc::{EscDigest, digest, redacted_environment};
use secrecy::ExposeSecret;
use serde::Serialize;
use talos_client::machine_config::ConfigDocuments;

use super::expected::{Expectation, expectations};
use super::repository::Repository;
use super::secret_refs;
use crate::ports::TalosPort;

/// One value that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// What (`talosVersion`, `schematic`, `installer`, `esc:<name>`, `node`).
    pub field: String,
    /// What the repository declares.
    pub repository: String,
    /// What the node runs.
    pub live: String,
}

/// The differences of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeDrift {
    /// The node as the Talos API targets it.
    pub node: String,
    /// Its talconfig hostname, when listed.
    pub hostname: Option<String>,
    /// Empty when the node is in step.
    pub differences: Vec<Difference>,
}

/// The drift check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftReport {
    /// Every checked node, in the order given.
    pub nodes: Vec<NodeDrift>,
}

impl DriftReport {
    /// True when no node differs.
    pub fn in_step(&self) -> bool {
        self.nodes.iter().all(|node| node.differences.is_empty())
    }
}

/// Compares the repository with the nodes (read through `talos`; nothing is changed).
///
/// # Errors
/// [`crate::Error::Repository`] when the repository is unusable; [`crate::Error::Port`]
/// when a node cannot be read.
pub async fn check(
    repo: &Repository,
    talos: &dyn TalosPort,
    nodes: &[String],
) -> crate::Result<DriftReport> {
    let snapshot = repo.load()?;
    let declared = expectations(repo, &snapshot)?;
    let mut report = DriftReport { nodes: Vec::new() };
    for node in nodes {
        let facts = talos.node_facts(node).await?;
        let config = talos.read_machine_config(node).await?;
        let live_escs = ConfigDocuments::parse(config.expose_secret())
            .map(|documents| documents.extension_service_configs());
        let expectation = declared.iter().find(|e| e.describes(node, &facts.nodename));
        let differences = match (expectation, live_escs) {
            (None, _) => vec![Difference {
                field: "node".to_owned(),
                repository: "not listed in talconfig.yaml".to_owned(),
                live: facts.nodename.clone(),
            }],
            (Some(_), Err(error)) => vec![Difference {
                field: "machine config".to_owned(),
                repository: "-".to_owned(),
                live: format!("cannot be read: {error}"),
            }],
            (Some(expectation), Ok(live_escs)) => compare(expectation, &facts, &live_escs),
        };
        report.nodes.push(NodeDrift {
            node: node.clone(),
            hostname: expectation.map(|e| e.hostname.clone()),
            differences,
        });
    }
    Ok(report)
}

fn compare(
    expectation: &Expectation,
    facts: &rollout_core::NodeFacts,
    live_escs: &[ExtensionServiceConfig],
) -> Vec<Difference> {
    let shown = |value: Option<&str>| value.unwrap_or("not set").to_owned();
    let mut differences = Vec::new();
    let mut differ = |field: &str, repository: String, live: String| {
        if repository != live {
            differences.push(Difference {
                field: field.to_owned(),
                repository,
                live,
            });
        }
    };
    differ(
        "talosVersion",
        shown(expectation.version.as_deref()),
        facts.version.clone(),
    );
    differ(
        "schematic",
        shown(expectation.schematic_id.as_deref()),
        shown(facts.schematic_id.as_deref()),
    );
    let installer = facts.install_image.as_deref().map(InstallerRef::parse);
    if let Some(Ok(installer)) = installer {
        let declared = format!(
            "{}:{}",
            shown(expectation.schematic_id.as_deref()),
            shown(expectation.version.as_deref())
        );
        let live = format!("{}:{}", installer.schematic_id, installer.version);
        differ("installer", declared, live);
    }
    let names: BTreeSet<&str> = expectation
        .escs
        .keys()
        .map(String::as_str)
        .chain(live_escs.iter().map(|esc| esc.name.as_str()))
        .collect();
    for name in names {
        let declared = expectation.escs.get(name).map(public_digest);
        let live = live_escs.iter().find(|esc| esc.name == name).map(|live| {
            match expectation.escs.get(name) {
                Some(declared) => public_digest(&secret_refs::as_declared(declared, live)),
                None => public_digest(live),
            }
        });
        let show = |digest: Option<EscDigest>| {
            digest.map_or("absent".to_owned(), |d| format!("digest {d}"))
        };
        differ(&format!("esc:{name}"), show(declared), show(live));
    }
    differences
}

/// A digest over the document with secret values left out, so that an env reference in
/// the repository matches the value on the node.
pub fn public_digest(esc: &ExtensionServiceConfig) -> EscDigest {
    digest(&ExtensionServiceConfig {
        environment: redacted_environment(esc),
        ..esc.clone()
    })
}
