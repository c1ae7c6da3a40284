//! Lists the system extensions each Talos node runs, with its Talos version and the Image
//! Factory schematic ID its image was built from — the first phase of the rollout procedure
//! ("which extensions must the new schematic keep?").
//!
//! With `--talosconfig`/`--context`/`--nodes` it reads a real cluster, with `--sim` the
//! embedded simulated cluster (the seed's three nodes); it needs no Tailscale credentials.
//! Exits 1 when a node cannot be read, 2 for invalid input.
//!
//! ```text
//! cargo run -q --example get-extensions -- --sim
//! cargo run -q --example get-extensions -- --talosconfig ~/.talos/config --nodes 10.0.0.2 --json
//! cargo run -q --example get-extensions -- --help
//! ```

use std::process::ExitCode;

use clap::Parser;
use examples::exit::{self, finish};
use examples::output::{Output, OutputArgs, short_id, table};
use examples::target::{ClusterArgs, Target, TargetArgs, WithoutFlags};
use serde::Serialize;
use talos_client::NodeClient;
use talos_client::resources::Nodename;

/// List the system extensions, version and schematic of every node.
#[derive(Parser)]
#[command(name = "get-extensions", version)]
struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// The JSON document: one entry per node.
#[derive(Serialize)]
struct Listing {
    nodes: Vec<NodeExtensions>,
}

#[derive(Serialize)]
struct Extension {
    name: String,
    version: String,
}

#[derive(Serialize)]
struct NodeExtensions {
    node: String,
    hostname: Option<String>,
    version: Option<String>,
    schematic_id: Option<String>,
    extensions: Vec<Extension>,
    error: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    examples::output::init_tracing();
    let args = Args::parse();
    finish(run(args).await)
}

async fn run(args: Args) -> anyhow::Result<u8> {
    let target = Target::choose(&args.target, &[&args.cluster], WithoutFlags::Refuse).await?;
    let output = Output::new(&args.output).on(target.kind);
    let cluster = target.cluster(&args.cluster)?;
    let mut nodes = Vec::new();
    for node in &cluster.nodes {
        nodes.push(read_node(cluster.talos.node(node)).await);
    }
    let listing = Listing { nodes };
    output.result(&listing, |listing| render(&listing.nodes));
    let failed = listing.nodes.iter().any(|node| node.error.is_some());
    Ok(if failed { exit::FAILURE } else { exit::SUCCESS })
}

async fn read_node(client: NodeClient) -> NodeExtensions {
    let node = client.node().unwrap_or_default().to_owned();
    let mut result = NodeExtensions {
        node,
        hostname: None,
        version: None,
        schematic_id: None,
        extensions: Vec::new(),
        error: None,
    };
    let read = async {
        let version = client.version().await?;
        let hostname = client.get::<Nodename>("nodename").await?;
        let extensions = client.extensions().await?;
        Ok::<_, talos_client::Error>((version, hostname, extensions))
    };
    match read.await {
        Ok((version, hostname, extensions)) => {
            result.version = Some(version.tag);
            result.hostname = hostname.map(|resource| resource.spec.nodename);
            result.schematic_id = talos_client::resources::schematic_id(&extensions);
            result.extensions = extensions
                .iter()
                .filter(|extension| !extension.is_schematic())
                .map(|extension| Extension {
                    name: extension.name().to_owned(),
                    version: extension.version().to_owned(),
                })
                .collect();
        }
        Err(error) => result.error = Some(error.to_string()),
    }
    result
}

fn render(nodes: &[NodeExtensions]) -> String {
    let rows: Vec<Vec<String>> = nodes
        .iter()
        .map(|node| {
            let extensions = match &node.error {
                Some(error) => format!("error: {error}"),
                None if node.extensions.is_empty() => "(none)".to_owned(),
                None => node
                    .extensions
                    .iter()
                    .map(|e| format!("{} {}", e.name, e.version))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            vec![
                node.node.clone(),
                node.hostname.clone().unwrap_or_else(|| "-".into()),
                node.version.clone().unwrap_or_else(|| "-".into()),
                node.schematic_id
                    .as_deref()
                    .map_or("-", short_id)
                    .to_owned(),
                extensions,
            ]
        })
        .collect();
    table(
        &["NODE", "HOSTNAME", "VERSION", "SCHEMATIC", "EXTENSIONS"],
        &rows,
    )
}
