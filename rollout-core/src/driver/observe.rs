//! Gathers what a gate needs and evaluates it.

use std::collections::BTreeMap;

use super::Inner;
use crate::discovery::NodeRole;
use crate::gate::{Observed, stage_gate};
use crate::machine::{CheckResult, GateStage, GateVerdict};

fn failed(name: &str, detail: String) -> CheckResult {
    CheckResult {
        name: name.to_owned(),
        passed: false,
        detail,
    }
}

impl Inner {
    /// Evaluates the gate for `stage` on `node`; failures to observe are failing checks.
    pub(crate) async fn check_gate(&self, node: &str, stage: GateStage) -> GateVerdict {
        let Some(plan) = self.plan_node(node).cloned() else {
            return GateVerdict {
                passed: false,
                checks: vec![failed("plan", format!("{node} is not in the plan"))],
            };
        };
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
            match self.ports.talos.cluster_health(via).await {
                Ok(cluster) => observed.cluster = Some(cluster),
                Err(error) => problems.push(failed("observe cluster", error.to_string())),
            }
        }
        if needs.device {
            let hostname = plan
                .tailnet
                .as_ref()
                .map_or(plan.nodename.as_str(), |t| t.hostname.as_str());
            match &self.ports.tailnet {
                Some(tailnet) => match tailnet.device(hostname).await {
                    Ok(device) => observed.device = Some(device),
                    Err(error) => {
                        problems.push(failed("observe tailnet device", error.to_string()))
                    }
                },
                None => problems.push(failed(
                    "observe tailnet device",
                    "no tailnet port was given".into(),
                )),
            }
        }
        observed.user = self.run_user_checks(&needs.user, &plan).await;
        let mut verdict = gate.evaluate(&plan, &observed);
        if !problems.is_empty() {
            verdict.passed = false;
            verdict.checks.extend(problems);
        }
        verdict
    }

    async fn run_user_checks(
        &self,
        names: &[String],
        plan: &crate::plan::NodePlan,
    ) -> BTreeMap<String, CheckResult> {
        let mut results = BTreeMap::new();
        for name in names {
            let result = match self.user_checks.get(name) {
                Some(check) => check.check(plan).await,
                None => failed(name, "no user check with this name is registered".into()),
            };
            results.insert(name.clone(), result);
        }
        results
    }
}
