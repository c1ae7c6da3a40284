//! Posts a schematic to a Talos Image Factory and prints its ID and the installer image
//! for a Talos version and platform.
//!
//! The schematic comes from FILE (YAML or JSON, `-` for stdin) or starts empty;
//! `--extension` adds official extensions by friendly name (`tailscale` →
//! `siderolabs/tailscale`), checked against the version's extension list before anything
//! is posted. The factory's ID is compared with the offline ID: a mismatch is a warning,
//! or an error with `--strict-id`. Exit status 2 for invalid input, 1 for factory or
//! network failures.
//!
//! ```text
//! cargo run -q --example create-schematic -- --talos-version v1.11.1 --extension tailscale
//! cargo run -q --example create-schematic -- schematic.yaml --talos-version 1.11.1 --platform aws --json
//! cargo run -q --example create-schematic -- --help
//! ```

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use factory_client::{
    CreateWarning, DEFAULT_FACTORY_URL, Error, FactoryClient, OnIdMismatch, Schematic,
};

/// Post a schematic to an Image Factory; print its ID and installer image.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Schematic file (YAML or JSON), `-` for stdin; an empty schematic when absent.
    file: Option<PathBuf>,
    /// Image Factory base URL.
    #[arg(long, env = "FACTORY_URL", default_value = DEFAULT_FACTORY_URL)]
    factory_url: String,
    /// Talos version the installer is for, e.g. v1.11.1.
    #[arg(long)]
    talos_version: String,
    /// Platform of the installer image (metal, aws, gcp, ...).
    #[arg(long, default_value = "metal")]
    platform: String,
    /// Use the SecureBoot installer.
    #[arg(long)]
    secureboot: bool,
    /// Official extension to add (friendly names resolved for the version); repeatable.
    #[arg(long = "extension", value_name = "NAME")]
    extensions: Vec<String>,
    /// Sort extensions like the factory web UI does.
    #[arg(long)]
    sort_extensions: bool,
    /// Fail when the factory's ID differs from the offline ID.
    #[arg(long)]
    strict_id: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let schematic = match read_schematic(args.file.as_ref()) {
        Ok(schematic) => schematic,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&args, schematic).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            let invalid_input = err.is_invalid_schematic()
                || matches!(
                    err,
                    Error::InvalidVersion { .. }
                        | Error::InvalidUrl { .. }
                        | Error::AmbiguousExtension { .. }
                );
            ExitCode::from(if invalid_input { 2 } else { 1 })
        }
    }
}

async fn run(args: &Args, mut schematic: Schematic) -> Result<(), Error> {
    let policy = if args.strict_id {
        OnIdMismatch::Error
    } else {
        OnIdMismatch::Warn
    };
    let factory = FactoryClient::builder()
        .base_url(&args.factory_url)
        .on_id_mismatch(policy)
        .build()?;
    for name in &args.extensions {
        let resolved = factory.resolve_extension(&args.talos_version, name).await?;
        schematic.add_extension(resolved);
    }
    if args.sort_extensions {
        schematic.sort_extensions();
    }
    let created = factory
        .create_schematic_for_version(&schematic, &args.talos_version)
        .await?;
    let installer = factory.installer_image(
        &created.id,
        &args.talos_version,
        &args.platform,
        args.secureboot,
    )?;
    for warning in &created.warnings {
        if let CreateWarning::IdMismatch {
            offline, server, ..
        } = warning
        {
            eprintln!(
                "warning: the factory's ID {server} differs from the offline ID {offline}; using the factory's"
            );
        }
    }
    if args.json {
        let report = serde_json::json!({
            "id": created.id.to_string(),
            "offline_id": created.offline_id.to_string(),
            "installer": installer.to_string(),
            "extensions": schematic.official_extensions(),
            "id_mismatch": created
                .warnings
                .iter()
                .any(|warning| matches!(warning, CreateWarning::IdMismatch { .. })),
        });
        println!("{report:#}");
    } else {
        println!("schematic: {}", created.id);
        println!("installer: {installer}");
    }
    Ok(())
}

/// The schematic from FILE or stdin (`-`), or the empty schematic.
fn read_schematic(file: Option<&PathBuf>) -> Result<Schematic, String> {
    let text = match file {
        None => return Ok(Schematic::default()),
        Some(path) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|err| format!("cannot read stdin as UTF-8 text: {err}"))?;
            text
        }
        Some(path) => std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read {}: {err}; check the path", path.display()))?,
    };
    Schematic::from_yaml(&text).map_err(|err| err.to_string())
}
