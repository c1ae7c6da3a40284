//! `cargo xtask bench [--macro]`: micro figures from the criterion benches and macro runs of
//! `full-rollout` against `sim-cluster` (both release builds, each in its own process),
//! printed as a table and written to `target/bench/report.json`.
//!
//! Report fields: `seed` `{total_s, floor_s, ratio}` (the seed-shaped 3-node cluster);
//! `advance_latency_ms` `{p50, p99, samples}` (from the sim's record: node running + ready
//! after its reboot → the rollout's next call for it, over every macro run); `scale`, one
//! `{nodes, max_unavailable, total_s, ideal_s, ratio, orchestrator_peak_rss_mib,
//! orchestrator_cpu_s, sim_cpu_s}` per size (`sim_cpu_s`: the sim process's CPU time, to
//! tell a loaded sim from a slow orchestrator); `micro`, items per second from criterion's saved
//! estimates (`null` for a figure whose bench has not run yet, e.g. after `--macro` alone).

mod macro_run;
mod micro;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use serde_json::{Value, json};

use macro_run::{Binaries, Measured, Scenario};

/// The sizes the macro part rolls, after the seed.
const SCALE: &[Scenario] = &[
    Scenario {
        name: "scale-300",
        nodes: 300,
        control_planes: 3,
        max_unavailable: 30,
    },
    Scenario {
        name: "scale-1000",
        nodes: 1000,
        control_planes: 3,
        max_unavailable: 100,
    },
];

/// The seed-shaped cluster: three control-plane nodes.
const SEED: Scenario = Scenario {
    name: "seed",
    nodes: 3,
    control_planes: 3,
    max_unavailable: 1,
};

/// Runs the benchmarks and writes the report; `macro_only` skips `cargo bench`.
pub(crate) fn run(root: &Path, macro_only: bool) -> anyhow::Result<()> {
    let target = target_dir(root);
    if !macro_only {
        crate::run(
            Command::new(crate::cargo())
                .args(["bench", "--workspace"])
                .current_dir(root),
        )?;
    }
    let binaries = build_release(root, &target)?;
    let seed = macro_run::run(&binaries, SEED)?;
    let mut advance_ms = seed.advance_ms.clone();
    let mut scale = Vec::new();
    for scenario in SCALE {
        let measured = macro_run::run(&binaries, *scenario)?;
        advance_ms.extend_from_slice(&measured.advance_ms);
        scale.push((*scenario, measured));
    }
    let report = json!({
        "seed": seed_entry(&seed),
        "advance_latency_ms": latency_entry(&advance_ms),
        "scale": scale.iter().map(|(scenario, measured)| scale_entry(*scenario, measured)).collect::<Vec<_>>(),
        "micro": micro::figures(&target),
    });
    let out = target.join("bench");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join("report.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    print!("{}", table(&report));
    println!("written to {}", path.display());
    Ok(())
}

/// Runs the one macro scenario called `name` (for profiling a size on its own): prints its
/// row and writes `target/bench/<name>.json`; the full report is left as it was.
pub(crate) fn run_only(root: &Path, name: &str) -> anyhow::Result<()> {
    let Some(scenario) = std::iter::once(&SEED)
        .chain(SCALE)
        .find(|scenario| scenario.name == name)
    else {
        let known: Vec<&str> = std::iter::once(&SEED)
            .chain(SCALE)
            .map(|scenario| scenario.name)
            .collect();
        anyhow::bail!("no macro scenario is called {name:?}; pick one of {known:?}");
    };
    let target = target_dir(root);
    let binaries = build_release(root, &target)?;
    let measured = macro_run::run(&binaries, *scenario)?;
    let mut report = json!({ "advance_latency_ms": latency_entry(&measured.advance_ms) });
    if scenario.name == SEED.name {
        report["seed"] = seed_entry(&measured);
    } else {
        report["scale"] = json!([scale_entry(*scenario, &measured)]);
    }
    let out = target.join("bench");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    print!("{}", table(&report));
    println!("written to {}", path.display());
    Ok(())
}

/// Where cargo puts build output: `CARGO_TARGET_DIR` or `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        })
        .unwrap_or_else(|| root.join("target"))
}

fn build_release(root: &Path, target: &Path) -> anyhow::Result<Binaries> {
    crate::run(
        Command::new(crate::cargo())
            .args(["build", "--release", "-p", "examples"])
            .args(["--example", "sim-cluster", "--example", "full-rollout"])
            .current_dir(root),
    )?;
    let examples = target.join("release").join("examples");
    Ok(Binaries {
        sim_cluster: examples.join("sim-cluster"),
        full_rollout: examples.join("full-rollout"),
    })
}

fn ratio(total: f64, floor: f64) -> f64 {
    if floor > 0.0 { total / floor } else { 0.0 }
}

fn seed_entry(seed: &Measured) -> Value {
    let floor_s = SEED.ideal_s();
    json!({
        "total_s": round(seed.total_s, 2),
        "floor_s": floor_s,
        "ratio": round(ratio(seed.total_s, floor_s), 3),
    })
}

fn scale_entry(scenario: Scenario, measured: &Measured) -> Value {
    let ideal_s = scenario.ideal_s();
    json!({
        "nodes": scenario.nodes,
        "max_unavailable": scenario.max_unavailable,
        "total_s": round(measured.total_s, 2),
        "ideal_s": ideal_s,
        "ratio": round(ratio(measured.total_s, ideal_s), 3),
        "orchestrator_peak_rss_mib": round(measured.peak_rss_mib, 1),
        "orchestrator_cpu_s": round(measured.cpu_s, 2),
        "sim_cpu_s": round(measured.sim_cpu_s, 2),
    })
}

fn latency_entry(samples_ms: &[f64]) -> Value {
    let mut sorted = samples_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    json!({
        "p50": percentile(&sorted, 0.50).map(|v| round(v, 1)),
        "p99": percentile(&sorted, 0.99).map(|v| round(v, 1)),
        "samples": sorted.len(),
    })
}

/// The nearest-rank percentile of sorted values (`None` without values).
fn percentile(sorted: &[f64], quantile: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// The report as a plain-text table.
fn table(report: &Value) -> String {
    let mut text = String::from("\nmacro (sim-cluster + full-rollout, release, own processes)\n");
    let seed = &report["seed"];
    if !seed.is_null() {
        text.push_str(&format!(
            "  seed 3 CP            total {:>7} s  floor {:>7} s  ratio {}\n",
            seed["total_s"], seed["floor_s"], seed["ratio"]
        ));
    }
    for entry in report["scale"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "  {:>4} nodes (mu {:>3})  total {:>7} s  ideal {:>7} s  ratio {}  rss {} MiB  cpu {} s  sim cpu {} s\n",
            entry["nodes"],
            entry["max_unavailable"],
            entry["total_s"],
            entry["ideal_s"],
            entry["ratio"],
            entry["orchestrator_peak_rss_mib"],
            entry["orchestrator_cpu_s"],
            entry["sim_cpu_s"],
        ));
    }
    let latency = &report["advance_latency_ms"];
    text.push_str(&format!(
        "  advance latency      p50 {} ms  p99 {} ms  ({} samples)\n",
        latency["p50"], latency["p99"], latency["samples"]
    ));
    if report["micro"].is_null() {
        return text;
    }
    text.push_str("micro (criterion, items per second)\n");
    for (name, value) in report["micro"].as_object().into_iter().flatten() {
        let shown = value.as_f64().map_or_else(
            || "not measured (run `cargo xtask bench`)".to_owned(),
            |v| format!("{v:.0}"),
        );
        text.push_str(&format!("  {name:<40} {shown}\n"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 0.50), Some(50.0));
        assert_eq!(percentile(&sorted, 0.99), Some(99.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn the_seed_floor_is_three_nodes_in_series() {
        assert!((SEED.ideal_s() - 13.5).abs() < 1e-9, "{}", SEED.ideal_s());
    }
}
