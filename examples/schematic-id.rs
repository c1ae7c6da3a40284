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

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use factory_client::Schematic;

/// Compute a Talos Image Factory schematic ID offline.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Schematic file (YAML or JSON); stdin when absent or `-`.
    file: Option<PathBuf>,
    /// Print the canonical text the factory hashes instead of the ID.
    #[arg(long, conflicts_with = "json")]
    canonical: bool,
    /// Print `{"id", "canonical_yaml", "version_dependent"}` as JSON.
    #[arg(long)]
    json: bool,
}

/// Exit status for unreadable or invalid input.
const INVALID_INPUT: u8 = 2;

fn main() -> ExitCode {
    let args = Args::parse();
    let text = match read_input(args.file.as_ref()) {
        Ok(text) => text,
        Err(message) => return fail(&message),
    };
    let schematic = match Schematic::from_yaml(&text) {
        Ok(schematic) => schematic,
        Err(err) => return fail(&err.to_string()),
    };
    let dependent = schematic.version_dependent_strings();
    if args.json {
        let report = serde_json::json!({
            "id": schematic.id().to_string(),
            "canonical_yaml": schematic.to_canonical_yaml(),
            "version_dependent": dependent
                .iter()
                .map(|d| serde_json::json!({"field": d.field, "value": d.value}))
                .collect::<Vec<_>>(),
        });
        println!("{report:#}");
        return ExitCode::SUCCESS;
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
    ExitCode::SUCCESS
}

fn read_input(file: Option<&PathBuf>) -> Result<String, String> {
    match file {
        Some(path) if path.as_os_str() != "-" => std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read {}: {err}; check the path", path.display())),
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|err| format!("cannot read stdin as UTF-8 text: {err}"))?;
            Ok(text)
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(INVALID_INPUT)
}
