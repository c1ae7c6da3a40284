//! The end-of-rollout report (`report.json`): every node with its final status, version,
//! schematic and image (before, target, live), the profile's live status (for Tailscale: the
//! tailnet device and its routes), timings, failure, recognised causes and — for converged
//! nodes — a final validation against the soak gate.

mod event_log;

use std::collections::HashMap;
use std::time::Duration;

use futures::{StreamExt, stream};

use rollout_core::Plan;
use rollout_core::gate::{GateStage, GateVerdict, Observed, stage_gate};
use rollout_core::machine::Summary;
use rollout_core::plan::{NodeAction, NodePlan};
use sdk_support::backoff::Backoff;
use serde::Serialize;

pub use event_log::{EventLog, NodeTimeline, PhaseTiming};

/// Six tries per read, 0.3 s doubling to at most 2 s, jittered: a dropped connection fails
/// every read in flight at once, and the final validation must outlast such a burst.
const REPORT_RETRY: Backoff =
    Backoff::new(Duration::from_millis(300), Duration::from_secs(2)).with_max_retries(5);

use crate::driver::Ports;
use crate::ports::{MAX_PARALLEL_NODE_READS, read_retrying};
use crate::profile::ExtensionProfile;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Cluster name.
    pub cluster: String,
    /// The extension profile rolled out.
    pub profile: String,
    /// True when every node converged and passed the final validation.
    pub succeeded: bool,
    /// The node whose failure halted the rollout, or the rollout-level reason.
    pub halted_by: Option<String>,
    /// Target schematics: ID and official extensions.
    pub schematics: Vec<ReportSchematic>,
    /// The credential (auth key) minted for the rollout, ID only.
    pub credential_id: Option<String>,
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
    /// Final phase (`Done`, `Halted`, `NotStarted`, `RolledBack`, ...).
    pub status: String,
    /// Running Talos version now (None: unreadable).
    pub version: Option<String>,
    /// Schematic before, target, and running now.
    pub schematic: Transition,
    /// Installer image before, target, and configured now.
    pub image: Transition,
    /// What the profile reports about the node now (for Tailscale: its tailnet device).
    pub extension_status: Option<serde_json::Value>,
    /// Seconds from start to the final phase.
    pub seconds: Option<f64>,
    /// Time spent per phase.
    pub phases: Vec<PhaseTiming>,
    /// Seconds the drain took (None: the rollout did not drain the node).
    pub drain_seconds: Option<f64>,
    /// Pods the drain evicted (`namespace/name`).
    pub evicted_pods: Vec<String>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Causes the driver recognised.
    pub causes: Vec<String>,
    /// Failing checks: for a converged node those of the final validation (empty when it
    /// passed), for a failed node those its last gate was waiting for.
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

/// Reads every node's final state through the ports (at most
/// [`MAX_PARALLEL_NODE_READS`] nodes at once) and assembles the report in plan order.
///
/// Reads are retried a few times when the failure is transient (a node mid-reboot).
pub async fn build(
    plan: &Plan,
    summary: &Summary,
    log: &EventLog,
    ports: &Ports,
    profile: &dyn ExtensionProfile,
    credential_id: Option<String>,
) -> Report {
    // Made up front, as in `Ports::discover` (keeps the caller's future `Send`).
    let phases: HashMap<&str, String> = summary
        .nodes
        .iter()
        .map(|(name, phase)| (name.as_str(), phase.to_string()))
        .collect();
    let reads: Vec<_> = plan
        .nodes
        .iter()
        .map(|node_plan| {
            let phase = phases
                .get(node_plan.node.as_str())
                .cloned()
                .unwrap_or_else(|| "unknown".to_owned());
            report_node(plan, node_plan, phase, log, ports, profile)
        })
        .collect();
    let nodes: Vec<ReportNode> = stream::iter(reads)
        .buffered(MAX_PARALLEL_NODE_READS)
        .collect()
        .await;
    let succeeded = summary.succeeded() && nodes.iter().all(|node| node.failing_checks.is_empty());
    Report {
        cluster: plan.cluster.clone(),
        profile: plan.profile.clone(),
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
        credential_id,
        nodes,
        warnings: log.warnings.clone(),
    }
}

/// One node's final state (`phase`: where the run left it): live reads, the profile's
/// status and, for a converged node, the final validation against the soak gate.
async fn report_node(
    plan: &Plan,
    node_plan: &NodePlan,
    phase: String,
    log: &EventLog,
    ports: &Ports,
    profile: &dyn ExtensionProfile,
) -> ReportNode {
    let timeline = log.nodes.get(&node_plan.node).cloned().unwrap_or_default();
    let live = read_retrying(&ports.clock, &REPORT_RETRY, || {
        ports.talos.inspect(&node_plan.node)
    })
    .await
    .ok();
    let observation = read_retrying(&ports.clock, &REPORT_RETRY, || {
        ports.talos.observe(&node_plan.node)
    })
    .await
    .ok();
    let extension_status = profile.live_status(node_plan).await;
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
        gate.evaluate(node_plan, &observed).failing_checks()
    } else {
        // A failed node: the checks its last gate was waiting for.
        timeline
            .failure
            .as_ref()
            .and_then(|failure| failure.last_verdict.as_ref())
            .map(GateVerdict::failing_checks)
            .unwrap_or_default()
    };
    ReportNode {
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
        extension_status,
        seconds: timeline.seconds,
        phases: timeline.phases,
        drain_seconds: timeline
            .drain
            .as_ref()
            .map(|drain| event_log::round(drain.elapsed)),
        evicted_pods: timeline
            .drain
            .map(|drain| drain.evicted)
            .unwrap_or_default(),
        failure: timeline
            .failure
            .map(|failure| format!("{}: {}", failure.phase, failure.reason)),
        causes: timeline
            .diagnosis
            .map(|diagnosis| diagnosis.causes.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        failing_checks,
    }
}
