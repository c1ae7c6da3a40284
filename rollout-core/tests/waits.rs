//! How a waiting node wakes: on its change feed's reports, on the safety net, by polling
//! while the feed is lost, on the adaptive schedule for checks no feed can see, and when
//! the profile reports a change its named checks read.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use rollout_core::gate::{CheckResult, GateStage, GateVerdict};
use rollout_core::machine::{
    Action, BootProbe, LiveNode, MachineOptions, NodeRequest, Observation, Outcome, Phase, Rollout,
    SAFETY_NET_INTERVALS,
};
use rollout_core::plan::Plan;
use support::{on_lifecycle_api, seed_cluster, spec_for, tailscale_plan};

const OLD_BOOT: &str = "boot-before";

fn plan() -> Plan {
    tailscale_plan(&spec_for(), &on_lifecycle_api(seed_cluster()))
}

fn interval(plan: &Plan) -> Duration {
    plan.settings.timeouts.check_interval
}

fn verdict(passed: bool) -> GateVerdict {
    GateVerdict {
        passed,
        checks: vec![CheckResult {
            name: "device online".into(),
            passed,
            detail: String::new(),
        }],
    }
}

/// The machine and the plan's first node.
struct Run {
    machine: Rollout,
    node: String,
    now: Instant,
    plan: Plan,
}

impl Run {
    fn new() -> Self {
        let plan = plan();
        let now = Instant::now();
        Run {
            machine: Rollout::new(plan.clone(), MachineOptions::default(), now),
            node: plan.nodes[0].node.clone(),
            now,
            plan,
        }
    }

    /// Answers every action with success until the first node's request matches `until`,
    /// which is returned unanswered (`None`: nothing is due any more).
    fn advance_to(&mut self, until: impl Fn(&NodeRequest) -> bool) -> Option<NodeRequest> {
        loop {
            let action = self.machine.poll_action(self.now)?;
            let observation = match action {
                Action::EnsureSchematic { schematic, .. } => Observation::SchematicEnsured {
                    expected_id: schematic.id.clone(),
                    result: Ok(schematic.id),
                },
                Action::Node { node, request, .. } => {
                    if until(&request) {
                        return Some(request);
                    }
                    let outcome = self.success(&request);
                    let step = request.step();
                    Observation::Node {
                        node,
                        step,
                        result: Ok(outcome),
                    }
                }
            };
            self.machine.handle(observation, self.now);
        }
    }

    fn success(&self, request: &NodeRequest) -> Outcome {
        let from = &self.plan.nodes[0].from;
        match request {
            NodeRequest::Inspect => Outcome::Inspected(LiveNode {
                boot_id: Some(OLD_BOOT.into()),
                version: from.version.clone(),
                schematic_id: from.schematic_id.clone(),
                install_image: from.install_image.clone(),
                extension_service_configs: Default::default(),
            }),
            NodeRequest::CheckGate { .. } => Outcome::GateChecked(verdict(true)),
            _ => Outcome::Done {
                reboot_started: false,
            },
        }
    }

    fn answer(&mut self, request: &NodeRequest, outcome: Outcome) {
        let observation = Observation::Node {
            node: self.node.clone(),
            step: request.step(),
            result: Ok(outcome),
        };
        self.machine.handle(observation, self.now);
    }

    /// Brings the first node to AwaitReboot and answers its first probe: still the old boot.
    fn probe_finds_the_old_boot(&mut self) -> NodeRequest {
        let probe = self.advance_to(|r| *r == NodeRequest::ProbeBoot).unwrap();
        self.answer(&probe, old_boot());
        probe
    }

    fn due(&mut self) -> Option<NodeRequest> {
        match self.machine.poll_action(self.now)? {
            Action::Node { request, .. } => Some(request),
            Action::EnsureSchematic { .. } => None,
        }
    }

    fn wait_after(&self) -> Duration {
        self.machine.poll_timeout().unwrap() - self.now
    }
}

fn old_boot() -> Outcome {
    Outcome::BootProbed(BootProbe::Up {
        boot_id: OLD_BOOT.into(),
        ready: true,
    })
}

#[test]
fn a_node_without_a_feed_is_probed_every_check_interval() {
    let mut run = Run::new();
    run.probe_finds_the_old_boot();
    assert_eq!(run.wait_after(), interval(&run.plan));
}

#[test]
fn a_connected_feed_wakes_the_probe_on_the_nodes_next_change() {
    let mut run = Run::new();
    let node = run.node.clone();
    run.machine.change_feed(&node, true, run.now);
    let probe = run.probe_finds_the_old_boot();
    assert_eq!(
        run.wait_after(),
        interval(&run.plan) * SAFETY_NET_INTERVALS,
        "with a feed, only the safety net is timed"
    );
    assert_eq!(run.due(), None, "nothing is due before a change");
    run.now += Duration::from_millis(1);
    run.machine.node_changed(&node, run.now);
    assert_eq!(run.due(), Some(probe), "the change wakes the probe at once");
}

#[test]
fn a_lost_feed_falls_back_to_polling_every_check_interval() {
    let mut run = Run::new();
    let node = run.node.clone();
    run.machine.change_feed(&node, true, run.now);
    let probe = run.probe_finds_the_old_boot();
    run.machine.change_feed(&node, false, run.now);
    assert_eq!(run.wait_after(), interval(&run.plan));
    run.now += interval(&run.plan);
    assert_eq!(run.due(), Some(probe.clone()));
    run.answer(&probe, old_boot());
    assert_eq!(
        run.wait_after(),
        interval(&run.plan),
        "still polled while the feed is lost"
    );
}

#[test]
fn a_feed_that_connects_again_wakes_the_probe_at_once() {
    let mut run = Run::new();
    let node = run.node.clone();
    run.machine.change_feed(&node, true, run.now);
    let probe = run.probe_finds_the_old_boot();
    run.machine.change_feed(&node, false, run.now);
    run.now += Duration::from_millis(1);
    run.machine.change_feed(&node, true, run.now);
    assert_eq!(run.due(), Some(probe), "changes may have been missed");
}

#[test]
fn a_change_during_a_check_repeats_a_failed_check_at_once() {
    let mut run = Run::new();
    let node = run.node.clone();
    run.machine.change_feed(&node, true, run.now);
    let probe = run.advance_to(|r| *r == NodeRequest::ProbeBoot).unwrap();
    run.machine.node_changed(&node, run.now);
    run.answer(&probe, old_boot());
    assert_eq!(run.due(), Some(probe));
}

#[test]
fn checks_no_feed_can_see_are_polled_fast_first_then_at_the_check_interval() {
    let mut run = Run::new();
    let node = run.node.clone();
    run.machine.change_feed(&node, true, run.now);
    let mut waits = Vec::new();
    let mut request = first_post_verify(&mut run);
    for _ in 0..32 {
        run.answer(&request, Outcome::GateChecked(verdict(false)));
        let wait = run.wait_after();
        waits.push(wait);
        run.now += wait;
        request = run.due().unwrap();
    }
    let interval = interval(&run.plan);
    assert_eq!(waits[0], interval / 8, "the first re-check comes fast");
    assert!(waits.windows(2).all(|w| w[0] <= w[1]), "never faster later");
    assert_eq!(waits[31], interval, "backs off to the check interval");
}

/// Brings the first node to its first post-verify check (unanswered).
fn first_post_verify(run: &mut Run) -> NodeRequest {
    run.advance_to(|r| {
        matches!(
            r,
            NodeRequest::CheckGate {
                stage: GateStage::PostVerify(_),
                ..
            }
        )
    })
    .unwrap()
}

/// Brings the first node to its first post-verify check and fails it.
fn failed_post_verify(run: &mut Run) -> NodeRequest {
    let check = first_post_verify(run);
    run.answer(&check, Outcome::GateChecked(verdict(false)));
    check
}

#[test]
fn a_change_a_named_check_reads_repeats_the_failed_check_at_once() {
    let mut run = Run::new();
    let node = run.node.clone();
    let check = failed_post_verify(&mut run);
    assert_eq!(run.due(), None, "waits for its next poll");
    run.machine.checks_changed(&node, run.now);
    assert_eq!(run.due(), Some(check), "checks again now");
}

#[test]
fn a_change_a_named_check_reads_during_the_check_repeats_it_once_it_fails() {
    let mut run = Run::new();
    let node = run.node.clone();
    let check = failed_post_verify(&mut run);
    run.now += run.wait_after();
    assert_eq!(run.due(), Some(check.clone()));
    run.machine.checks_changed(&node, run.now);
    run.answer(&check, Outcome::GateChecked(verdict(false)));
    assert_eq!(
        run.due(),
        Some(check),
        "the check may have read the old state"
    );
}

#[test]
fn a_change_a_named_check_reads_wakes_no_other_wait() {
    let mut run = Run::new();
    let node = run.node.clone();
    let other = run.plan.nodes[1].node.clone();
    run.probe_finds_the_old_boot();
    run.machine.checks_changed(&node, run.now);
    assert_eq!(
        run.due(),
        None,
        "a boot probe waits for the node's own feed"
    );
    let mut run = Run::new();
    failed_post_verify(&mut run);
    run.machine.checks_changed(&other, run.now);
    assert_eq!(
        run.due(),
        None,
        "another node's change wakes no named check"
    );
}

#[test]
fn a_change_does_not_cut_the_soak_short() {
    let mut run = Run::new();
    let node = run.node.clone();
    run.machine.change_feed(&node, true, run.now);
    assert_eq!(run.advance_to(|_| false), None);
    assert_eq!(run.machine.status()[0].phase, Phase::Soak);
    run.machine.node_changed(&node, run.now);
    assert_eq!(run.due(), None, "the soak runs its full time");
}

#[test]
fn a_precheck_waiting_for_cluster_health_polls_adaptively_and_wakes_on_any_change() {
    let mut run = Run::new();
    let node = run.node.clone();
    let other = run.plan.nodes[1].node.clone();
    run.machine.change_feed(&node, true, run.now);
    let check = run
        .advance_to(|r| {
            matches!(
                r,
                NodeRequest::CheckGate {
                    stage: GateStage::Precheck,
                    ..
                }
            )
        })
        .unwrap();
    run.answer(&check, Outcome::GateChecked(verdict(false)));
    assert_eq!(
        run.wait_after(),
        interval(&run.plan) / 8,
        "cluster health spans nodes without a feed: polled, not left to the safety net"
    );
    run.machine.node_changed(&other, run.now);
    assert_eq!(run.due(), Some(check), "another node's change wakes it");
}
