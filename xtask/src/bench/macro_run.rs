//! One macro scenario: `sim-cluster` in its own process, `full-rollout` against it as the
//! orchestrator, wall time, the orchestrator's peak RSS and CPU time, and the sim's own
//! record of how long each rebooted node waited for the rollout's next call.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

/// The sim's fixed timings (its defaults) and the ones the scenarios set.
pub(crate) const SHUTDOWN_S: f64 = 0.5;
/// From coming back until the machine is running and ready (the sim's default).
pub(crate) const BOOT_S: f64 = 1.0;
/// How long a node is down (`--reboot-seconds`).
pub(crate) const REBOOT_S: u64 = 2;
/// Until a logged-in device appears in the tailnet API (`--device-delay-seconds`).
pub(crate) const DEVICE_DELAY_S: u64 = 1;

/// The least one node can take: shutdown + reboot + boot + device delay.
pub(crate) fn per_node_floor_s() -> f64 {
    SHUTDOWN_S + REBOOT_S as f64 + BOOT_S + DEVICE_DELAY_S as f64
}

/// A cluster shape to roll.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scenario {
    /// What `--only` calls it.
    pub(crate) name: &'static str,
    pub(crate) nodes: usize,
    pub(crate) control_planes: usize,
    pub(crate) max_unavailable: usize,
}

impl Scenario {
    /// The ideal duration: control-plane nodes one after another, then the workers in
    /// waves of `max_unavailable`, each node taking [`per_node_floor_s`].
    pub(crate) fn ideal_s(&self) -> f64 {
        let workers = self.nodes - self.control_planes;
        let waves = workers.div_ceil(self.max_unavailable.max(1));
        (self.control_planes + waves) as f64 * per_node_floor_s()
    }
}

/// What one run measured.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    pub(crate) total_s: f64,
    pub(crate) peak_rss_mib: f64,
    pub(crate) cpu_s: f64,
    /// The sim process's CPU time over the whole scenario (its start included).
    pub(crate) sim_cpu_s: f64,
    /// Ready → next call, per reboot, from the sim's record.
    pub(crate) advance_ms: Vec<f64>,
}

/// The two release binaries a macro run needs.
#[derive(Debug, Clone)]
pub(crate) struct Binaries {
    pub(crate) sim_cluster: PathBuf,
    pub(crate) full_rollout: PathBuf,
}

/// Runs `scenario` once in a fresh temporary directory.
pub(crate) fn run(binaries: &Binaries, scenario: Scenario) -> anyhow::Result<Measured> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let mut sim = SimProcess::start(&binaries.sim_cluster, dir.path(), scenario)?;
    let measured = orchestrate(binaries, &sim.info, dir.path(), scenario);
    let sim_cpu_ticks = read_cpu_ticks(&PathBuf::from(format!("/proc/{}", sim.child.id())));
    let advance_ms = sim.stop_and_read_record(dir.path());
    let mut measured = measured?;
    measured.advance_ms = advance_ms?;
    measured.sim_cpu_s = sim_cpu_ticks.unwrap_or_default() as f64 / CLOCK_TICKS_PER_S;
    Ok(measured)
}

fn orchestrate(
    binaries: &Binaries,
    info: &Value,
    dir: &Path,
    scenario: Scenario,
) -> anyhow::Result<Measured> {
    let text = |key: &str| info[key].as_str().unwrap_or_default().to_owned();
    let log = dir.join("full-rollout.log");
    let started = Instant::now();
    let mut child = Command::new(&binaries.full_rollout)
        .args(["--talosconfig", &text("talosconfig")])
        .args(["--factory-url", &text("factory_url")])
        .args(["--tailscale-url", &text("tailnet_url")])
        .args(["--tailnet", "-"])
        .args(["--max-unavailable", &scenario.max_unavailable.to_string()])
        .args(["--soak-seconds", "0", "--check-interval-seconds", "1"])
        .arg("--artifacts")
        .arg(dir.join("artifacts"))
        .arg("--json")
        .env("TS_API_KEY", text("api_key"))
        .env_remove("TS_OAUTH_CLIENT_ID")
        .env_remove("TS_OAUTH_CLIENT_SECRET")
        .env_remove("TALOSCONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .context("cannot start full-rollout")?;
    let usage = watch_until_exit(&mut child)?;
    let total_s = started.elapsed().as_secs_f64();
    if !usage.success {
        bail!(
            "full-rollout failed on {} nodes; its log ends:\n{}",
            scenario.nodes,
            tail(&log)
        );
    }
    Ok(Measured {
        total_s,
        peak_rss_mib: usage.peak_rss_kib as f64 / 1024.0,
        cpu_s: usage.cpu_ticks as f64 / CLOCK_TICKS_PER_S,
        sim_cpu_s: 0.0,
        advance_ms: Vec::new(),
    })
}

/// Linux's `USER_HZ`, the unit of `/proc/<pid>/stat` CPU times (100 on every mainstream
/// architecture).
const CLOCK_TICKS_PER_S: f64 = 100.0;

/// How a child process ran, read from `/proc` while it was alive.
struct Usage {
    success: bool,
    /// `VmHWM`: peak resident set size.
    peak_rss_kib: u64,
    /// `utime + stime` at the last sample before exit.
    cpu_ticks: u64,
}

/// Samples the child's `/proc` entries every 20 ms until it exits.
fn watch_until_exit(child: &mut Child) -> anyhow::Result<Usage> {
    let proc_dir = PathBuf::from(format!("/proc/{}", child.id()));
    let mut usage = Usage {
        success: false,
        peak_rss_kib: 0,
        cpu_ticks: 0,
    };
    loop {
        if let Some(kib) = read_peak_rss_kib(&proc_dir) {
            usage.peak_rss_kib = usage.peak_rss_kib.max(kib);
        }
        if let Some(ticks) = read_cpu_ticks(&proc_dir) {
            usage.cpu_ticks = usage.cpu_ticks.max(ticks);
        }
        if let Some(status) = child.try_wait()? {
            usage.success = status.success();
            return Ok(usage);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_peak_rss_kib(proc_dir: &Path) -> Option<u64> {
    let status = std::fs::read_to_string(proc_dir.join("status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn read_cpu_ticks(proc_dir: &Path) -> Option<u64> {
    let stat = std::fs::read_to_string(proc_dir.join("stat")).ok()?;
    // The command name may contain spaces; the fields after its closing parenthesis are
    // state (3rd field of the line), …, utime (14th) and stime (15th).
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A running `sim-cluster`; killed if dropped without [`SimProcess::stop_and_read_record`].
struct SimProcess {
    child: Child,
    info: Value,
}

impl SimProcess {
    fn start(binary: &Path, dir: &Path, scenario: Scenario) -> anyhow::Result<Self> {
        let log = dir.join("sim-cluster.log");
        let child = Command::new(binary)
            .arg("--out")
            .arg(dir)
            .args(["--nodes", &scenario.nodes.to_string()])
            .args(["--control-planes", &scenario.control_planes.to_string()])
            .args(["--reboot-seconds", &REBOOT_S.to_string()])
            .args(["--device-delay-seconds", &DEVICE_DELAY_S.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("cannot start sim-cluster")?;
        let mut sim = Self {
            child,
            info: Value::Null,
        };
        let info_path = dir.join("sim.json");
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let parsed = std::fs::read_to_string(&info_path)
                .ok()
                .and_then(|text| serde_json::from_str::<Value>(&text).ok());
            if let Some(info) = parsed {
                sim.info = info;
                return Ok(sim);
            }
            if let Some(status) = sim.child.try_wait()? {
                bail!("sim-cluster exited with {status}:\n{}", tail(&log));
            }
            if Instant::now() > deadline {
                bail!(
                    "sim-cluster did not write sim.json within 120 s:\n{}",
                    tail(&log)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the sim with SIGINT (it then writes `advance.json`) and reads its record.
    fn stop_and_read_record(&mut self, dir: &Path) -> anyhow::Result<Vec<f64>> {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .context("cannot run kill to stop sim-cluster")?;
        if !status.success() {
            bail!("kill -INT sim-cluster failed with {status}");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                bail!("sim-cluster did not stop within 30 s of SIGINT");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let path = dir.join("advance.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("sim-cluster wrote no {}", path.display()))?;
        let record: Value = serde_json::from_str(&text)?;
        Ok(record["advance_delays_ms"]
            .as_array()
            .map(|delays| delays.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default())
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_ideal_is_the_control_plane_in_series_then_waves_of_workers() {
        let fifty = Scenario {
            name: "fifty",
            nodes: 50,
            control_planes: 3,
            max_unavailable: 5,
        };
        // 3 + ceil(47 / 5) = 13 node slots of 4.5 s each.
        assert!((fifty.ideal_s() - 58.5).abs() < 1e-9, "{}", fifty.ideal_s());
    }

    #[test]
    fn cpu_ticks_are_read_after_a_command_name_with_spaces() {
        let dir = tempfile::tempdir().unwrap();
        let line = "42 (full rollout) S 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20 0";
        std::fs::write(dir.path().join("stat"), line).unwrap();
        assert_eq!(read_cpu_ticks(dir.path()), Some(280));
    }
}
