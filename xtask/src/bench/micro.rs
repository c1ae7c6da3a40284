//! Micro figures: items per second, read from criterion's saved estimates
//! (`<target>/criterion/<bench id>/new/{estimates,benchmark}.json`), so `--macro` alone
//! still reports the figures of the last full `cargo xtask bench`.

use std::path::Path;

use serde_json::{Map, Value};

/// Report name → criterion benchmark directory (under `<target>/criterion`). Each bench
/// declares its items per iteration as criterion `Throughput::Elements` (1 when it does not).
const FIGURES: &[(&str, &str)] = &[
    (
        "cosi_list_10k_resources_decoded_per_s",
        "cosi/list_decode/10000",
    ),
    ("events_100k_streamed_decoded_per_s", "events/decode/100000"),
    (
        "tailnet_10k_devices_parsed_per_s",
        "tailnet/device_list_parse/10000",
    ),
    ("schematic_canonical_id_per_s", "schematic/canonical_id"),
    (
        "state_machine_steps_per_s_1000_nodes",
        "rollout/machine_steps/1000",
    ),
];

/// Every figure, `null` when its bench has not run.
pub(crate) fn figures(target: &Path) -> Value {
    let criterion = target.join("criterion");
    let mut map = Map::new();
    for (name, id) in FIGURES {
        let value = per_second(&criterion.join(id)).map_or(Value::Null, |v| v.round().into());
        map.insert((*name).to_owned(), value);
    }
    Value::Object(map)
}

/// Items per second of one benchmark: throughput elements over the mean iteration time.
fn per_second(dir: &Path) -> Option<f64> {
    let read = |file: &str| -> Option<Value> {
        let text = std::fs::read_to_string(dir.join("new").join(file)).ok()?;
        serde_json::from_str(&text).ok()
    };
    let mean_ns = read("estimates.json")?["mean"]["point_estimate"].as_f64()?;
    let elements = read("benchmark.json")
        .and_then(|benchmark| benchmark["throughput"]["Elements"].as_f64())
        .unwrap_or(1.0);
    (mean_ns > 0.0).then(|| elements * 1e9 / mean_ns)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn items_per_second_come_from_the_mean_and_the_declared_elements() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("estimates.json"),
            r#"{"mean":{"point_estimate":2000000.0}}"#,
        )
        .unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"throughput":{"Elements":10000}}"#,
        )
        .unwrap();
        // 10 000 items in 2 ms.
        assert_eq!(per_second(dir.path()), Some(5_000_000.0));
        assert_eq!(per_second(&dir.path().join("missing")), None);
    }
}
