//! End to end on a `sim-cluster` process: `gitops --check` on the sim's sample repository
//! before a rollout, `full-rollout --gitops DIR` updating it in the same run, `gitops
//! --check` then in step, drift after a hand edit, and an unusable repository.
#![allow(clippy::unwrap_used)]

mod support;

use support::{FAST, SimCluster, json_lines, run};

#[test]
fn the_sample_repository_stays_in_step_through_a_rollout_and_drift_is_reported() {
    let sim = SimCluster::start(&["--nodes", "3"]);
    let repo = tempfile::tempdir().unwrap();
    sim::samples::write_talhelper_repository(repo.path()).unwrap();
    let dir = repo.path().to_str().unwrap();

    let before = run(sim.command("gitops").args(["--check", dir]));
    assert_eq!(
        before.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );

    let artifacts = tempfile::tempdir().unwrap();
    let rollout = run(sim.command("full-rollout").args(FAST).args([
        "--json",
        "--gitops",
        dir,
        "--artifacts",
        artifacts.path().to_str().unwrap(),
    ]));
    assert!(
        rollout.status.success(),
        "{}",
        String::from_utf8_lossy(&rollout.stderr)
    );
    let events = json_lines(&rollout);
    let sync = events.iter().find(|e| e["event"] == "gitops_sync").unwrap();
    assert_eq!(
        sync["report"]["changed"].as_array().unwrap().len(),
        4,
        "{sync}"
    );
    assert_eq!(
        sync["report"]["env_references"],
        serde_json::json!(["TS_AUTHKEY"])
    );
    let checked = events
        .iter()
        .find(|e| e["event"] == "gitops_check")
        .unwrap();
    assert!(
        checked["report"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|node| node["differences"].as_array().unwrap().is_empty()),
        "{checked}"
    );
    let patch = repo
        .path()
        .join("talos/patches/k8s-1/tailscale-extension.yaml");
    let patch = std::fs::read_to_string(patch).unwrap();
    assert!(
        patch.contains("TS_AUTHKEY=${TS_AUTHKEY}") && !patch.contains("tskey-"),
        "{patch}"
    );
    assert!(artifacts.path().join("sim/recovery/RUNBOOK.md").is_file());

    let after = run(sim.command("gitops").args(["--check", dir]));
    assert_eq!(
        after.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&after.stdout)
    );
    assert!(String::from_utf8_lossy(&after.stdout).contains("in step"));

    let talenv = repo.path().join("talos/talenv.yaml");
    let text = std::fs::read_to_string(&talenv).unwrap();
    std::fs::write(
        &talenv,
        text.replace("talosVersion: v1.10.4", "talosVersion: v1.10.6"),
    )
    .unwrap();
    let edited = run(sim.command("gitops").args(["--check", dir]));
    assert_eq!(edited.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&edited.stdout);
    assert!(
        stdout.contains("talosVersion") && stdout.contains("v1.10.6"),
        "{stdout}"
    );
}

#[test]
fn an_unusable_repository_exits_2_and_says_what_to_fix() {
    let sim = SimCluster::start(&["--nodes", "1"]);
    let empty = tempfile::tempdir().unwrap();
    let output = run(sim
        .command("gitops")
        .args(["--check", empty.path().to_str().unwrap()]));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("talconfig.yaml"));

    let missing_mode = run(sim.command("gitops").arg(empty.path()));
    assert_eq!(missing_mode.status.code(), Some(2));
}
