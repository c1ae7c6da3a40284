//! The sans-IO state machine against a modelled cluster: scenarios, invariants under
//! arbitrary faults and schedules (proptest), and crash + resume at every step.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Instant;

use proptest::prelude::*;
use rollout_core::ClusterFacts;
use rollout_core::gate::GateStage;
use rollout_core::machine::{
    Action, JournalEntry, MachineOptions, NodeRequest, Observation, Phase, RollbackMethod,
    RollbackStep, RolloutEvent, Step,
};
use rollout_core::plan::Plan;
use rollout_core::spec::FailurePolicy;
use support::harness::Harness;
use support::world::{Fault, World};
use support::{
    FakeResolver, cluster, on_lifecycle_api, on_lifecycle_version, seed_cluster, seed_spec,
    spec_for, tailscale_plan, tailscale_request,
};

/// The seed cluster on Talos 1.13 (lifecycle install, then a separate reboot request).
fn seed_plan(policy: FailurePolicy) -> Plan {
    let mut spec = seed_spec();
    spec.failure_policy = policy;
    tailscale_plan(&spec, &on_lifecycle_api(seed_cluster()))
}

/// The seed cluster as it is, on Talos v1.10.4: the legacy install reboots the node by itself.
fn legacy_seed_plan(policy: FailurePolicy) -> Plan {
    let mut spec = seed_spec();
    spec.failure_policy = policy;
    tailscale_plan(&spec, &seed_cluster())
}

/// The phases a node went through, in order (repeats of the same phase collapsed).
fn phases_of(h: &Harness, node: &str) -> Vec<Phase> {
    let mut phases: Vec<Phase> = h
        .events
        .iter()
        .filter_map(|e| match e {
            RolloutEvent::PhaseChanged { node: n, to, .. } if n == node => Some(*to),
            _ => None,
        })
        .collect();
    phases.dedup();
    phases
}

/// The post-verify and soak requests a node got, in order (repeated checks collapsed).
fn checks_after_verify(h: &Harness, node: &str) -> Vec<NodeRequest> {
    let mut requests: Vec<NodeRequest> = h
        .world
        .performed
        .iter()
        .filter(|(n, r)| {
            n == node
                && matches!(
                    r,
                    NodeRequest::CheckGate { .. } | NodeRequest::ExtensionAction { .. }
                )
        })
        .map(|(_, r)| r.clone())
        .skip_while(|r| {
            !matches!(
                r,
                NodeRequest::CheckGate {
                    stage: GateStage::Verify,
                    ..
                }
            )
        })
        .collect();
    requests.dedup();
    requests
}

fn harness(plan: &Plan) -> Harness {
    Harness::new(plan.clone(), World::new(plan), Instant::now())
}

fn requests(h: &Harness, node: &str, pred: impl Fn(&NodeRequest) -> bool) -> usize {
    h.world
        .performed
        .iter()
        .filter(|(n, r)| n == node && pred(r))
        .count()
}

#[test]
fn seed_cluster_rolls_one_node_at_a_time_with_the_leader_last() {
    let plan = seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.run(&[]);
    assert_all_done(&h);
    let starts: Vec<&str> = h
        .events
        .iter()
        .filter_map(|e| match e {
            RolloutEvent::PhaseChanged {
                node,
                to: Phase::Precheck,
                ..
            } => Some(node.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(starts, ["k8s-2", "k8s-3", "k8s-1"]);
    for node in ["k8s-1", "k8s-2", "k8s-3"] {
        let sim = &h.world.nodes[node];
        assert_eq!(
            sim.running.schematic_id,
            plan.node(node).unwrap().to.schematic_id
        );
        assert!(sim.routes_approved);
        assert_eq!(
            requests(&h, node, |r| matches!(r, NodeRequest::Install { .. })),
            1
        );
        assert_eq!(requests(&h, node, |r| matches!(r, NodeRequest::Reboot)), 1);
    }
    assert!(
        matches!(h.events.last(), Some(RolloutEvent::Finished(summary)) if summary.succeeded())
    );
}

#[test]
fn a_node_walks_its_post_verify_steps_in_order_before_soak() {
    let plan = seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.run(&[]);
    let gate = |stage| NodeRequest::CheckGate {
        stage,
        expected_down: Vec::new(),
    };
    assert_eq!(
        checks_after_verify(&h, "k8s-2"),
        [
            gate(GateStage::Verify),
            gate(GateStage::PostVerify(0)),
            NodeRequest::ExtensionAction {
                action: support::APPROVE_ROUTES.into()
            },
            gate(GateStage::PostVerify(2)),
            gate(GateStage::Soak),
        ]
    );
    let phases = phases_of(&h, "k8s-2");
    let after_reboot: Vec<Phase> = phases
        .into_iter()
        .skip_while(|p| *p != Phase::Verify)
        .collect();
    assert_eq!(
        after_reboot,
        [Phase::Verify, Phase::PostVerify, Phase::Soak, Phase::Done]
    );
    assert!(h.world.nodes["k8s-2"].routes_approved);
}

#[test]
fn a_node_without_post_verify_steps_goes_from_verify_to_soak() {
    let facts = on_lifecycle_api(seed_cluster());
    let mut request = tailscale_request(&facts);
    for node in request.nodes.values_mut() {
        node.post_verify.clear();
    }
    let plan = rollout_core::plan(&seed_spec(), &facts, &FakeResolver, &request)
        .unwrap()
        .plan;
    let mut h = harness(&plan);
    h.run(&[]);
    assert!(h.phases().values().all(|p| *p == Phase::Done));
    for node in ["k8s-1", "k8s-2", "k8s-3"] {
        let phases = phases_of(&h, node);
        let after_reboot: Vec<Phase> = phases
            .into_iter()
            .skip_while(|p| *p != Phase::Verify)
            .collect();
        assert_eq!(after_reboot, [Phase::Verify, Phase::Soak, Phase::Done]);
        assert_eq!(
            checks_after_verify(&h, node),
            [
                NodeRequest::CheckGate {
                    stage: GateStage::Verify,
                    expected_down: Vec::new(),
                },
                NodeRequest::CheckGate {
                    stage: GateStage::Soak,
                    expected_down: Vec::new(),
                },
            ]
        );
        assert!(!h.world.nodes[node].routes_approved);
    }
}

#[test]
fn a_broken_upgrade_halts_and_no_further_node_starts() {
    let plan = seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.world.nodes.get_mut("k8s-3").unwrap().broken_upgrade = true;
    h.run(&[]);
    let phases = h.phases();
    assert_eq!(phases["k8s-2"], Phase::Done);
    assert_eq!(phases["k8s-3"], Phase::Halted);
    assert_eq!(phases["k8s-1"], Phase::NotStarted);
    assert!(
        h.world.performed.iter().all(|(n, _)| n != "k8s-1"),
        "k8s-1 must never be touched"
    );
    let failure = h.rollout.status()[1].failure.clone().unwrap();
    assert_eq!(failure.phase, Phase::Verify);
    assert!(failure.reason.contains("schematic"), "{}", failure.reason);
}

#[test]
fn rollback_restores_config_and_boots_the_previous_image() {
    let plan = seed_plan(FailurePolicy::Rollback);
    let mut h = harness(&plan);
    h.world.nodes.get_mut("k8s-3").unwrap().broken_upgrade = true;
    h.run(&[]);
    let phases = h.phases();
    assert_eq!(phases["k8s-3"], Phase::RolledBack);
    assert_eq!(phases["k8s-1"], Phase::NotStarted);
    let node = &h.world.nodes["k8s-3"];
    let from = &plan.node("k8s-3").unwrap().from;
    assert_eq!(node.running.schematic_id, from.schematic_id);
    assert_eq!(node.install_image, from.install_image);
    assert!(
        node.escs.is_empty(),
        "the ESC must be gone with the restored config"
    );
    let rpc = |r: &NodeRequest| {
        matches!(
            r,
            NodeRequest::BootPrevious {
                method: RollbackMethod::RollbackRpc
            }
        )
    };
    assert_eq!(requests(&h, "k8s-3", rpc), 1);
}

#[test]
fn a_node_that_never_booted_the_new_image_is_rolled_back_by_reinstalling_the_original_installer() {
    let plan = seed_plan(FailurePolicy::Rollback);
    let mut h = harness(&plan);
    h.world
        .faults
        .extend(reboot_of_the_first_node(Fault::Fatal));
    h.run(&[]);
    assert_eq!(h.phases()["k8s-2"], Phase::RolledBack);
    let from = &plan.node("k8s-2").unwrap().from;
    let reinstall = |r: &NodeRequest| {
        matches!(r, NodeRequest::BootPrevious { method: RollbackMethod::Reinstall { image } }
            if Some(image) == from.install_image.as_ref())
    };
    assert_eq!(requests(&h, "k8s-2", reinstall), 1);
    let rpc = |r: &NodeRequest| {
        matches!(
            r,
            NodeRequest::BootPrevious {
                method: RollbackMethod::RollbackRpc
            }
        )
    };
    assert_eq!(
        requests(&h, "k8s-2", rpc),
        0,
        "the previous boot entry is not the original image"
    );
    let node = &h.world.nodes["k8s-2"];
    assert_eq!(node.running.schematic_id, from.schematic_id);
    assert_eq!(node.install_image, from.install_image);
    assert!(node.escs.is_empty());
}

#[test]
fn a_rollback_to_the_originals_after_one_to_the_from_state_reinstalls_and_is_journaled() {
    let plan = seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.run(&[]);
    h.rollout.roll_back("k8s-3", h.now).unwrap();
    h.run(&[]);
    assert_eq!(h.phases()["k8s-3"], Phase::RolledBack);
    // Something changed the node again since: it runs the new image, the original is the
    // other boot entry no longer.
    let to = plan.node("k8s-3").unwrap().to.clone();
    let from = plan.node("k8s-3").unwrap().from.clone();
    let node = h.world.nodes.get_mut("k8s-3").unwrap();
    node.running = support::world::Image {
        version: to.version.clone(),
        schematic_id: to.schematic_id.clone(),
    };
    node.previous = Some(node.running.clone());
    // A new way back: the harness's once-per-direction count starts again.
    h.reboots.clear();

    h.rollout
        .roll_back_to_original("k8s-3", from.clone(), h.now)
        .unwrap();
    h.run(&[]);
    assert_eq!(h.phases()["k8s-3"], Phase::RolledBack);
    let rpc = |r: &NodeRequest| {
        matches!(
            r,
            NodeRequest::BootPrevious {
                method: RollbackMethod::RollbackRpc
            }
        )
    };
    assert_eq!(requests(&h, "k8s-3", rpc), 1, "only the first rollback");
    let reinstall = |r: &NodeRequest| {
        matches!(r, NodeRequest::BootPrevious { method: RollbackMethod::Reinstall { image } }
            if Some(image) == from.install_image.as_ref())
    };
    assert_eq!(requests(&h, "k8s-3", reinstall), 1);
    assert_eq!(
        h.world.nodes["k8s-3"].running.schematic_id,
        from.schematic_id
    );
    assert!(h.journal.iter().any(
        |entry| matches!(entry, JournalEntry::RollbackToOriginal { node, .. } if node == "k8s-3")
    ));
}

/// The faults that hit the first node's reboot request (schematic, inspect, precheck, backup,
/// apply and install go through).
fn reboot_of_the_first_node(fault: Fault) -> Vec<Fault> {
    let mut faults = vec![Fault::None; 6];
    faults.push(fault);
    faults
}

#[test]
fn a_reboot_whose_answer_was_lost_is_awaited_not_repeated() {
    let plan = seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.world
        .faults
        .extend(reboot_of_the_first_node(Fault::LostReply));
    h.run(&[]);
    assert_all_done(&h);
    assert_eq!(
        requests(&h, "k8s-2", |r| matches!(r, NodeRequest::Reboot)),
        1
    );
    assert_eq!(h.world.nodes["k8s-2"].boot_seq, 1);
}

#[test]
fn a_reboot_request_that_never_arrived_is_asked_again_once_the_node_shows_it_never_started() {
    let plan = seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.world
        .faults
        .extend(reboot_of_the_first_node(Fault::Transient));
    h.run(&[]);
    assert_all_done(&h);
    assert_eq!(
        requests(&h, "k8s-2", |r| matches!(r, NodeRequest::Reboot)),
        2
    );
    assert_eq!(h.world.nodes["k8s-2"].boot_seq, 1);
    let after_first_reboot = after_first(&h, "k8s-2", |r| matches!(r, NodeRequest::Reboot), 2);
    assert_eq!(
        after_first_reboot,
        [NodeRequest::ProbeBoot, NodeRequest::Reboot]
    );
}

/// The faults that hit the first node's install request (schematic, inspect, precheck, backup
/// and apply go through).
fn install_of_the_first_node(fault: Fault) -> Vec<Fault> {
    let mut faults = vec![Fault::None; 5];
    faults.push(fault);
    faults
}

/// Every node ended Done.
fn assert_all_done(h: &Harness) {
    assert!(
        h.phases().values().all(|p| *p == Phase::Done),
        "{:?}",
        h.phases()
    );
}

fn is_install(request: &NodeRequest) -> bool {
    matches!(request, NodeRequest::Install { .. })
}

/// The first `count` requests sent to `node` after the first one matching `first`.
fn after_first(
    h: &Harness,
    node: &str,
    first: impl Fn(&NodeRequest) -> bool,
    count: usize,
) -> Vec<NodeRequest> {
    h.world
        .performed
        .iter()
        .filter(|(n, _)| n == node)
        .skip_while(|(_, r)| !first(r))
        .skip(1)
        .take(count)
        .map(|(_, r)| r.clone())
        .collect()
}

fn installs(h: &Harness, node: &str) -> usize {
    requests(h, node, is_install)
}

#[test]
fn a_legacy_install_whose_answer_was_lost_is_awaited_by_boot_id_not_sent_again() {
    let plan = legacy_seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.world
        .faults
        .extend(install_of_the_first_node(Fault::LostReply));
    h.run(&[]);
    assert_all_done(&h);
    assert_eq!(installs(&h, "k8s-2"), 1);
    assert_eq!(
        requests(&h, "k8s-2", |r| matches!(r, NodeRequest::Reboot)),
        0,
        "the legacy install reboots by itself"
    );
    assert_eq!(h.world.nodes["k8s-2"].boot_seq, 1);
}

/// The dropped call that hangs this path in practice: the connection broke before the
/// legacy `Upgrade` reached the node, which stays idle on its boot.
#[test]
fn a_legacy_install_that_never_arrived_is_sent_again_once_the_idle_node_is_probed() {
    let plan = legacy_seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.world
        .faults
        .extend(install_of_the_first_node(Fault::Transient));
    h.run(&[]);
    assert_all_done(&h);
    assert_eq!(installs(&h, "k8s-2"), 2);
    assert_eq!(h.world.nodes["k8s-2"].boot_seq, 1);
    let after_first_install = after_first(&h, "k8s-2", is_install, 2);
    assert_eq!(after_first_install[0], NodeRequest::ProbeBoot);
    assert!(is_install(&after_first_install[1]));
}

/// A lost answer on a node that did start the upgrade: it stays busy (stage upgrading) for
/// a while, so the probes see it not ready and the install is never sent again.
#[test]
fn a_legacy_install_whose_answer_was_lost_while_the_node_stays_busy_is_not_sent_again() {
    let plan = legacy_seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    busy_legacy_upgrades(&mut h.world);
    h.world
        .faults
        .extend(install_of_the_first_node(Fault::LostReply));
    h.run(&[]);
    assert_all_done(&h);
    assert_eq!(installs(&h, "k8s-2"), 1);
    assert_eq!(h.world.nodes["k8s-2"].boot_seq, 1);
}

#[test]
fn a_lifecycle_install_with_no_answer_is_sent_again_once_the_node_answers_on_the_same_boot() {
    let plan = seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.world
        .faults
        .extend(install_of_the_first_node(Fault::Transient));
    h.run(&[]);
    assert_all_done(&h);
    assert_eq!(installs(&h, "k8s-2"), 2);
    assert_eq!(h.world.nodes["k8s-2"].boot_seq, 1);
    let probe_before_resend = after_first(&h, "k8s-2", is_install, 1);
    assert_eq!(probe_before_resend, [NodeRequest::ProbeBoot]);
}

#[test]
fn a_node_that_never_returns_from_a_legacy_install_fails_in_await_reboot_with_what_to_do() {
    let plan = legacy_seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.world
        .nodes
        .get_mut("k8s-2")
        .unwrap()
        .never_returns_after_reboot = true;
    h.run(&[]);
    assert_eq!(h.phases()["k8s-2"], Phase::Halted);
    assert_eq!(installs(&h, "k8s-2"), 1);
    let failure = h.rollout.status()[0].failure.clone().unwrap();
    assert_eq!(failure.phase, Phase::AwaitReboot);
    assert!(
        failure.reason.contains("check its console"),
        "{}",
        failure.reason
    );
}

/// Steps until `node` is in `phase`.
fn run_until_phase(h: &mut Harness, node: &str, phase: Phase) {
    while h.phases()[node] != phase {
        assert!(h.step(0, 1), "finished before {node} reached {phase:?}");
    }
}

#[test]
fn a_resume_while_a_legacy_upgrade_still_runs_waits_for_it_instead_of_sending_it_again() {
    let plan = legacy_seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    busy_legacy_upgrades(&mut h.world);
    run_until_phase(&mut h, "k8s-2", Phase::Install);
    // The process dies after sending the upgrade, before its answer was journaled.
    h.crash_mid_action_and_resume();
    h.run(&[]);
    assert_all_done(&h);
    let accepted = h
        .world
        .effective
        .iter()
        .filter(|(n, r)| n == "k8s-2" && matches!(r, NodeRequest::Install { .. }))
        .count();
    assert_eq!(accepted, 1, "the upgrade ran twice");
    assert_eq!(h.world.nodes["k8s-2"].boot_seq, 1);
}

#[test]
fn a_rollback_rpc_that_never_went_out_is_replaced_by_a_reinstall_not_sent_again() {
    let plan = seed_plan(FailurePolicy::Rollback);
    let mut h = harness(&plan);
    h.world.nodes.get_mut("k8s-3").unwrap().broken_upgrade = true;
    run_until_phase(&mut h, "k8s-3", Phase::Rollback(RollbackStep::BootPrevious));
    h.crash_before_sending_and_resume();
    h.run(&[]);
    assert_eq!(h.phases()["k8s-3"], Phase::RolledBack);
    let node = &h.world.nodes["k8s-3"];
    let from = &plan.node("k8s-3").unwrap().from;
    assert_eq!(node.running.schematic_id, from.schematic_id);
    let sent = |rpc: bool| {
        h.world
            .performed
            .iter()
            .filter(|(n, r)| {
                n == "k8s-3"
                    && matches!(r, NodeRequest::BootPrevious { method }
                        if matches!(method, RollbackMethod::RollbackRpc) == rpc)
            })
            .count()
    };
    assert_eq!(sent(true), 0, "the Rollback RPC was sent after the crash");
    assert_eq!(sent(false), 1);
    assert!(h.journal.contains(&JournalEntry::RollbackRpcReplaced {
        node: "k8s-3".into()
    }));
}

#[test]
fn a_resume_after_a_reboot_that_was_journaled_but_never_sent_asks_for_it_again() {
    let plan = seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    run_until_phase(&mut h, "k8s-2", Phase::Reboot);
    // The process dies after `step_started reboot`, before the request left it.
    h.crash_before_sending_and_resume();
    let reboot_started = JournalEntry::StepStarted {
        node: "k8s-2".into(),
        step: Step::Reboot,
    };
    assert!(h.journal.contains(&reboot_started), "no reboot journaled");
    h.run(&[]);
    assert_all_done(&h);
    let rebooted = h
        .world
        .effective
        .iter()
        .filter(|(n, r)| n == "k8s-2" && matches!(r, NodeRequest::Reboot))
        .count();
    assert_eq!(rebooted, 1, "rebooted {rebooted} times");
    assert_eq!(h.world.nodes["k8s-2"].boot_seq, 1);
}

#[test]
fn a_resume_after_a_journaled_legacy_install_awaits_its_reboot_and_never_reboots() {
    let plan = legacy_seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    busy_legacy_upgrades(&mut h.world);
    let install_done = JournalEntry::StepCompleted {
        node: "k8s-2".into(),
        step: Step::Install,
    };
    while !h.journal.contains(&install_done) {
        assert!(h.step(0, 1), "finished before the install completed");
    }
    // The process dies after `step_completed install`, before `phase_entered await_reboot`.
    h.crash_mid_journal_and_resume();
    h.run(&[]);
    assert_all_done(&h);
    assert_eq!(
        requests(&h, "k8s-2", |r| matches!(r, NodeRequest::Reboot)),
        0,
        "a node in the middle of its legacy upgrade was sent a reboot"
    );
    assert_eq!(h.world.nodes["k8s-2"].boot_seq, 1);
}

#[test]
fn a_halted_rollout_resumed_after_the_cause_is_fixed_retries_the_failed_node_and_continues() {
    let plan = legacy_seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.world
        .nodes
        .get_mut("k8s-2")
        .unwrap()
        .never_returns_after_reboot = true;
    h.run(&[]);
    assert_eq!(h.phases()["k8s-2"], Phase::Halted);
    assert!(h.rollout.is_finished());
    // The operator powers the node back on, then resumes.
    let node = h.world.nodes.get_mut("k8s-2").unwrap();
    node.never_returns_after_reboot = false;
    node.down_probes = 0;
    h.resume_halted();
    h.run(&[]);
    assert_all_done(&h);
    assert!(h.world.nodes.values().all(|node| node.boot_seq == 1));
    assert_eq!(installs(&h, "k8s-2"), 1);
    // A crash after the retry resumes the retried rollout, not the old halt.
    h.crash_and_resume();
    assert!(h.phases().values().all(|p| *p == Phase::Done));
}

#[test]
fn a_factory_that_disagrees_on_the_schematic_id_halts_before_any_node_is_touched() {
    let plan = seed_plan(FailurePolicy::Rollback);
    let now = Instant::now();
    let mut rollout = rollout_core::Rollout::new(plan, Default::default(), now);
    let Some(Action::EnsureSchematic { schematic, .. }) = rollout.poll_action(now) else {
        panic!("the schematic is registered before anything else");
    };
    assert_eq!(
        rollout.poll_action(now),
        None,
        "no node starts before it is registered"
    );
    rollout.handle(
        Observation::SchematicEnsured {
            expected_id: schematic.id,
            result: Ok("0".repeat(64)),
        },
        now,
    );
    assert_eq!(rollout.poll_action(now), None);
    assert!(rollout.is_finished());
    assert!(
        rollout
            .status()
            .iter()
            .all(|s| s.phase == Phase::NotStarted)
    );
    let events: Vec<RolloutEvent> = std::iter::from_fn(|| rollout.poll_event()).collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RolloutEvent::Warning { message, .. }
            if message.contains("nothing was changed"))),
        "{events:?}"
    );
}

#[test]
fn workers_run_up_to_max_unavailable_at_once_after_the_control_plane() {
    let facts = cluster(1, 4);
    let mut spec = spec_for();
    spec.ordering.max_unavailable = 2;
    let plan = tailscale_plan(&spec, &facts);
    let mut h = harness(&plan);
    let mut peak = 0;
    while h.step(0, 1) {
        peak = peak.max(
            h.rollout
                .status()
                .iter()
                .filter(|s| s.phase.is_active())
                .count(),
        );
    }
    assert_eq!(peak, 2);
    assert!(h.phases().values().all(|p| *p == Phase::Done));
}

#[test]
fn a_worker_precheck_leaves_the_rollouts_own_workers_in_flight_to_the_budget() {
    let facts = cluster(1, 6);
    let mut spec = spec_for();
    spec.ordering.max_unavailable = 3;
    let plan = tailscale_plan(&spec, &facts);
    let mut h = harness(&plan);
    h.run(&[]);
    assert!(h.phases().values().all(|p| *p == Phase::Done));
    let prechecks: Vec<(&String, &Vec<String>)> = h
        .world
        .performed
        .iter()
        .filter_map(|(node, request)| match request {
            NodeRequest::CheckGate {
                stage: GateStage::Precheck,
                expected_down,
            } => Some((node, expected_down)),
            _ => None,
        })
        .collect();
    assert!(
        prechecks.iter().any(|(_, down)| !down.is_empty()),
        "no precheck ran while another worker was in flight: {prechecks:?}"
    );
    for (node, down) in &prechecks {
        assert!(!down.contains(node), "{node} excused itself");
        assert!(!down.iter().any(|n| n.starts_with("cp-")), "{down:?}");
    }
    let failed_prechecks = h
        .events
        .iter()
        .filter(|e| {
            matches!(e, RolloutEvent::GateProgress { stage: GateStage::Precheck, verdict, .. }
                if !verdict.passed)
        })
        .count();
    assert_eq!(
        failed_prechecks, 0,
        "a free slot waited for the rollout's own rebooting workers"
    );
}

#[test]
fn a_node_down_outside_the_rollouts_budget_still_refuses_a_start() {
    // w-2 is converged already (skipped by the plan), then goes down on its own.
    let plan = shaped_plan(1, 2, 2, FailurePolicy::Halt, Some(2), &[]);
    assert!(plan.node("w-2").unwrap().is_skipped());
    let mut h = harness(&plan);
    h.world.nodes.get_mut("w-2").unwrap().down_probes = u32::MAX;
    h.run(&[]);
    let changed: Vec<&(String, NodeRequest)> = h
        .world
        .performed
        .iter()
        .filter(|(_, request)| {
            !matches!(
                request,
                NodeRequest::Inspect | NodeRequest::CheckGate { .. }
            )
        })
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
    assert!(
        h.events.iter().any(|e| matches!(e,
            RolloutEvent::GateProgress { stage: GateStage::Precheck, verdict, .. }
            if !verdict.passed)),
        "the precheck must refuse while a node outside the rollout is down"
    );
}

#[test]
fn a_node_converged_since_planning_is_not_disrupted() {
    let plan = seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.converge_behind_the_plan("k8s-3");
    h.run(&[]);
    assert_eq!(h.phases()["k8s-3"], Phase::Done);
    assert!(
        h.world
            .performed
            .iter()
            .filter(|(n, _)| n == "k8s-3")
            .all(|(_, r)| matches!(r, NodeRequest::Inspect))
    );
}

#[test]
fn a_gate_that_never_passes_fails_the_node_after_its_timeout_with_the_failing_check() {
    let plan = seed_plan(FailurePolicy::Halt);
    let mut h = harness(&plan);
    h.world
        .faults
        .extend(std::iter::repeat_n(Fault::GateFalse, 10_000));
    h.run(&[]);
    let status = h.rollout.status();
    let failure = status[0].failure.clone().unwrap();
    assert_eq!(failure.phase, Phase::Precheck);
    assert!(
        failure.reason.contains("timed out") && failure.reason.contains("injected"),
        "{}",
        failure.reason
    );
    assert!(
        h.world
            .performed
            .iter()
            .all(|(_, r)| !r.step().is_disruptive())
    );
}

/// How the process dies: between two actions, or while performing one (its result is lost).
#[derive(Debug, Clone, Copy)]
enum Crash {
    BetweenActions,
    BeforeSend,
    MidAction,
    MidJournal,
}

impl Crash {
    fn hit(self, h: &mut Harness) {
        match self {
            Crash::BetweenActions => h.crash_and_resume(),
            Crash::BeforeSend => h.crash_before_sending_and_resume(),
            Crash::MidAction => h.crash_mid_action_and_resume(),
            Crash::MidJournal => h.crash_mid_journal_and_resume(),
        }
    }
}

fn end_state_with(
    plan: &Plan,
    options: MachineOptions,
    setup: impl Fn(&mut World),
    crash: Option<(usize, Crash)>,
) -> (Vec<(String, Phase)>, String) {
    let mut world = World::new(plan);
    setup(&mut world);
    let mut h = Harness::with_options(plan.clone(), world, Instant::now(), options);
    let mut crashed = false;
    loop {
        if let Some((_, how)) = crash.filter(|(at, _)| !crashed && *at == h.handled) {
            crashed = true;
            how.hit(&mut h);
        }
        if !h.step(0, 1) {
            break;
        }
        assert!(h.handled < 20_000, "did not finish");
    }
    let phases = h.phases().into_iter().collect();
    (phases, format!("{:?}", h.world.fingerprint()))
}

fn crash_everywhere(policy: FailurePolicy, setup: fn(&mut World)) {
    crash_everywhere_in(&seed_plan(policy), setup);
    crash_everywhere_in(&legacy_seed_plan(policy), setup);
}

fn crash_everywhere_in(plan: &Plan, setup: fn(&mut World)) {
    crash_everywhere_with(plan, MachineOptions::default(), setup);
}

fn crash_everywhere_with(plan: &Plan, options: MachineOptions, setup: fn(&mut World)) {
    let plan = plan.clone();
    let reference = end_state_with(&plan, options, setup, None);
    let mut world = World::new(&plan);
    setup(&mut world);
    let mut h = Harness::with_options(plan.clone(), world, Instant::now(), options);
    h.run(&[]);
    for crash_after in 0..=h.handled {
        for how in [
            Crash::BetweenActions,
            Crash::BeforeSend,
            Crash::MidAction,
            Crash::MidJournal,
        ] {
            let resumed = end_state_with(&plan, options, setup, Some((crash_after, how)));
            assert_eq!(
                resumed, reference,
                "{how:?} crash after {crash_after} observations diverged"
            );
        }
    }
}

#[test]
fn crash_at_every_step_then_resume_reaches_the_same_end_state() {
    crash_everywhere(FailurePolicy::Halt, |_| {});
}

/// Legacy nodes stay up and busy for a few probes after accepting the upgrade (as real
/// nodes do while the installer runs) and refuse a second upgrade or a reboot meanwhile.
fn busy_legacy_upgrades(world: &mut World) {
    for node in world.nodes.values_mut() {
        node.legacy_upgrade_probes = 3;
    }
}

#[test]
fn crash_at_every_step_of_a_busy_legacy_upgrade_then_resume_reaches_the_same_end_state() {
    crash_everywhere_in(&legacy_seed_plan(FailurePolicy::Halt), busy_legacy_upgrades);
}

#[test]
fn crash_at_every_step_of_a_busy_legacy_rollback_then_resume_reaches_the_same_end_state() {
    crash_everywhere_in(&legacy_seed_plan(FailurePolicy::Rollback), |world| {
        busy_legacy_upgrades(world);
        world.nodes.get_mut("k8s-3").unwrap().broken_upgrade = true;
    });
}

#[test]
fn crash_at_every_step_of_a_rollback_then_resume_reaches_the_same_end_state() {
    crash_everywhere(FailurePolicy::Rollback, |world| {
        world.nodes.get_mut("k8s-3").unwrap().broken_upgrade = true
    });
}

fn arbitrary_fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        6 => Just(Fault::None),
        2 => Just(Fault::Transient),
        1 => Just(Fault::Fatal),
        2 => Just(Fault::GateFalse),
        1 => Just(Fault::LostReply),
    ]
}

fn shaped_plan(
    control: usize,
    workers: usize,
    max_unavailable: usize,
    policy: FailurePolicy,
    skip: Option<usize>,
    lifecycle: &[bool],
) -> Plan {
    let mut facts: ClusterFacts = cluster(control, workers);
    for (node, on_lifecycle) in facts.nodes.iter_mut().zip(lifecycle) {
        if *on_lifecycle {
            on_lifecycle_version(node);
        }
    }
    let mut spec = spec_for();
    spec.ordering.max_unavailable = max_unavailable;
    spec.failure_policy = policy;
    if let Some(index) = skip.map(|i| i % facts.nodes.len()) {
        let reference = tailscale_plan(&spec, &facts);
        let target = reference.node(&facts.nodes[index].node).unwrap().clone();
        let node = &mut facts.nodes[index];
        node.schematic_id = target.to.schematic_id.clone();
        node.extensions.push("tailscale".into());
        let esc = target.extension.esc.unwrap();
        node.extension_service_configs.insert(esc.name, esc.digest);
    }
    tailscale_plan(&spec, &facts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_under_arbitrary_faults_and_schedules(
        control in 1usize..=3,
        workers in 0usize..=3,
        max_unavailable in 1usize..=3,
        rollback in any::<bool>(),
        skip in proptest::option::of(0usize..6),
        broken in proptest::option::of(0usize..6),
        converged_late in proptest::option::of(0usize..6),
        faults in proptest::collection::vec(arbitrary_fault(), 0..60),
        picks in proptest::collection::vec((0usize..4, 0u64..40), 1..50),
        crash in proptest::option::of((0usize..80, 0u8..3)),
        lifecycle in proptest::collection::vec(any::<bool>(), 6),
        legacy_upgrade_probes in 0u32..4,
    ) {
        let policy = if rollback { FailurePolicy::Rollback } else { FailurePolicy::Halt };
        let plan = shaped_plan(control, workers, max_unavailable, policy, skip, &lifecycle);
        let mut world = World::new(&plan);
        world.faults.extend(faults);
        for node in world.nodes.values_mut() {
            node.legacy_upgrade_probes = legacy_upgrade_probes;
        }
        if let Some(index) = broken {
            let name = plan.nodes[index % plan.nodes.len()].node.clone();
            world.nodes.get_mut(&name).unwrap().broken_upgrade = true;
        }
        let mut h = Harness::new(plan.clone(), world, Instant::now());
        if let Some(index) = converged_late {
            h.converge_behind_the_plan(&plan.nodes[index % plan.nodes.len()].node);
        }
        let mut round = 0;
        let mut crashed = false;
        loop {
            if let Some((_, kind)) = crash.filter(|(at, _)| !crashed && *at == h.handled) {
                crashed = true;
                let how = match kind {
                    0 => Crash::BetweenActions,
                    1 => Crash::MidAction,
                    _ => Crash::MidJournal,
                };
                how.hit(&mut h);
            }
            let (pick, dt) = picks[round % picks.len()];
            round += 1;
            if !h.step(pick, dt) {
                break;
            }
            prop_assert!(round < 50_000, "did not finish: {:?}", h.rollout.status());
        }
        for (node, phase) in h.phases() {
            prop_assert!(matches!(phase, Phase::Done | Phase::Halted | Phase::NotStarted | Phase::RolledBack), "{node} ended {phase:?}");
        }
    }
}

/// A harness whose driver has a Kubernetes port (cordon, drain and uncordon run).
fn draining(plan: &Plan, setup: impl Fn(&mut World)) -> Harness {
    let options = rollout_core::machine::MachineOptions { drain: true };
    let mut world = World::new(plan);
    setup(&mut world);
    Harness::with_options(plan.clone(), world, Instant::now(), options)
}

/// The install, cordon, drain, reboot and uncordon requests `node` got, in order.
fn kube_order(h: &Harness, node: &str) -> Vec<&'static str> {
    h.world
        .performed
        .iter()
        .filter(|(n, _)| n == node)
        .filter_map(|(_, r)| match r {
            NodeRequest::Cordon => Some("cordon"),
            NodeRequest::Drain => Some("drain"),
            NodeRequest::Install { .. } => Some("install"),
            NodeRequest::Reboot => Some("reboot"),
            NodeRequest::Uncordon => Some("uncordon"),
            _ => None,
        })
        .collect()
}

#[test]
fn with_a_kubernetes_port_nodes_are_installed_then_cordoned_drained_rebooted_and_uncordoned() {
    let mut h = draining(&seed_plan(FailurePolicy::Halt), |_| {});
    h.run(&[]);
    assert!(h.phases().values().all(|p| *p == Phase::Done));
    assert_eq!(
        kube_order(&h, "k8s-2"),
        ["install", "cordon", "drain", "reboot", "uncordon"]
    );
    assert!(h.world.nodes.values().all(|node| !node.cordoned));
}

#[test]
fn the_legacy_path_leaves_the_drain_to_talos_even_with_a_kubernetes_port() {
    let mut h = draining(&legacy_seed_plan(FailurePolicy::Halt), |_| {});
    h.run(&[]);
    assert!(h.phases().values().all(|p| *p == Phase::Done));
    assert_eq!(kube_order(&h, "k8s-2"), ["install"]);
}

#[test]
fn a_failed_drain_uncordons_and_halts_before_any_reboot() {
    for policy in [FailurePolicy::Halt, FailurePolicy::Rollback] {
        let mut h = draining(&seed_plan(policy), |world| {
            world.refused.push(("k8s-3".into(), Step::Drain));
        });
        h.run(&[]);
        let phases = h.phases();
        assert_eq!(phases["k8s-3"], Phase::Halted, "{policy:?}");
        assert_eq!(phases["k8s-1"], Phase::NotStarted, "{policy:?}");
        assert_eq!(
            kube_order(&h, "k8s-3"),
            ["install", "cordon", "drain", "uncordon"],
            "{policy:?}"
        );
        assert!(!h.world.nodes["k8s-3"].cordoned, "{policy:?}");
        let failure = h.rollout.status()[1].failure.clone().unwrap();
        assert_eq!(failure.phase, Phase::Drain, "{policy:?}");
        let warned = h.events.iter().any(|e| {
            matches!(e, RolloutEvent::Warning { message, .. } if message.contains("uncordoned"))
        });
        assert!(warned, "{policy:?}");
    }
}

#[test]
fn a_node_that_fails_verification_after_its_reboot_stays_cordoned_and_says_so() {
    let mut h = draining(&seed_plan(FailurePolicy::Halt), |world| {
        world.nodes.get_mut("k8s-3").unwrap().broken_upgrade = true;
    });
    h.run(&[]);
    assert_eq!(h.phases()["k8s-3"], Phase::Halted);
    assert!(h.world.nodes["k8s-3"].cordoned);
    assert!(!kube_order(&h, "k8s-3").contains(&"uncordon"));
    let said = h.events.iter().any(|e| {
        matches!(e, RolloutEvent::Warning { node: Some(n), message } if n == "k8s-3" && message.contains("stays cordoned"))
    });
    assert!(said);
}

#[test]
fn a_halted_drain_is_retried_with_a_new_cordon_and_ends_uncordoned() {
    let mut h = draining(&seed_plan(FailurePolicy::Halt), |world| {
        world.refused.push(("k8s-3".into(), Step::Drain));
    });
    h.run(&[]);
    assert_eq!(h.phases()["k8s-3"], Phase::Halted);
    h.world.refused.clear();
    h.resume_halted();
    h.run(&[]);
    assert_all_done(&h);
    assert_eq!(
        kube_order(&h, "k8s-3"),
        [
            "install", "cordon", "drain", "uncordon", "cordon", "drain", "reboot", "uncordon"
        ]
    );
    assert!(!h.world.nodes["k8s-3"].cordoned);
}

#[test]
fn crash_at_every_step_of_a_draining_rollout_then_resume_reaches_the_same_end_state() {
    let drain = rollout_core::machine::MachineOptions { drain: true };
    let plan = seed_plan(FailurePolicy::Halt);
    crash_everywhere_with(&plan, drain, |_| {});
    crash_everywhere_with(&plan, drain, |world| {
        world.refused.push(("k8s-3".into(), Step::Drain));
    });
}
