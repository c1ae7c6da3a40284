//! The gates the driver evaluates for each [`GateStage`]: built-ins plus the spec's user checks.

use super::condition::{All, Condition, ConditionExt};
use super::{Gate, conditions};
use crate::machine::GateStage;
use crate::plan::{NodePlan, PlanSettings};

/// Builds the gate for a node and stage.
///
/// - Precheck: cluster healthy, etcd healthy with `etcd_members` members, user precheck gates.
/// - Verify: machine ready, target version and schematic, every target extension present,
///   the ExtensionServiceConfig applied and its `ext-<name>` service running, `ip_forward`
///   when routes are advertised, Kubernetes node Ready, user verify gates.
/// - TailnetDevice: device online and advertising its routes. TailnetRoutes: routes approved.
/// - Soak: Verify again plus the device online and user soak gates.
/// - RollbackVerify: machine ready, original version and schematic.
pub fn stage_gate(
    stage: GateStage,
    plan: &NodePlan,
    etcd_members: usize,
    settings: &PlanSettings,
) -> Gate {
    let timeouts = &settings.timeouts;
    let user = |names: &[String]| {
        names
            .iter()
            .map(|name| conditions::user(name).boxed())
            .collect::<Vec<_>>()
    };
    let (conditions, timeout): (Vec<Box<dyn Condition>>, _) = match stage {
        GateStage::Precheck => {
            let mut all = vec![
                conditions::cluster_healthy().boxed(),
                conditions::etcd_healthy(etcd_members).boxed(),
            ];
            all.extend(user(&settings.gates.precheck));
            (all, timeouts.precheck)
        }
        GateStage::Verify => {
            let mut all = verify_conditions(plan);
            all.extend(user(&settings.gates.verify));
            (all, timeouts.verify)
        }
        GateStage::TailnetDevice => (
            vec![
                conditions::device_online().boxed(),
                conditions::routes_advertised().boxed(),
            ],
            timeouts.tailnet,
        ),
        GateStage::TailnetRoutes => (
            vec![conditions::routes_approved().boxed()],
            timeouts.tailnet,
        ),
        GateStage::Soak => {
            let mut all = verify_conditions(plan);
            if plan.tailnet.is_some() {
                all.push(conditions::device_online().boxed());
            }
            all.extend(user(&settings.gates.soak));
            (all, timeouts.verify)
        }
        GateStage::RollbackVerify => (
            vec![
                conditions::machine_ready().boxed(),
                conditions::original_image().boxed(),
            ],
            timeouts.verify,
        ),
    };
    Gate::new(format!("{stage:?}"), All(conditions))
        .timeout(timeout)
        .interval(timeouts.check_interval)
}

fn verify_conditions(plan: &NodePlan) -> Vec<Box<dyn Condition>> {
    let mut all = vec![
        conditions::machine_ready().boxed(),
        conditions::target_version().boxed(),
        conditions::target_schematic().boxed(),
    ];
    for extension in &plan.to.extensions {
        all.push(conditions::extension_present(extension).boxed());
    }
    if let Some(esc) = &plan.esc {
        all.push(conditions::esc_applied(&esc.name).boxed());
        all.push(conditions::service_running(&format!("ext-{}", esc.name)).boxed());
    }
    if plan
        .tailnet
        .as_ref()
        .is_some_and(|tailnet| !tailnet.routes.is_empty())
    {
        all.push(conditions::ip_forward().boxed());
    }
    all.push(conditions::node_ready().boxed());
    all
}
