//! No secret leaves the files meant to hold it: a whole rollout at `RUST_LOG=trace` with
//! `--json`, and a failing one whose diagnosis shows a log tail of an entrypoint that prints
//! its environment, leak no auth key, API token, OAuth secret, private key or machine-config
//! secret into stdout, stderr (the logs), the report or the journal; the files that do hold
//! secrets are 0600 and every artifact directory 0700.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use support::{FAST, SimCluster, run};

/// Every file under `dir`, and every directory (including `dir`).
fn walk(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    let mut index = 0;
    while let Some(current) = dirs.get(index).cloned() {
        index += 1;
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    (files, dirs)
}

/// Values of `KEY: value` / `KEY=value` lines whose key names a secret, long enough to be
/// one (short values such as `key: ""` would match everywhere).
fn secret_values(text: &str) -> Vec<String> {
    let secret_key = |key: &str| {
        let key = key.trim().trim_start_matches("- ").to_ascii_lowercase();
        ["key", "token", "secret", "authkey", "password"]
            .iter()
            .any(|marker| key.ends_with(marker))
    };
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(": ").or_else(|| line.split_once('='))?;
            let value = value.trim().trim_matches('"');
            (secret_key(key) && value.len() >= 12).then(|| value.to_owned())
        })
        .collect()
}

/// The secrets this run could leak: the sim's API key, OAuth secret and federated ID
/// token, the talosconfig's
/// private key (base64 and the PEM body), and what the patches (auth key) and machine-config
/// backups (cluster secrets) hold.
fn known_secrets(sim: &SimCluster, artifacts: &Path) -> Vec<String> {
    let mut secrets = vec![
        sim.info["api_key"].as_str().unwrap().to_owned(),
        sim.info["oauth_client_secret"].as_str().unwrap().to_owned(),
        sim.info["federated_id_token"].as_str().unwrap().to_owned(),
    ];
    let talosconfig = std::fs::read_to_string(sim.info["talosconfig"].as_str().unwrap()).unwrap();
    for encoded in secret_values(&talosconfig) {
        let pem = base64::engine::general_purpose::STANDARD
            .decode(&encoded)
            .unwrap();
        let pem = String::from_utf8(pem).unwrap();
        secrets.extend(
            pem.lines()
                .filter(|line| !line.starts_with("-----") && line.len() >= 12)
                .map(str::to_owned),
        );
        secrets.push(encoded);
    }
    let (files, _) = walk(artifacts);
    for file in files.iter().filter(|file| holds_secrets(file)) {
        secrets.extend(secret_values(&std::fs::read_to_string(file).unwrap()));
    }
    assert!(
        secrets
            .iter()
            .any(|secret| secret.starts_with("tskey-auth-")),
        "the minted auth key was not found in the patches: {files:?}"
    );
    secrets
}

/// Patches and machine-config backups hold secrets on purpose.
fn holds_secrets(file: &Path) -> bool {
    let parent = file.parent().and_then(Path::file_name);
    matches!(
        parent.and_then(|name| name.to_str()),
        Some("patches" | "backups")
    )
}

/// Runs `full-rollout` at trace level with `--json` and checks where every secret went.
fn assert_no_leak(sim_flags: &[&str], rollout_flags: &[&str], expect_success: bool) {
    let mut flags = vec!["--nodes", "2", "--control-planes", "1"];
    flags.extend_from_slice(sim_flags);
    let sim = SimCluster::start(&flags);
    let artifacts = tempfile::tempdir().unwrap();
    let output = run(sim
        .command("full-rollout")
        .env("RUST_LOG", "trace")
        .args(FAST)
        .args(rollout_flags)
        .args(["--json", "--artifacts", artifacts.path().to_str().unwrap()]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.success(), expect_success, "{stderr}");
    assert!(stderr.contains("TRACE"), "not a trace-level run");

    let secrets = known_secrets(&sim, artifacts.path());
    let (files, dirs) = walk(artifacts.path());
    let mut places = vec![("stdout".to_owned(), stdout.into_owned())];
    places.push(("stderr".to_owned(), stderr.into_owned()));
    for file in &files {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        if holds_secrets(file) {
            assert_eq!(mode, 0o600, "{} holds secrets", file.display());
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
            places.push((file.display().to_string(), text));
        }
    }
    for dir in dirs.iter().skip(1) {
        let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} is a directory of secrets", dir.display());
    }
    for (place, text) in &places {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{place} holds a secret ({} characters, starting {:?})",
                secret.len(),
                &secret[..6]
            );
        }
    }
    let journaled = places
        .iter()
        .any(|(place, _)| place.ends_with("journal.jsonl"));
    assert!(journaled, "the journal was checked: {files:?}");
}

#[test]
fn a_whole_rollout_at_trace_level_leaks_no_secret() {
    assert_no_leak(&[], &[], true);
}

#[test]
fn a_failing_rollout_with_a_diagnosis_leaks_no_secret() {
    assert_no_leak(
        &[
            "--fault-tailscale-auth",
            "k8s-2",
            "--fault-verbose-service-logs",
            "k8s-2",
        ],
        &["--verify-seconds", "8"],
        false,
    );
}
