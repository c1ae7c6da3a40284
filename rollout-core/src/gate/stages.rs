//! The gates the driver evaluates for each [`GateStage`]: built-ins, the profile's checks and
//! the spec's user gates.

use super::condition::{All, Condition, ConditionExt};
use super::{Gate, GateStage, conditions};
use crate::extension::{NodeCheck, PostVerifyStep};
use crate::plan::{NodePlan, PlanSettings};

/// Builds the gate for a node and stage.
///
/// - Precheck: cluster healthy, etcd healthy with `etcd_members` members, user precheck gates.
/// - Verify: machine ready, target version and schematic, every target extension present,
///   the ExtensionServiceConfig applied and its `ext-<name>` service running, the profile's
///   node checks (e.g. `ip_forward`), Kubernetes node Ready (Talos `NodeStatus`, and with a
///   Kubernetes port the API's Ready from the current boot, optionally every pod Ready),
///   user verify gates.
/// - PostVerify(i): the named checks of the profile's i-th post-verify step.
/// - Soak: Verify again plus the profile's soak checks and user soak gates.
/// - RollbackVerify: machine ready, original version and schematic; on a control-plane
///   node also the Precheck's cluster and etcd health, so that no further control-plane
///   node is rolled back (or rebooted) before the cluster is whole again, as in the rollout.
///
/// # Usage
/// ```
/// # fn show(plan: &rollout_core::Plan) {
/// use rollout_core::gate::{GateStage, stage_gate};
/// let gate = stage_gate(GateStage::Verify, &plan.nodes[0], 3, &plan.settings);
/// assert!(gate.condition().needs().node);
/// # }
/// ```
pub fn stage_gate(
    stage: GateStage,
    plan: &NodePlan,
    etcd_members: usize,
    settings: &PlanSettings,
) -> Gate {
    let named = |names: &[String]| {
        names
            .iter()
            .map(|name| conditions::named(name).boxed())
            .collect::<Vec<_>>()
    };
    let conditions: Vec<Box<dyn Condition>> = match stage {
        GateStage::Precheck => {
            let mut all = cluster_conditions(etcd_members);
            all.extend(named(&settings.gates.precheck));
            all
        }
        GateStage::Verify => {
            let mut all = verify_conditions(plan, settings);
            all.extend(named(&settings.gates.verify));
            all
        }
        GateStage::PostVerify(index) => match plan.extension.post_verify.get(usize::from(index)) {
            Some(PostVerifyStep::Check { checks }) => named(checks),
            _ => Vec::new(),
        },
        GateStage::Soak => {
            let mut all = verify_conditions(plan, settings);
            all.extend(named(&plan.extension.soak_checks));
            all.extend(named(&settings.gates.soak));
            all
        }
        GateStage::RollbackVerify => {
            let mut all = vec![
                conditions::machine_ready().boxed(),
                conditions::original_image().boxed(),
            ];
            if plan.role == crate::NodeRole::ControlPlane {
                all.extend(cluster_conditions(etcd_members));
            }
            all
        }
    };
    Gate::new(format!("{stage:?}"), All(conditions))
}

/// The cluster is healthy and etcd has every member, healthy.
fn cluster_conditions(etcd_members: usize) -> Vec<Box<dyn Condition>> {
    vec![
        conditions::cluster_healthy().boxed(),
        conditions::etcd_healthy(etcd_members).boxed(),
    ]
}

fn verify_conditions(plan: &NodePlan, settings: &PlanSettings) -> Vec<Box<dyn Condition>> {
    let mut all = vec![
        conditions::machine_ready().boxed(),
        conditions::target_version().boxed(),
        conditions::target_schematic().boxed(),
    ];
    for extension in &plan.to.extensions {
        all.push(conditions::extension_present(extension).boxed());
    }
    if let Some(esc) = &plan.extension.esc {
        all.push(conditions::esc_applied(&esc.name).boxed());
        all.push(conditions::service_running(&format!("ext-{}", esc.name)).boxed());
    }
    for check in &plan.extension.node_checks {
        all.push(match check {
            NodeCheck::IpForward => conditions::ip_forward().boxed(),
            NodeCheck::ServiceRunning { service } => conditions::service_running(service).boxed(),
        });
    }
    all.push(conditions::node_ready().boxed());
    all.push(conditions::kubernetes_ready(settings.require_pods_ready).boxed());
    all
}
