//! `report.json` and the summary table: every node with its final status, schematic, image,
//! tailnet device, routes, timings and (for converged nodes) a final validation.

use serde::Serialize;
use talos_rollout::core::gate::{GateStage, Observed, stage_gate};
use talos_rollout::core::machine::Summary;
use talos_rollout::core::plan::NodeAction;
use talos_rollout::core::{Plan, PortError};
use talos_rollout::driver::Ports;
use talos_rollout::profile::ExtensionProfile;
use talos_rollout::profiles::tailscale::TailnetPort;

use crate::output::{short_id, table};
use crate::progress::{EventLog, PhaseTiming};
use crate::retry::transient;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Cluster name.
    pub cluster: String,
    /// True when every node converged and passed the final validation.
    pub succeeded: bool,
    /// The node whose failure halted the rollout, or the rollout-level reason.
    pub halted_by: Option<String>,
    /// Target schematics: ID and official extensions.
    pub schematics: Vec<ReportSchematic>,
    /// Credential (auth key) minted for the rollout (ID only), if any.
    pub auth_key_id: Option<String>,
    /// Per node, in plan order.
    pub nodes: Vec<ReportNode>,
    /// Warnings seen during the rollout.
    pub warnings: Vec<String>,
}

/// A target schematic.
#[derive(Debug, Clone, Serialize)]
pub struct ReportSchematic {
    /// Schematic ID.
    pub id: String,
    /// Its official extensions.
    pub extensions: Vec<String>,
}

/// One node.
#[derive(Debug, Clone, Serialize)]
pub struct ReportNode {
    /// Talos node target.
    pub node: String,
    /// Kubernetes node name.
    pub hostname: String,
    /// What the plan wanted (`upgrade`, `config_only`, `skip`).
    pub action: String,
    /// Final phase (`Done`, `Halted`, `RolledBack`, ...).
    pub status: String,
    /// Running Talos version now (None: unreadable).
    pub version: Option<String>,
    /// Schematic before, target, and running now.
    pub schematic: Transition,
    /// Installer image before, target, and configured now.
    pub image: Transition,
    /// The tailnet device now.
    pub device: Option<ReportDevice>,
    /// Seconds from start to the final phase.
    pub seconds: Option<f64>,
    /// Time spent per phase.
    pub phases: Vec<PhaseTiming>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Causes the driver recognised.
    pub causes: Vec<String>,
    /// Final validation (converged nodes): failing checks, empty when it passed.
    pub failing_checks: Vec<String>,
}

/// Before, target and live values.
#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    /// Before the rollout.
    pub from: Option<String>,
    /// What the plan targets.
    pub to: Option<String>,
    /// Observed at the end.
    pub live: Option<String>,
}

/// A tailnet device.
#[derive(Debug, Clone, Serialize)]
pub struct ReportDevice {
    /// Device hostname.
    pub hostname: String,
    /// Connected to the control plane.
    pub online: bool,
    /// Advertised routes.
    pub advertised_routes: Vec<String>,
    /// Approved routes.
    pub enabled_routes: Vec<String>,
}

/// Reads every node's final state through the ports and assembles the report.
pub async fn build(
    plan: &Plan,
    summary: &Summary,
    log: &EventLog,
    ports: &Ports,
    tailnet: Option<&dyn TailnetPort>,
    profile: &dyn ExtensionProfile,
    auth_key_id: Option<String>,
) -> Report {
    let mut nodes = Vec::new();
    for node_plan in &plan.nodes {
        let phase = summary
            .nodes
            .iter()
            .find(|(name, _)| name == &node_plan.node)
            .map(|(_, phase)| phase.to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        let timeline = log.nodes.get(&node_plan.node).cloned().unwrap_or_default();
        let retryable = |error: &PortError| error.is_retryable();
        let live = transient(retryable, || ports.talos.inspect(&node_plan.node))
            .await
            .ok();
        let observation = transient(retryable, || ports.talos.observe(&node_plan.node))
            .await
            .ok();
        let hostname = node_plan
            .extension
            .details
            .get("hostname")
            .cloned()
            .unwrap_or_else(|| node_plan.nodename.clone());
        let device = match tailnet {
            Some(tailnet) => transient(retryable, || tailnet.device(&hostname))
                .await
                .ok()
                .flatten(),
            None => None,
        };
        let failing_checks = if phase == "Done" && !node_plan.is_skipped() {
            let gate = stage_gate(GateStage::Soak, node_plan, 0, &plan.settings);
            let mut observed = Observed {
                node: observation,
                ..Observed::default()
            };
            for name in gate.condition().needs().named {
                if node_plan.extension.soak_checks.contains(&name) {
                    let result = profile.check(&name, node_plan).await;
                    observed.named.insert(name, result);
                }
            }
            let verdict = gate.evaluate(node_plan, &observed);
            verdict
                .checks
                .iter()
                .filter(|check| !check.passed)
                .map(|check| format!("{} ({})", check.name, check.detail))
                .collect()
        } else {
            Vec::new()
        };
        nodes.push(ReportNode {
            node: node_plan.node.clone(),
            hostname: node_plan.nodename.clone(),
            action: match &node_plan.action {
                NodeAction::Upgrade => "upgrade".to_owned(),
                NodeAction::ConfigOnly => "config_only".to_owned(),
                NodeAction::Skip { .. } => "skip".to_owned(),
            },
            status: phase,
            version: live.as_ref().map(|live| live.version.clone()),
            schematic: Transition {
                from: node_plan.from.schematic_id.clone(),
                to: node_plan.to.schematic_id.clone(),
                live: live.as_ref().and_then(|live| live.schematic_id.clone()),
            },
            image: Transition {
                from: node_plan.from.install_image.clone(),
                to: node_plan.to.install_image.clone(),
                live: live.as_ref().and_then(|live| live.install_image.clone()),
            },
            device: device.map(|device| ReportDevice {
                hostname: device.hostname,
                online: device.online,
                advertised_routes: device.advertised_routes,
                enabled_routes: device.enabled_routes,
            }),
            seconds: timeline.seconds,
            phases: timeline.phases,
            failure: timeline
                .failure
                .map(|failure| format!("{}: {}", failure.phase, failure.reason)),
            causes: timeline
                .diagnosis
                .map(|diagnosis| diagnosis.causes.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            failing_checks,
        });
    }
    let succeeded = summary.succeeded() && nodes.iter().all(|node| node.failing_checks.is_empty());
    Report {
        cluster: plan.cluster.clone(),
        succeeded,
        halted_by: summary.halted_by.clone(),
        schematics: plan
            .schematics
            .iter()
            .map(|schematic| ReportSchematic {
                id: schematic.id.clone(),
                extensions: schematic.extensions.clone(),
            })
            .collect(),
        auth_key_id,
        nodes,
        warnings: log.warnings.clone(),
    }
}

/// The summary table.
pub fn render(report: &Report) -> String {
    let rows: Vec<Vec<String>> = report
        .nodes
        .iter()
        .map(|node| {
            let device = node.device.as_ref().map_or("-".to_owned(), |device| {
                format!(
                    "{} {}",
                    device.hostname,
                    if device.online { "online" } else { "OFFLINE" }
                )
            });
            let routes = node
                .device
                .as_ref()
                .map(|device| device.enabled_routes.join(","))
                .filter(|routes| !routes.is_empty())
                .unwrap_or_else(|| "-".to_owned());
            let note = node
                .failure
                .clone()
                .or_else(|| {
                    (!node.failing_checks.is_empty()).then(|| node.failing_checks.join("; "))
                })
                .unwrap_or_default();
            vec![
                node.node.clone(),
                node.hostname.clone(),
                node.status.clone(),
                node.version.clone().unwrap_or_else(|| "?".into()),
                node.schematic
                    .live
                    .as_deref()
                    .map_or("?", short_id)
                    .to_owned(),
                device,
                routes,
                node.seconds.map_or("-".to_owned(), |s| format!("{s:.0}s")),
                note,
            ]
        })
        .collect();
    let mut text = table(
        &[
            "NODE",
            "HOSTNAME",
            "STATUS",
            "VERSION",
            "SCHEMATIC",
            "DEVICE",
            "APPROVED ROUTES",
            "TOOK",
            "NOTE",
        ],
        &rows,
    );
    match (&report.halted_by, report.succeeded) {
        (_, true) => text.push_str("result: every node converged and verified\n"),
        (Some(by), false) => text.push_str(&format!("result: halted by {by}\n")),
        (None, false) => text.push_str("result: not every node converged\n"),
    }
    text
}
