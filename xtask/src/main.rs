//! Workspace automation: `cargo xtask codegen [--check]`, `cargo xtask contracts [--check]`,
//! `cargo xtask bench [--macro] [--only NAME]`, `cargo xtask ci`.

mod bench;
mod codegen;
mod contracts;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  codegen           regenerate talos-client/src/generated/ from talos-client/proto/
  codegen --check   fail if the checked-in generated code is stale
  contracts         write tailscale-client/tests/contract/tailscale-openapi.subset.json
                    from ../shared/contracts/tailscale-openapi.json
  contracts --check fail if that subset is stale (skips when ../shared is absent)
  bench             run `cargo bench --workspace`, then the macro runs; print a table and
                    write target/bench/report.json
  bench --macro     only the macro runs (sim-cluster + full-rollout, release, own processes);
                    micro figures come from the last criterion run, if any
  bench --macro --only NAME
                    one macro scenario (seed, scale-300 or scale-1000), for profiling:
                    prints its row and writes target/bench/NAME.json
  ci                run .ci/run (fmt, clippy, codegen and contracts --check, tests)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = workspace_root();
    let result = match args.as_slice() {
        ["codegen"] => codegen::write(&root),
        ["codegen", "--check"] => codegen::check(&root),
        ["contracts"] => contracts::write(&root),
        ["contracts", "--check"] => contracts::check(&root),
        ["bench"] => bench::run(&root, false),
        ["bench", "--macro"] => bench::run(&root, true),
        ["bench", "--macro", "--only", name] => bench::run_only(&root, name),
        ["ci"] => run(Command::new("bash")
            .arg(root.join(".ci/run"))
            .current_dir(&root)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command.status()?;
    anyhow::ensure!(status.success(), "{command:?} failed with {status}");
    Ok(())
}
