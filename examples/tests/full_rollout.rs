//! End to end on the sim: the whole procedure through the `full-rollout` binary.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{FAST, SimCluster, assert_converged, json_lines, report, run};

#[test]
fn seed_shaped_cluster_converges_and_the_auth_key_never_reaches_the_screen() {
    let sim = SimCluster::start(&["--nodes", "3"]);
    let artifacts = tempfile::tempdir().unwrap();
    let output = run(sim.command("full-rollout").args(FAST).args([
        "--json",
        "--artifacts",
        artifacts.path().to_str().unwrap(),
    ]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "rollout failed: {stderr}");

    let report = report(artifacts.path(), "report.json");
    for hostname in ["k8s-1", "k8s-2", "k8s-3"] {
        assert_converged(&report, hostname);
    }
    assert_eq!(report["succeeded"], true);
    let events = json_lines(&output);
    let kinds: BTreeSet<&str> = events
        .iter()
        .filter_map(|event| event["event"].as_str())
        .collect();
    for kind in [
        "discovered",
        "credential_provisioned",
        "patch_written",
        "schematic_recorded",
        "plan",
        "phase_changed",
        "finished",
        "report",
    ] {
        assert!(kinds.contains(kind), "no {kind} event in {kinds:?}");
    }

    let stdout = String::from_utf8_lossy(&output.stdout);
    let report_text = std::fs::read_to_string(artifacts.path().join("sim/report.json")).unwrap();
    for text in [stdout.as_ref(), stderr.as_ref(), report_text.as_str()] {
        assert!(!text.contains("tskey-auth-"), "an auth key was printed");
    }
    let patches = std::fs::read_dir(artifacts.path().join("sim/patches")).unwrap();
    for patch in patches {
        let patch = patch.unwrap();
        let text = std::fs::read_to_string(patch.path()).unwrap();
        assert!(
            text.contains("TS_AUTHKEY=tskey-auth-"),
            "patch without the key"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                patch.metadata().unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}

/// Workers that are past Pending and not yet terminal, after each event.
fn worker_concurrency(events: &[Value], workers: &BTreeSet<String>) -> (usize, bool) {
    let mut active = BTreeSet::new();
    let mut max = 0;
    let mut control_plane_done_first = true;
    let mut control_plane_done = false;
    for event in events
        .iter()
        .filter(|event| event["event"] == "phase_changed")
    {
        let node = event["node"].as_str().unwrap().to_owned();
        let to = event["to"]["phase"].as_str().unwrap();
        let terminal = matches!(to, "done" | "halted" | "rolled_back");
        if workers.contains(&node) {
            if terminal {
                active.remove(&node);
            } else if to != "pending" {
                control_plane_done_first &= control_plane_done;
                active.insert(node);
            }
            max = max.max(active.len());
        } else if terminal {
            control_plane_done = true;
        }
    }
    (max, control_plane_done_first)
}

#[test]
fn one_control_plane_and_five_workers_roll_two_workers_at_a_time() {
    let sim = SimCluster::start(&["--nodes", "6", "--control-planes", "1"]);
    let artifacts = tempfile::tempdir().unwrap();
    let output = run(sim.command("full-rollout").args(FAST).args([
        "--max-unavailable",
        "2",
        "--json",
        "--artifacts",
        artifacts.path().to_str().unwrap(),
    ]));
    assert!(
        output.status.success(),
        "rollout failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let report = report(artifacts.path(), "report.json");
    for index in 1..=6 {
        assert_converged(&report, &format!("k8s-{index}"));
    }
    let workers: BTreeSet<String> = (2..=6)
        .map(|index| sim.address(&format!("k8s-{index}")))
        .collect();
    let (max_workers, control_plane_first) = worker_concurrency(&json_lines(&output), &workers);
    assert_eq!(max_workers, 2, "workers must go two at a time, never more");
    assert!(
        control_plane_first,
        "a worker started before the control plane finished"
    );
}

#[test]
fn plan_prints_the_dry_run_and_changes_nothing() {
    let sim = SimCluster::start(&["--nodes", "3"]);
    let artifacts = tempfile::tempdir().unwrap();
    let artifacts_dir = artifacts.path().join("out");
    let output = run(sim.command("full-rollout").args([
        "--plan",
        "--json",
        "--artifacts",
        artifacts_dir.to_str().unwrap(),
    ]));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events = json_lines(&output);
    let plan = events
        .iter()
        .find(|event| event["event"] == "dry_run")
        .unwrap();
    let actions: Vec<&str> = plan["plan"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["action"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["upgrade", "upgrade", "upgrade"]);
    assert!(
        !events
            .iter()
            .any(|event| event["event"] == "credential_provisioned")
    );
    assert!(!artifacts_dir.exists(), "--plan wrote artifacts");

    let after = run(sim.command("get-extensions").arg("--json"));
    let listing: Value = serde_json::from_slice(&after.stdout).unwrap();
    for node in listing["nodes"].as_array().unwrap() {
        let names: Vec<&str> = node["extensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["i915", "mei"], "--plan changed {}", node["node"]);
    }
}

#[test]
fn without_arguments_the_embedded_seed_cluster_converges() {
    let artifacts = tempfile::tempdir().unwrap();
    let output = run(std::process::Command::new(support::example("full-rollout"))
        .args(["--artifacts", artifacts.path().to_str().unwrap()])
        .env_remove("TS_API_KEY"));
    assert!(
        output.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = report(artifacts.path(), "report.json");
    for hostname in ["k8s-1", "k8s-2", "k8s-3"] {
        assert_converged(&report, hostname);
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("every node converged"),
        "no summary table: {stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("embedded simulated cluster"),
        "the sim is not announced: {stderr}"
    );
    assert!(
        stderr.contains("1 of 3 nodes finished") && stderr.contains("3 of 3 nodes finished"),
        "no overall progress: {stderr}"
    );
}

#[test]
fn a_second_run_on_a_converged_cluster_prints_nothing_to_do_and_mints_no_key() {
    let sim = SimCluster::start(&["--nodes", "2", "--control-planes", "1"]);
    let artifacts = tempfile::tempdir().unwrap();
    let artifacts_flag = ["--artifacts", artifacts.path().to_str().unwrap()];
    let first = run(sim.command("full-rollout").args(FAST).args(artifacts_flag));
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let journal = std::fs::read(artifacts.path().join("sim/journal.jsonl")).unwrap();

    let second = run(sim
        .command("full-rollout")
        .args(FAST)
        .args(artifacts_flag)
        .arg("--json"));
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let events = json_lines(&second);
    assert!(
        events.iter().any(|event| event["event"] == "nothing_to_do"),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|event| event["event"] == "credential_provisioned"),
        "no key may be minted: {events:?}"
    );
    assert_eq!(
        std::fs::read(artifacts.path().join("sim/journal.jsonl")).unwrap(),
        journal
    );
}
