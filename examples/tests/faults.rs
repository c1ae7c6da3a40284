//! Each injected fault ends in its documented state, and every node after the faulty one is
//! untouched. The sim has one control plane (`k8s-1`, rolled first) and two workers rolled
//! in order, so the fault on `k8s-2` hits the second node and `k8s-3` must stay as it was.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::{FAST, SimCluster, assert_converged, assert_untouched, node, report, run};

/// Runs a rollout with `rollout_flags` on a 1+2 sim started with `sim_flags`; returns the
/// exit status code and the report.
fn rollout(sim_flags: &[&str], rollout_flags: &[&str]) -> (Option<i32>, Value, String) {
    let mut flags = vec!["--nodes", "3", "--control-planes", "1"];
    flags.extend_from_slice(sim_flags);
    let sim = SimCluster::start(&flags);
    let artifacts = tempfile::tempdir().unwrap();
    let output = run(sim
        .command("full-rollout")
        .args(FAST)
        .args(rollout_flags)
        .args(["--artifacts", artifacts.path().to_str().unwrap()]));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        artifacts.path().join("sim/report.json").exists(),
        "no report written: {stderr}"
    );
    (
        output.status.code(),
        report(artifacts.path(), "report.json"),
        stderr,
    )
}

/// The failed node: halted in `phase`, the ones before converged, the one after untouched.
fn assert_halted_in(report: &Value, phase: &str) {
    assert_converged(report, "k8s-1");
    let failed = node(report, "k8s-2");
    assert_eq!(failed["status"], "Halted", "{failed}");
    let failure = failed["failure"].as_str().unwrap();
    assert!(
        failure.starts_with(phase),
        "expected a failure in {phase}, got {failure}"
    );
    assert_eq!(report["halted_by"], failed["node"]);
    assert_untouched(report, "k8s-3");
    assert_eq!(node(report, "k8s-3")["status"], "NotStarted");
}

#[test]
fn a_node_that_never_returns_halts_the_rollout() {
    let (code, report, _) = rollout(
        &["--fault-never-returns", "k8s-2"],
        &[
            "--step-seconds",
            "10",
            "--install-seconds",
            "8",
            "--await-reboot-seconds",
            "8",
        ],
    );
    assert_eq!(code, Some(1));
    // The install only acts (on Talos v1.10 the legacy upgrade is accepted and the node
    // reboots by itself); waiting for the node belongs to AwaitReboot, where it fails.
    assert_halted_in(&report, "AwaitReboot");
}

#[test]
fn a_node_that_returns_without_the_extension_is_rolled_back() {
    let (code, report, _) = rollout(
        &["--fault-missing-extension", "k8s-2"],
        &["--on-failure", "rollback", "--verify-seconds", "8"],
    );
    assert_eq!(code, Some(1));
    assert_converged(&report, "k8s-1");
    let failed = node(&report, "k8s-2");
    assert_eq!(failed["status"], "RolledBack", "{failed}");
    assert!(
        failed["failure"].as_str().unwrap().starts_with("Verify"),
        "{failed}"
    );
    assert_eq!(
        failed["schematic"]["live"], failed["schematic"]["from"],
        "still on the new schematic"
    );
    assert_eq!(
        failed["image"]["live"], failed["image"]["from"],
        "install image not restored"
    );
    assert_untouched(&report, "k8s-3");
}

#[test]
fn a_crash_looping_tailscale_halts_with_the_auth_key_diagnosis() {
    let (code, report, stderr) = rollout(
        &["--fault-tailscale-auth", "k8s-2"],
        &["--verify-seconds", "8"],
    );
    assert_eq!(code, Some(1));
    assert_halted_in(&report, "Verify");
    let causes = node(&report, "k8s-2")["causes"].as_array().unwrap().clone();
    assert!(
        causes
            .iter()
            .any(|cause| cause.as_str().unwrap().contains("auth key")),
        "no auth key cause in {causes:?}"
    );
    assert!(
        stderr.contains("ext-tailscale|"),
        "the log tail is not shown: {stderr}"
    );
    assert!(
        !stderr.contains("tskey-auth-k"),
        "the log tail shows the key"
    );
}

#[test]
fn a_device_that_never_connects_halts_in_the_tailnet_phase() {
    let (code, report, _) = rollout(
        &["--fault-device-never-connects", "k8s-2"],
        &["--verify-seconds", "8"],
    );
    assert_eq!(code, Some(1));
    assert_halted_in(&report, "PostVerify");
}

#[test]
fn routes_that_are_never_advertised_halt_in_the_tailnet_phase() {
    let (code, report, _) = rollout(
        &["--fault-routes-never-advertised", "k8s-2"],
        &["--verify-seconds", "8"],
    );
    assert_eq!(code, Some(1));
    assert_halted_in(&report, "PostVerify");
    let failing = node(&report, "k8s-2")["failing_checks"].clone();
    assert!(
        failing.as_array().unwrap().iter().any(|check| check
            .as_str()
            .unwrap()
            .starts_with("routes advertised: not met")),
        "the failed node's failing checks: {failing}"
    );
}

fn assert_all_converged(code: Option<i32>, report: &Value, stderr: &str) {
    assert_eq!(code, Some(0), "{stderr}");
    for hostname in ["k8s-1", "k8s-2", "k8s-3"] {
        assert_converged(report, hostname);
    }
}

#[test]
fn a_factory_5xx_burst_is_retried_and_the_rollout_completes() {
    let (code, report, stderr) = rollout(&["--fault-factory-5xx", "3"], &[]);
    assert_all_converged(code, &report, &stderr);
}

#[test]
fn tailnet_429s_are_waited_out_and_the_rollout_completes() {
    let (code, report, stderr) = rollout(&["--fault-tailnet-429", "4:1"], &[]);
    assert_all_converged(code, &report, &stderr);
}

#[test]
fn dropped_apid_connections_are_retried_and_the_rollout_completes() {
    let (code, report, stderr) = rollout(&["--fault-apid-drop-every", "25"], &[]);
    assert_all_converged(code, &report, &stderr);
}

#[test]
fn a_slow_reboot_within_the_timeout_completes() {
    let (code, report, stderr) = rollout(
        &["--fault-slow-reboot", "k8s-2=3"],
        &["--await-reboot-seconds", "60"],
    );
    assert_all_converged(code, &report, &stderr);
}
