//! The summary table of a [`Report`](talos_rollout::report::Report).

use talos_rollout::report::Report;

use crate::output::{short_id, table};

/// The summary table of a rollout and its result; a halt names the commands that go on
/// from there.
pub fn render(report: &Report) -> String {
    let mut text = node_table(report);
    match (&report.halted_by, report.succeeded) {
        (_, true) => text.push_str("result: every node converged and verified\n"),
        (Some(by), false) => text.push_str(&format!(
            "result: halted by {by}; fix the cause, then `full-rollout --resume` retries it; \
             or `rollback` undoes the changed nodes; or `full-rollout --abandon` gives the \
             rollout up\n"
        )),
        (None, false) => text.push_str("result: not every node converged\n"),
    }
    text
}

/// The summary table of a rollback and its result, which agrees with the tool's exit code:
/// `rolled_back` is true when every requested node is back on its original image.
pub fn render_rollback(report: &Report, rolled_back: bool) -> String {
    let mut text = node_table(report);
    text.push_str(if rolled_back {
        "result: every requested node is rolled back\n"
    } else {
        "result: not every requested node is rolled back; see the STATUS and NOTE columns\n"
    });
    text
}

/// One row per node.
fn node_table(report: &Report) -> String {
    let rows: Vec<Vec<String>> = report
        .nodes
        .iter()
        .map(|node| {
            let (device, routes) = device_columns(node.extension_status.as_ref());
            let tailnet = tailnet_column(node.extension_status.as_ref());
            let note = node
                .failure
                .clone()
                .or_else(|| {
                    (!node.failing_checks.is_empty()).then(|| node.failing_checks.join("; "))
                })
                .unwrap_or_default();
            vec![
                node.node.clone(),
                node.hostname.clone(),
                node.status.clone(),
                node.version.clone().unwrap_or_else(|| "?".into()),
                node.schematic
                    .live
                    .as_deref()
                    .map_or("?", short_id)
                    .to_owned(),
                device,
                routes,
                tailnet,
                node.seconds.map_or("-".to_owned(), |s| format!("{s:.0}s")),
                note,
            ]
        })
        .collect();
    table(
        &[
            "NODE",
            "HOSTNAME",
            "STATUS",
            "VERSION",
            "SCHEMATIC",
            "DEVICE",
            "APPROVED ROUTES",
            "TAILNET API",
            "TOOK",
            "NOTE",
        ],
        &rows,
    )
}

/// The TAILNET API column: whether the node's Talos API was reached by its MagicDNS name.
fn tailnet_column(status: Option<&serde_json::Value>) -> String {
    let probes = status
        .and_then(|status| status["connectivity"].as_array())
        .cloned()
        .unwrap_or_default();
    let Some(probe) = probes
        .iter()
        .find(|probe| probe["name"] == talos_rollout::profiles::tailscale::TALOS_API_OVER_TAILNET)
    else {
        return "-".to_owned();
    };
    match probe["outcome"].as_str() {
        Some("reached") => format!("proven ({})", probe["target"].as_str().unwrap_or("?")),
        Some("not_proven") => "not proven".to_owned(),
        _ => "FAILED".to_owned(),
    }
}

/// The DEVICE and APPROVED ROUTES columns from a Tailscale profile's live status (`-` for
/// other profiles).
fn device_columns(status: Option<&serde_json::Value>) -> (String, String) {
    let Some(status) = status else {
        return ("-".to_owned(), "-".to_owned());
    };
    let device = match (status["hostname"].as_str(), status["online"].as_bool()) {
        (Some(hostname), Some(true)) => format!("{hostname} online"),
        (Some(hostname), Some(false)) => format!("{hostname} OFFLINE"),
        _ => "-".to_owned(),
    };
    let routes: Vec<&str> = status["enabled_routes"]
        .as_array()
        .map(|routes| routes.iter().filter_map(|route| route.as_str()).collect())
        .unwrap_or_default();
    let routes = if routes.is_empty() {
        "-".to_owned()
    } else {
        routes.join(",")
    };
    (device, routes)
}
