//! The smaller tools against a `sim-cluster` before and after a rollout: their exit codes
//! are what cron and scripts rely on, and `rotate-auth-key`/`rollback` change what they say.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::{FAST, SimCluster, example, run};

const TOOLS: &[&str] = &[
    "full-rollout",
    "get-extensions",
    "approve-routes",
    "policy-check",
    "status",
    "rotate-auth-key",
    "rollback",
];

#[test]
fn every_tool_explains_itself_with_help() {
    for tool in TOOLS {
        let output = run(std::process::Command::new(example(tool)).arg("--help"));
        assert!(
            output.status.success(),
            "{tool} --help failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let help = String::from_utf8_lossy(&output.stdout);
        for flag in ["--sim", "--json"] {
            assert!(help.contains(flag), "{tool} --help lacks {flag}");
        }
    }
}

fn status(sim: &SimCluster) -> (Option<i32>, Value) {
    let output = run(sim.command("status").arg("--json"));
    (
        output.status.code(),
        serde_json::from_slice(&output.stdout).unwrap(),
    )
}

#[test]
fn status_rotation_and_rollback_after_a_rollout() {
    let sim = SimCluster::start(&["--nodes", "2", "--control-planes", "1"]);
    let (code, before) = status(&sim);
    assert_eq!(
        code,
        Some(1),
        "no tailscale yet must be unhealthy: {before}"
    );

    let artifacts = tempfile::tempdir().unwrap();
    let artifacts_flag = ["--artifacts", artifacts.path().to_str().unwrap()];
    let rollout = run(sim.command("full-rollout").args(FAST).args(artifacts_flag));
    assert!(
        rollout.status.success(),
        "{}",
        String::from_utf8_lossy(&rollout.stderr)
    );
    let (code, after) = status(&sim);
    assert_eq!(code, Some(0), "{after}");
    let approval = run(sim
        .command("approve-routes")
        .args(artifacts_flag)
        .arg("--json"));
    assert!(
        approval.status.success(),
        "{}",
        String::from_utf8_lossy(&approval.stderr)
    );
    let approved: Value = serde_json::from_slice(&approval.stdout).unwrap();
    assert_eq!(approved["target"], "real", "{approved}");
    for device in approved["devices"].as_array().unwrap() {
        assert_eq!(
            device["approved"],
            serde_json::json!(["10.43.0.0/16"]),
            "{device}"
        );
        assert_eq!(
            device["newly_approved"],
            serde_json::json!([]),
            "the rollout approved them already"
        );
    }

    let rotation = run(sim
        .command("rotate-auth-key")
        .args(artifacts_flag)
        .arg("--json"));
    assert!(
        rotation.status.success(),
        "{}",
        String::from_utf8_lossy(&rotation.stderr)
    );
    let rotated: Value = serde_json::from_slice(&rotation.stdout).unwrap();
    assert_eq!(rotated["old_key_revoked"], true, "{rotated}");
    assert_ne!(rotated["new_key_id"], rotated["old_key_id"]);
    let (code, after_rotation) = status(&sim);
    assert_eq!(code, Some(0), "devices must stay online: {after_rotation}");

    let worker = sim.address("k8s-2");
    let rollback = run(sim
        .command("rollback")
        .args(["--check-interval-seconds", "1"])
        .args(artifacts_flag)
        .args(["--node", &worker]));
    assert!(
        rollback.status.success(),
        "{}",
        String::from_utf8_lossy(&rollback.stderr)
    );
    let said = String::from_utf8_lossy(&rollback.stdout);
    assert!(
        said.contains("result: every requested node is rolled back") && !said.contains("halted"),
        "the result line must agree with exit 0: {said}"
    );
    let extensions = run(sim.command("get-extensions").arg("--json"));
    let listing: Value = serde_json::from_slice(&extensions.stdout).unwrap();
    for node in listing["nodes"].as_array().unwrap() {
        let names: Vec<&str> = node["extensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        let expected: &[&str] = if node["node"] == worker.as_str() {
            &["i915", "mei"]
        } else {
            &["i915", "mei", "tailscale"]
        };
        assert_eq!(names, expected, "{}", node["node"]);
    }
    let (code, _) = status(&sim);
    assert_eq!(
        code,
        Some(1),
        "the rolled-back node has no tailscale any more"
    );
}

#[test]
fn writing_tools_are_refused_while_the_cluster_lock_is_held() {
    let sim = SimCluster::start(&["--nodes", "1"]);
    let artifacts = tempfile::tempdir().unwrap();
    let artifacts_flag = ["--artifacts", artifacts.path().to_str().unwrap()];
    let held = talos_rollout::journal::lock_cluster(artifacts.path(), "sim", false).unwrap();
    let pid = format!("pid {}", std::process::id());
    for tool in ["rotate-auth-key", "approve-routes", "full-rollout"] {
        let mut command = sim.command(tool);
        command
            .args(artifacts_flag)
            .args(["--take-over-stale-lock"]);
        if tool == "full-rollout" {
            command.args(FAST);
        }
        let output = run(&mut command);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{tool}: {stderr}");
        assert!(
            stderr.contains("is locked by") && stderr.contains(&pid),
            "{tool} must name the holder: {stderr}"
        );
        assert!(
            stderr.contains("--take-over-stale-lock"),
            "{tool}: {stderr}"
        );
    }
    drop(held);
}

#[test]
fn policy_check_fails_on_a_missing_auto_approver_and_fix_repairs_it() {
    let sim = SimCluster::start(&["--nodes", "1"]);
    let check = run(sim.command("policy-check").arg("--json"));
    assert_eq!(
        check.status.code(),
        Some(1),
        "the sim's policy has no autoApprovers"
    );
    let fix = run(sim.command("policy-check").args(["--fix", "--json"]));
    assert!(
        fix.status.success(),
        "{}",
        String::from_utf8_lossy(&fix.stderr)
    );
    let fixed: Value = serde_json::from_slice(&fix.stdout).unwrap();
    assert_eq!(fixed["saved"], true);
    let again = run(sim.command("policy-check").arg("--json"));
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

#[test]
fn status_watch_prints_one_json_line_per_round() {
    let sim = SimCluster::start(&["--nodes", "1"]);
    let mut child = sim
        .command("status")
        .args(["--watch", "--interval", "1", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let rounds: Vec<Value> = support::lines(&mut child)
        .take(2)
        .map(|line| serde_json::from_str(&line).unwrap())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(rounds.len(), 2);
    assert!(rounds.iter().all(|round| round["health"] == "unhealthy"));
    for round in &rounds {
        let checked_at = round["checked_at"].as_str().unwrap();
        assert!(
            time::OffsetDateTime::parse(checked_at, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{round}"
        );
    }
}

#[test]
fn sim_cluster_writes_a_private_kubeconfig_for_its_kubernetes_api() {
    use std::os::unix::fs::PermissionsExt;
    let sim = SimCluster::start(&[]);
    let path = sim.info["kubeconfig"].as_str().unwrap();

    let text = std::fs::read_to_string(path).unwrap();

    assert_eq!(
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let server = format!("server: {}", sim.info["kube_url"].as_str().unwrap());
    assert!(text.contains(&server), "{text}");
    assert!(text.contains("current-context: admin@sim"), "{text}");
    assert!(text.contains("client-key-data: "), "{text}");
}

/// The samples of one Prometheus scrape of `url`, fetched over HTTP and parsed by an
/// exposition-format parser.
fn scrape(url: &str) -> Vec<prometheus_parse::Sample> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let body = runtime.block_on(async {
        let response = reqwest::get(url).await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("application/openmetrics-text"),
            "{content_type}"
        );
        response.text().await.unwrap()
    });
    let lines = body.lines().map(|line| Ok(line.to_owned()));
    prometheus_parse::Scrape::parse(lines).unwrap().samples
}

/// The value of `metric` for `node`, if the scrape has that series.
fn sample(samples: &[prometheus_parse::Sample], metric: &str, node: &str) -> Option<f64> {
    samples
        .iter()
        .find(|sample| sample.metric == metric && sample.labels.get("node") == Some(node))
        .map(|sample| match sample.value {
            prometheus_parse::Value::Gauge(value) | prometheus_parse::Value::Untyped(value) => {
                value
            }
            _ => f64::NAN,
        })
}

#[test]
fn status_serves_per_node_metrics_with_a_reader_talosconfig() {
    let sim = SimCluster::start(&["--nodes", "2", "--control-planes", "1"]);
    let artifacts = tempfile::tempdir().unwrap();
    let rollout = run(sim
        .command("full-rollout")
        .args(FAST)
        .args(["--artifacts", artifacts.path().to_str().unwrap()]));
    assert!(
        rollout.status.success(),
        "{}",
        String::from_utf8_lossy(&rollout.stderr)
    );

    let mut child = sim
        .reader_command("status")
        .args([
            "--serve-metrics",
            "127.0.0.1:0",
            "--interval",
            "1",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let url = std::io::BufRead::lines(stderr)
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("serving metrics on ").map(str::to_owned))
        .expect("status announces its metrics address");
    // One round is done once its JSON line is out; the metrics hold that round.
    let round: Value = serde_json::from_str(&support::lines(&mut child).next().unwrap()).unwrap();
    let samples = scrape(&url);
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(round["health"], "healthy", "{round}");
    for node in round["nodes"].as_array().unwrap() {
        let skipped = node["not_checked"].to_string();
        assert!(skipped.contains("os:admin"), "{skipped}");
        let node = node["node"].as_str().unwrap();
        for (metric, expected) in [
            ("talos_rollout_extension_installed", 1.0),
            ("talos_rollout_extension_service_running", 1.0),
            ("talos_rollout_schematic_info", 1.0),
            ("talos_rollout_tailscale_device_online", 1.0),
            ("talos_rollout_tailscale_routes_advertised", 1.0),
            ("talos_rollout_tailscale_route_approved", 1.0),
        ] {
            assert_eq!(
                sample(&samples, metric, node),
                Some(expected),
                "{metric} {node}"
            );
        }
        let healthy = samples.iter().find(|s| {
            s.metric == "talos_rollout_node_health"
                && s.labels.get("node") == Some(node)
                && s.labels.get("health") == Some("healthy")
        });
        assert!(
            matches!(healthy.map(|s| &s.value), Some(prometheus_parse::Value::Gauge(v)) if *v == 1.0),
            "{healthy:?}"
        );
    }
}
