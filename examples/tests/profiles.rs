//! The other extension profiles end to end on the embedded sim: `--extension iscsi-tools`
//! (no config; Verify checks `ext-iscsid`) and `--extension nut-client` (a config file that
//! holds a password).
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use serde_json::Value;
use support::{assert_image_converged, json_lines, report, run};

const NODES: [&str; 3] = ["k8s-1", "k8s-2", "k8s-3"];
/// Obviously fake; the test checks it reaches no screen, report or journal.
const NUT_PASSWORD: &str = "fake-nut-password-7d1e";

fn full_rollout(artifacts: &std::path::Path) -> Command {
    let mut command = Command::new(support::example("full-rollout"));
    command
        .args(["--artifacts", artifacts.to_str().unwrap(), "--json"])
        .env_remove("TS_API_KEY")
        .env_remove("NUT_PASSWORD");
    command
}

fn plan_event(output: &std::process::Output) -> Value {
    json_lines(output)
        .into_iter()
        .find(|event| event["event"] == "plan")
        .unwrap()
}

#[test]
fn iscsi_tools_rolls_out_and_verifies_its_service() {
    let artifacts = tempfile::tempdir().unwrap();
    let output = run(full_rollout(artifacts.path()).args(["--extension", "iscsi-tools"]));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan = plan_event(&output);
    assert_eq!(plan["profile"], "iscsi-tools");
    for node in plan["nodes"].as_array().unwrap() {
        assert!(node["extension"]["esc"].is_null(), "{node}");
        assert_eq!(
            node["extension"]["node_checks"],
            serde_json::json!([{"check": "service_running", "service": "ext-iscsid"}])
        );
        let extensions = node["to"]["extensions"].as_array().unwrap();
        assert!(extensions.iter().any(|e| e == "siderolabs/iscsi-tools"));
        assert!(!extensions.iter().any(|e| e == "siderolabs/tailscale"));
    }
    let report = report(artifacts.path(), "report.json");
    assert_eq!(report["profile"], "iscsi-tools");
    for hostname in NODES {
        assert_image_converged(&report, hostname);
    }
    assert!(!artifacts.path().join("sim/patches").exists());
}

#[test]
fn nut_client_rolls_out_with_its_config_and_never_shows_the_password() {
    let artifacts = tempfile::tempdir().unwrap();
    let output = run(full_rollout(artifacts.path())
        .args(["--extension", "nut-client", "--nut-ups", "ups@192.0.2.10"])
        .env("NUT_PASSWORD", NUT_PASSWORD));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plan = plan_event(&output);
    assert_eq!(plan["profile"], "nut-client");
    for node in plan["nodes"].as_array().unwrap() {
        assert_eq!(node["extension"]["esc"]["name"], "nut-client");
    }
    let report_json = report(artifacts.path(), "report.json");
    for hostname in NODES {
        assert_image_converged(&report_json, hostname);
    }
    let journal = std::fs::read_to_string(artifacts.path().join("sim/journal.jsonl")).unwrap();
    let report_text = report_json.to_string();
    for text in [
        String::from_utf8_lossy(&output.stdout).as_ref(),
        String::from_utf8_lossy(&output.stderr).as_ref(),
        report_text.as_str(),
        journal.as_str(),
    ] {
        assert!(!text.contains(NUT_PASSWORD), "the password was shown");
    }
    let patches: Vec<_> = std::fs::read_dir(artifacts.path().join("sim/patches"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(patches.len(), 3);
    for patch in patches {
        let text = std::fs::read_to_string(&patch).unwrap();
        assert!(text.contains("/usr/local/etc/nut/upsmon.conf"), "{text}");
        assert!(
            text.contains(NUT_PASSWORD),
            "the patch must hold the config"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&patch).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", patch.display());
        }
    }
}

#[test]
fn nut_client_without_a_password_exits_2_and_writes_nothing() {
    let artifacts = tempfile::tempdir().unwrap();
    let dir = artifacts.path().join("out");
    let output =
        run(full_rollout(&dir).args(["--extension", "nut-client", "--nut-ups", "ups@192.0.2.10"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("NUT_PASSWORD"));
    assert!(!dir.exists(), "artifacts were written");
}
