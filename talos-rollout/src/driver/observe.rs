//! Gathers what a gate needs and evaluates it.

use std::collections::BTreeMap;

use rollout_core::NodeRole;
use rollout_core::PortError;
use rollout_core::gate::{
    CheckResult, GateStage, GateVerdict, KubernetesObservation, Observed, stage_gate,
};
use rollout_core::machine::BootProbe;
use rollout_core::plan::NodePlan;

use super::Inner;
use crate::ports::{HealthScope, KubePort};

fn failed(name: &str, detail: String) -> CheckResult {
    CheckResult {
        name: name.to_owned(),
        passed: false,
        detail,
    }
}

impl Inner {
    /// Evaluates the gate for `stage` on `node`; failures to observe are failing checks.
    pub(crate) async fn check_gate(
        &self,
        node: &str,
        stage: GateStage,
        expected_down: &[String],
    ) -> GateVerdict {
        let Some(mut plan) = self.plan_node(node).cloned() else {
            return GateVerdict {
                passed: false,
                checks: vec![failed("plan", format!("{node} is not in the plan"))],
            };
        };
        if let (GateStage::RollbackVerify, Some(original)) = (stage, self.originals.get(node)) {
            // Rolling back to the originals: verify the original image, not the plan's `from`.
            plan.from = original.clone();
        }
        let etcd_members = self
            .plan
            .nodes
            .iter()
            .filter(|n| n.role == NodeRole::ControlPlane)
            .count();
        let gate = stage_gate(stage, &plan, etcd_members, &self.plan.settings);
        let needs = gate.condition().needs();
        let mut problems = Vec::new();
        let mut observed = Observed::default();
        if needs.node {
            match self.ports.talos.observe(node).await {
                Ok(observation) => observed.node = Some(observation),
                Err(error) => problems.push(failed("observe node", error.to_string())),
            }
        }
        if needs.cluster {
            let via = self
                .plan
                .nodes
                .iter()
                .find(|n| n.role == NodeRole::ControlPlane && n.node != node)
                .map_or(node, |n| n.node.as_str());
            let scope = self.health_scope(expected_down);
            match self.ports.talos.cluster_health(via, &scope).await {
                Ok(cluster) => observed.cluster = Some(cluster),
                Err(error) => problems.push(failed("observe cluster", error.to_string())),
            }
        }
        if let Some(kube) = self.ports.kube.as_deref()
            && needs.kubernetes
        {
            match self.observe_kubernetes(kube, node, &plan).await {
                Ok(kubernetes) => observed.kubernetes = Some(kubernetes),
                Err(error) => problems.push(failed("observe kubernetes node", error.to_string())),
            }
        }
        observed.named = self.run_named_checks(&needs.named, &plan).await;
        let mut verdict = gate.evaluate(&plan, &observed);
        if !problems.is_empty() {
            verdict.passed = false;
            verdict.checks.extend(problems);
        }
        verdict
    }

    /// The node's readiness in the Kubernetes API beside the boot Talos runs now.
    async fn observe_kubernetes(
        &self,
        kube: &dyn KubePort,
        node: &str,
        plan: &NodePlan,
    ) -> Result<KubernetesObservation, PortError> {
        let readiness = kube.readiness(&plan.nodename).await?;
        let talos_boot_id = match self.ports.talos.probe_boot(node).await? {
            BootProbe::Up { boot_id, .. } => Some(boot_id),
            BootProbe::Down { .. } => None,
        };
        Ok(KubernetesObservation {
            ready: readiness.ready,
            boot_id: readiness.boot_id,
            talos_boot_id,
            unready_pods: readiness.unready_pods,
        })
    }

    /// The nodes a cluster health check covers: every node the checked node discovers, or,
    /// when the rollout has workers in flight, every planned node but those.
    fn health_scope(&self, expected_down: &[String]) -> HealthScope {
        let mut scope = HealthScope::default();
        if expected_down.is_empty() {
            return scope;
        }
        for node in self
            .plan
            .nodes
            .iter()
            .filter(|n| !expected_down.contains(&n.node))
        {
            match node.role {
                NodeRole::ControlPlane => scope.control_plane.push(node.node.clone()),
                NodeRole::Worker => scope.workers.push(node.node.clone()),
            }
        }
        scope
    }

    /// Runs named checks: the user's registered checks first, every other name is one of
    /// the profile's.
    async fn run_named_checks(
        &self,
        names: &[String],
        plan: &NodePlan,
    ) -> BTreeMap<String, CheckResult> {
        let mut results = BTreeMap::new();
        for name in names {
            let result = match self.checks.get(name) {
                Some(check) => check.check(plan).await,
                None => self.profile.check(name, plan).await,
            };
            results.insert(name.clone(), result);
        }
        results
    }
}
