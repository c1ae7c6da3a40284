//! Resume: the rollout process is killed mid-node (the sim runs as its own process), a plain
//! re-run refuses to start over, and `--resume` completes without upgrading any node twice.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::process::Stdio;

use serde_json::Value;
use support::{FAST, ROLLBACK_FAST, SimCluster, assert_converged, lines, report, run};

#[test]
fn a_killed_rollout_resumes_without_upgrading_a_node_twice() {
    let sim = SimCluster::start(&[
        "--nodes",
        "3",
        "--control-planes",
        "1",
        "--reboot-seconds",
        "3",
    ]);
    let artifacts = tempfile::tempdir().unwrap();
    let artifacts_flag = ["--artifacts", artifacts.path().to_str().unwrap()];
    let victim = sim.address("k8s-2");

    let mut first = sim
        .command("full-rollout")
        .args(FAST)
        .args(artifacts_flag)
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let killed_mid_node = lines(&mut first).any(|line| {
        let event: Value = serde_json::from_str(&line).unwrap_or_default();
        event["event"] == "phase_changed"
            && event["node"] == victim.as_str()
            && event["to"]["phase"] == "await_reboot"
    });
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        killed_mid_node,
        "the rollout never reached {victim}'s reboot"
    );

    let refused = run(sim.command("full-rollout").args(FAST).args(artifacts_flag));
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));

    let resumed = run(sim
        .command("full-rollout")
        .args(FAST)
        .args(artifacts_flag)
        .arg("--resume"));
    assert!(
        resumed.status.success(),
        "resume failed: {}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let report = report(artifacts.path(), "report.json");
    for hostname in ["k8s-1", "k8s-2", "k8s-3"] {
        assert_converged(&report, hostname);
    }

    let journal = std::fs::read_to_string(artifacts.path().join("sim/journal.jsonl")).unwrap();
    let mut installs: BTreeMap<String, usize> = BTreeMap::new();
    for line in journal.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        if entry["entry"] == "step_started" && entry["step"]["step"] == "install" {
            *installs
                .entry(entry["node"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert_eq!(installs.len(), 3, "{installs:?}");
    assert!(
        installs.values().all(|count| *count == 1),
        "a node was upgraded twice: {installs:?}"
    );
}

/// A rollout on a 1+1 sim that halts on its first node: the reboot takes 3 s, the rollout
/// allows 1 s. Returns the sim, the artifacts directory and what the run printed.
fn halted() -> (SimCluster, tempfile::TempDir, String) {
    let sim = SimCluster::start(&[
        "--nodes",
        "2",
        "--control-planes",
        "1",
        "--reboot-seconds",
        "3",
    ]);
    let artifacts = tempfile::tempdir().unwrap();
    let output = run(sim
        .command("full-rollout")
        .args(FAST)
        .args(["--await-reboot-seconds", "1"])
        .args(["--artifacts", artifacts.path().to_str().unwrap()]));
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (sim, artifacts, stdout)
}

#[test]
fn a_halt_names_resume_rollback_and_abandon_and_each_of_them_works() {
    let ways: [(&str, &[&str]); 3] = [
        (
            "full-rollout",
            &["--resume", "--await-reboot-seconds", "60"],
        ),
        ("rollback", &[]),
        ("full-rollout", &["--abandon"]),
    ];
    let handles: Vec<_> = ways
        .into_iter()
        .map(|(tool, flags)| {
            std::thread::spawn(move || {
                let (sim, artifacts, halt) = halted();
                for named in [
                    "`full-rollout --resume`",
                    "`rollback`",
                    "`full-rollout --abandon`",
                ] {
                    assert!(halt.contains(named), "{named} missing from: {halt}");
                }
                let mut command = sim.command(tool);
                command
                    .args(if tool == "rollback" {
                        ROLLBACK_FAST
                    } else {
                        FAST
                    })
                    .args(flags)
                    .args(["--artifacts", artifacts.path().to_str().unwrap()]);
                if tool == "rollback" {
                    command.args(["--node", &sim.address("k8s-1")]);
                }
                let output = run(&mut command);
                assert!(
                    output.status.success(),
                    "{tool} {flags:?} failed from the halt: {}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                let sim_dir = artifacts.path().join("sim");
                match (tool, flags.first()) {
                    ("full-rollout", Some(&"--resume")) => {
                        let report = report(artifacts.path(), "report.json");
                        assert_converged(&report, "k8s-1");
                        assert_converged(&report, "k8s-2");
                    }
                    ("rollback", _) => {
                        let report = report(artifacts.path(), "rollback-report.json");
                        assert_eq!(support::node(&report, "k8s-1")["status"], "RolledBack");
                    }
                    _ => assert!(
                        !sim_dir.join("journal.jsonl").exists(),
                        "abandon moves the journal to history/"
                    ),
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}
