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

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use examples::exit::{finish, invalid_input};
use examples::input::read_schematic_text;
use examples::target::TargetKind;
use factory_client::{
    CreateWarning, DEFAULT_FACTORY_URL, Error, FactoryClient, OnIdMismatch, Schematic,
};

/// Post a schematic to an Image Factory; print its ID and installer image.
#[derive(Parser)]
#[command(name = "create-schematic", version)]
struct Args {
    /// Schematic file (YAML or JSON), `-` for stdin; an empty schematic when absent.
    file: Option<PathBuf>,
    /// Image Factory base URL.
    #[arg(long, env = "FACTORY_URL", default_value = DEFAULT_FACTORY_URL)]
    factory_url: String,
    /// Accept a plain http:// factory URL to a host other than loopback (test rigs only).
    #[arg(long)]
    allow_insecure_http: bool,
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
    examples::output::init_tracing();
    let args = Args::parse();
    finish(create(&args).await)
}

async fn create(args: &Args) -> anyhow::Result<u8> {
    let schematic = match &args.file {
        None => Schematic::default(),
        Some(path) => Schematic::from_yaml(&read_schematic_text(Some(path))?)
            .map_err(|err| invalid_input(err.to_string()))?,
    };
    match run(args, schematic).await {
        Ok(()) => Ok(examples::exit::SUCCESS),
        Err(err) => {
            let invalid = err.is_invalid_schematic()
                || matches!(
                    err,
                    Error::InvalidVersion { .. }
                        | Error::InvalidUrl { .. }
                        | Error::AmbiguousExtension { .. }
                );
            Err(if invalid {
                invalid_input(err.to_string())
            } else {
                err.into()
            })
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
        .allow_insecure_http(args.allow_insecure_http)
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
            "target": TargetKind::Real,
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
