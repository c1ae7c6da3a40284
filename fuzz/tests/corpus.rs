//! Replays the saved corpora (`corpus/<target>/*`) through the fuzz properties, so CI checks
//! every input the fuzzer ever kept without nightly or libFuzzer.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut count = 0;
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|error| panic!("{error}")).path();
        let data = std::fs::read(&path)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        check(&data);
        count += 1;
    }
    assert!(count > 0, "the {target} corpus is empty");
}

#[test]
fn talosconfig_corpus() {
    replay("talosconfig", talos_rollout_fuzz::talosconfig);
}

#[test]
fn machine_config_corpus() {
    replay("machine_config", talos_rollout_fuzz::machine_config);
}

#[test]
fn schematic_corpus() {
    replay("schematic", talos_rollout_fuzz::schematic);
}

#[test]
fn policy_corpus() {
    replay("policy", talos_rollout_fuzz::policy);
}
