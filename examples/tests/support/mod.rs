//! Test harness: runs the built example binaries (found next to the test executable, in
//! `target/<profile>/examples/`) against a `sim-cluster` process with short reboot times.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Path of a built example binary.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "example binary {} not built; run cargo test -p examples",
        path.display()
    );
    path
}

/// A `sim-cluster` process; killed when dropped.
pub struct SimCluster {
    child: Child,
    pub dir: tempfile::TempDir,
    pub info: Value,
}

impl SimCluster {
    /// Starts `sim-cluster --out DIR` with one-second reboots and device delays plus `extra` flags.
    pub fn start(extra: &[&str]) -> SimCluster {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(example("sim-cluster"));
        command
            .args(["--out", dir.path().to_str().unwrap()])
            .args(extra);
        for (flag, default) in [("--reboot-seconds", "1"), ("--device-delay-seconds", "1")] {
            if !extra.contains(&flag) {
                command.args([flag, default]);
            }
        }
        let log = dir.path().join("sim-cluster.log");
        let stderr = std::fs::File::create(&log).unwrap();
        let mut child = command
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let info_path = dir.path().join("sim.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        let info = loop {
            let parsed = std::fs::read_to_string(&info_path)
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok());
            if let Some(info) = parsed {
                break info;
            }
            if let Some(status) = child.try_wait().unwrap() {
                let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("sim-cluster exited with {status}: {stderr}");
            }
            assert!(
                Instant::now() < deadline,
                "sim-cluster did not write sim.json"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        SimCluster { child, dir, info }
    }

    /// A command running example `name` against this sim: the target flags the tool takes
    /// (each tool takes only the groups it uses) and, for tailnet tools, the API key.
    pub fn command(&self, name: &str) -> Command {
        self.command_with(name, "talosconfig")
    }

    /// As [`SimCluster::command`], with the `os:reader`-only talosconfig.
    pub fn reader_command(&self, name: &str) -> Command {
        self.command_with(name, "reader_talosconfig")
    }

    /// As [`SimCluster::command`], with the talosconfig named `talosconfig` in `sim.json`.
    fn command_with(&self, name: &str, talosconfig: &str) -> Command {
        let (talos, factory, tailnet) = match name {
            "full-rollout" | "rollback" => (true, true, true),
            "status" | "approve-routes" | "rotate-auth-key" => (true, false, true),
            "get-extensions" | "gitops" => (true, false, false),
            "policy-check" => (false, false, true),
            other => panic!("no target flags known for {other}"),
        };
        let mut command = Command::new(example(name));
        command
            .env_remove("TS_API_KEY")
            .env_remove("TS_OAUTH_CLIENT_ID")
            .env_remove("TS_OAUTH_CLIENT_SECRET")
            .env_remove("TALOSCONFIG");
        if talos {
            command.args(["--talosconfig", self.info[talosconfig].as_str().unwrap()]);
        }
        if factory {
            command.args(["--factory-url", self.info["factory_url"].as_str().unwrap()]);
        }
        if tailnet {
            command
                .args([
                    "--tailscale-url",
                    self.info["tailnet_url"].as_str().unwrap(),
                ])
                .args(["--tailnet", "-"])
                .env("TS_API_KEY", self.info["api_key"].as_str().unwrap());
        }
        command
    }

    /// Node addresses by hostname.
    pub fn address(&self, hostname: &str) -> String {
        self.info["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|node| node["hostname"] == hostname)
            .map(|node| node["address"].as_str().unwrap().to_owned())
            .unwrap()
    }
}

impl Drop for SimCluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Flags that keep a rollout on the sim quick; timeouts stay generous (liveness only).
pub const FAST: &[&str] = &["--soak-seconds", "1", "--check-interval-seconds", "1"];

/// Runs a command to completion.
pub fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().unwrap()
}

/// The JSON lines a `--json` run printed.
pub fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect()
}

/// `report.json` of the rollout in `artifacts`.
pub fn report(artifacts: &Path, file: &str) -> Value {
    let path = artifacts.join("sim").join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The report entry of a node by hostname.
pub fn node<'a>(report: &'a Value, hostname: &str) -> &'a Value {
    report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["hostname"] == hostname)
        .unwrap_or_else(|| panic!("{hostname} missing from report"))
}

/// Asserts a node was never touched: it still runs its original schematic and image, and
/// the rollout never moved it past Pending.
pub fn assert_untouched(report: &Value, hostname: &str) {
    let node = node(report, hostname);
    assert_eq!(
        node["schematic"]["live"], node["schematic"]["from"],
        "{hostname} schematic changed"
    );
    assert_eq!(
        node["image"]["live"], node["image"]["from"],
        "{hostname} install image changed"
    );
    assert!(
        node["phases"].as_array().unwrap().is_empty(),
        "{hostname} went through phases: {}",
        node["phases"]
    );
}

/// Asserts a node converged onto its target image and passed the final validation (the
/// soak gate: version, schematic, extensions, config and services, profile checks).
pub fn assert_image_converged(report: &Value, hostname: &str) {
    let node = node(report, hostname);
    assert_eq!(node["status"], "Done", "{hostname}: {node}");
    assert_eq!(
        node["schematic"]["live"], node["schematic"]["to"],
        "{hostname}"
    );
    assert_eq!(node["image"]["live"], node["image"]["to"], "{hostname}");
    assert!(
        node["failing_checks"].as_array().unwrap().is_empty(),
        "{hostname}: {node}"
    );
}

/// Asserts a node converged with Tailscale: as [`assert_image_converged`], and its device is
/// online with its routes approved.
pub fn assert_converged(report: &Value, hostname: &str) {
    assert_image_converged(report, hostname);
    let node = node(report, hostname);
    assert_eq!(node["extension_status"]["online"], true, "{hostname}");
    let enabled = node["extension_status"]["enabled_routes"]
        .as_array()
        .unwrap();
    assert!(
        enabled.iter().any(|route| route == "10.43.0.0/16"),
        "{hostname}: {enabled:?}"
    );
}

/// A line reader over a child's stdout, for watching a `--json` event stream live.
pub fn lines(child: &mut Child) -> impl Iterator<Item = String> {
    BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
}
