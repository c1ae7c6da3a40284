//! Chaos: `full-rollout` ends itself at deterministic kill points (both sides of every
//! disruptive call, and between journal entries) against a `sim-cluster` process whose
//! legacy upgrades keep the node busy for a while, and is resumed at once each time. The
//! sim's own record then shows: every node converged, each rebooted exactly once, never two
//! control-plane nodes down at once, backups byte-exact, one key minted, the journal
//! consistent. A second walk on Talos 1.13 covers the calls the legacy path never makes:
//! both sides of the standalone Reboot, and of a rollback's config restore, Rollback RPC,
//! re-install of the original image and its reboot (`rollback` resumed by running it again).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use support::{FAST, ROLLBACK_FAST, SimCluster, assert_converged, json_lines, report, run};
use talos_rollout::driver::KILLED_EXIT_CODE;

/// The rollout's node order, from a dry run.
fn plan_order(sim: &SimCluster, artifacts: &[&str]) -> Vec<String> {
    let dry = run(sim
        .command("full-rollout")
        .args(FAST)
        .args(artifacts)
        .args(["--plan", "--json"]));
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let plan = json_lines(&dry)
        .into_iter()
        .find(|line| line["event"] == "dry_run")
        .unwrap();
    plan["plan"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| node["node"].as_str().unwrap().to_owned())
        .collect()
}

/// Kill points in the order the rollout reaches them: per node, both sides of its config
/// apply and of its install (the legacy install reboots the node by itself), and between
/// journal entries of the resumed process.
fn kill_points(order: &[String]) -> Vec<String> {
    order
        .iter()
        .flat_map(|node| {
            [
                "journal:2".to_owned(),
                format!("after-call:apply_config:{node}"),
                "journal:1".to_owned(),
                "journal:3".to_owned(),
                format!("after-call:install:{node}"),
                "journal:1".to_owned(),
                "journal:4".to_owned(),
            ]
        })
        .collect()
}

fn boots(sim: &SimCluster) -> (BTreeMap<String, u64>, u64) {
    let record: Value =
        serde_json::from_slice(&std::fs::read(sim.dir.path().join("record.json")).unwrap())
            .unwrap();
    let boots = record["boots"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(host, boots)| (host.clone(), boots.as_u64().unwrap()))
        .collect();
    (boots, record["max_control_planes_down"].as_u64().unwrap())
}

fn journal_entries(artifacts: &Path) -> Vec<Value> {
    std::fs::read_to_string(artifacts.join("sim/journal.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_rollout_killed_at_every_kill_point_and_resumed_at_once_converges_exactly_once() {
    let sim = SimCluster::start(&[
        "--nodes",
        "3",
        "--control-planes",
        "3",
        "--install-seconds",
        "2",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let artifacts = ["--artifacts", dir.path().to_str().unwrap()];
    let order = plan_order(&sim, &artifacts);
    let points = kill_points(&order);
    assert!(points.len() >= 20, "{points:?}");

    let mut minted = 0;
    for (index, point) in points.iter().enumerate() {
        let mut command = sim.command("full-rollout");
        command.args(FAST).args(artifacts).arg("--json");
        if index > 0 {
            command.arg("--resume");
        }
        let killed = run(command.env("TALOS_ROLLOUT_KILL_AT", point));
        minted += json_lines(&killed)
            .iter()
            .filter(|line| line["event"] == "credential_provisioned")
            .count();
        assert_eq!(
            killed.status.code(),
            Some(KILLED_EXIT_CODE),
            "kill point {point} was not reached: {}",
            String::from_utf8_lossy(&killed.stderr)
        );
    }
    let finished = run(sim
        .command("full-rollout")
        .args(FAST)
        .args(artifacts)
        .args(["--json", "--resume"]));
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );

    let report = report(dir.path(), "report.json");
    let (boots, max_down) = boots(&sim);
    for (host, count) in &boots {
        assert_converged(&report, host);
        assert_eq!(
            *count, 2,
            "{host} must reboot exactly once (boots: {boots:?})"
        );
    }
    assert!(
        max_down <= 1,
        "{max_down} control-plane nodes were down at once"
    );
    assert_eq!(minted, 1, "one auth key for the whole rollout");
    for node in sim.info["nodes"].as_array().unwrap() {
        let (host, address) = (
            node["hostname"].as_str().unwrap(),
            node["address"].as_str().unwrap(),
        );
        let original = std::fs::read(
            sim.dir
                .path()
                .join(format!("originals/{host}.machineconfig.yaml")),
        )
        .unwrap();
        let backup = std::fs::read(talos_rollout::journal::backup_path(
            &dir.path().join("sim"),
            address,
        ))
        .unwrap();
        assert!(
            original == backup,
            "{host}: the backup differs from the original config"
        );
    }
    let entries = journal_entries(dir.path());
    assert_eq!(entries.last().unwrap()["entry"], "finished");
    for node in &order {
        let installs = entries
            .iter()
            .filter(|e| e["node"] == node.as_str() && e["step"]["step"] == "install")
            .filter(|e| e["entry"] == "step_completed")
            .count();
        assert_eq!(installs, 1, "{node}: one completed install");
    }
}

/// Runs `tool` with `flags` once per kill point (each run must end there), then once more
/// to the end, which must succeed. A killed process leaves its lock record behind: a
/// rollback run again takes it over explicitly, as its refusal tells the operator to
/// (`full-rollout --resume` does so by itself).
fn walk(sim: &SimCluster, tool: &str, flags: &[&str], points: &[String]) {
    let fast: Vec<&str> = if tool == "rollback" {
        [ROLLBACK_FAST, &["--take-over-stale-lock"]].concat()
    } else {
        FAST.to_vec()
    };
    for point in points {
        let killed = run(sim
            .command(tool)
            .args(&fast)
            .args(flags)
            .env("TALOS_ROLLOUT_KILL_AT", point));
        assert_eq!(
            killed.status.code(),
            Some(KILLED_EXIT_CODE),
            "{tool}: kill point {point} was not reached: {}",
            String::from_utf8_lossy(&killed.stderr)
        );
    }
    let finished = run(sim.command(tool).args(&fast).args(flags));
    assert!(
        finished.status.success(),
        "{tool} {flags:?}: {}{}",
        String::from_utf8_lossy(&finished.stdout),
        String::from_utf8_lossy(&finished.stderr)
    );
}

/// Both sides of a call: intended and never sent, sent and its answer lost.
fn around(step: &str, node: &str) -> [String; 2] {
    [
        format!("before-call:{step}:{node}"),
        format!("after-call:{step}:{node}"),
    ]
}

#[test]
fn reboots_and_rollbacks_killed_on_both_sides_of_each_call_end_at_home_exactly_once() {
    // Talos 1.13: the lifecycle install only writes the boot entry; a separate Reboot follows.
    let sim = SimCluster::start(&[
        "--nodes",
        "2",
        "--control-planes",
        "1",
        "--talos-version",
        "v1.13.0",
        "--reboot-seconds",
        "2",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let artifacts = ["--artifacts", dir.path().to_str().unwrap()];
    let order = plan_order(&sim, &artifacts);
    let (first, last) = (order[0].as_str(), order[order.len() - 1].as_str());

    // The rollout: both sides of every node's standalone reboot.
    let forward: Vec<String> = order
        .iter()
        .flat_map(|node| around("reboot", node))
        .collect();
    let (start, rest) = forward.split_at(1);
    let killed = run(sim
        .command("full-rollout")
        .args(FAST)
        .args(artifacts)
        .env("TALOS_ROLLOUT_KILL_AT", &start[0]));
    assert_eq!(
        killed.status.code(),
        Some(KILLED_EXIT_CODE),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    let mut resume = artifacts.to_vec();
    resume.push("--resume");
    walk(&sim, "full-rollout", &resume, rest);

    // Rolling back the last node: its previous boot entry is the original (Rollback RPC).
    // A killed rollback leaves its lock behind; running it again takes that over, as an
    // operator does after a crash.
    let mut back_last = artifacts.to_vec();
    back_last.extend(["--node", last]);
    let points: Vec<String> = [
        around("restore_config", last),
        around("boot_previous", last),
    ]
    .concat();
    walk(&sim, "rollback", &back_last, &points);

    // A plain re-run rolls the last node again; the first one it never touches. Rolling the
    // first one back to its originals then re-installs its original image and reboots it.
    walk(&sim, "full-rollout", &artifacts, &[]);
    let mut back_first = artifacts.to_vec();
    back_first.extend(["--node", first]);
    let points: Vec<String> = [around("boot_previous", first), around("reboot", first)].concat();
    walk(&sim, "rollback", &back_first, &points);

    let rollback = report(dir.path(), "rollback-report.json");
    let (boots, _) = boots(&sim);
    let expected = |node: &str| if node == last { 4 } else { 3 };
    for node in sim.info["nodes"].as_array().unwrap() {
        let (host, address) = (
            node["hostname"].as_str().unwrap(),
            node["address"].as_str().unwrap(),
        );
        if address == first {
            assert_eq!(support::node(&rollback, host)["status"], "RolledBack");
        }
        assert_eq!(
            boots[host],
            expected(address),
            "{host}: one reboot per change (boots: {boots:?})"
        );
    }
}
