//! Computes a Talos Image Factory schematic ID offline, byte for byte as the factory does.
//!
//! Reads a schematic (YAML or JSON) from FILE, or from stdin when FILE is absent or `-`,
//! and prints the 64-hex ID alone on stdout. `--canonical` prints the canonical text the
//! factory hashes instead; `--json` prints the ID, the canonical text and any strings whose
//! quoting (and so the ID) depends on the factory's YAML library build. Invalid input exits
//! with status 2 and says what to fix.
//!
//! ```text
//! echo 'customization: {}' | cargo run -q --example schematic-id
//! cargo run -q --example schematic-id -- schematic.yaml --canonical
//! cargo run -q --example schematic-id -- --help
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use examples::exit::{finish, invalid_input};
use examples::input::read_schematic_text;
use factory_client::Schematic;

/// Compute a Talos Image Factory schematic ID offline, byte for byte as the factory does.
#[derive(Parser)]
#[command(name = "schematic-id", version)]
struct Args {
    /// Schematic file (YAML or JSON); stdin when absent or `-`.
    file: Option<PathBuf>,
    /// Print the canonical text the factory hashes instead of the ID.
    #[arg(long, conflicts_with = "json")]
    canonical: bool,
    /// Print `{"id", "canonical_yaml", "version_dependent", "warnings"}` as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    examples::output::init_tracing();
    finish(run(&Args::parse()))
}

fn run(args: &Args) -> anyhow::Result<u8> {
    let text = read_schematic_text(args.file.as_deref())?;
    let schematic = Schematic::from_yaml(&text).map_err(|err| invalid_input(err.to_string()))?;
    let dependent = schematic.version_dependent_strings();
    let warnings = factory_client::offline_extension_warnings(&schematic);
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    if args.json {
        let report = serde_json::json!({
            "id": schematic.id().to_string(),
            "canonical_yaml": schematic.to_canonical_yaml(),
            "version_dependent": dependent
                .iter()
                .map(|d| serde_json::json!({"field": d.field, "value": d.value}))
                .collect::<Vec<_>>(),
            "warnings": warnings,
        });
        println!("{report:#}");
        return Ok(examples::exit::SUCCESS);
    }
    for item in &dependent {
        eprintln!(
            "warning: {} = {:?} is quoted differently by some factory builds; trust the ID returned by POST /schematics",
            item.field, item.value
        );
    }
    if args.canonical {
        print!("{}", schematic.to_canonical_yaml());
    } else {
        println!("{}", schematic.id());
    }
    Ok(examples::exit::SUCCESS)
}
