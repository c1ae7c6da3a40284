//! Checks that the tailnet policy file lets the rollout work: the node tag has an owner in
//! `tagOwners` (so tagged auth keys can be minted), the nodes' subnet routes are
//! auto-approved for that tag in `autoApprovers`, and an admin ACL rule lets the admin tag
//! reach the nodes. `--fix` adds what is missing with comment-preserving edits and saves
//! with `If-Match`, so a concurrent edit is never overwritten (the tool re-reads and
//! re-applies its edits instead).
//!
//! It needs the tailnet (`--tailnet` and its API credentials), never a talosconfig; `--sim`
//! checks the embedded simulated tailnet. Exits 1 when a check fails (and was not fixed),
//! 2 for invalid input (flags, tags, CIDRs).
//!
//! ```text
//! cargo run -q --example policy-check -- --sim
//! cargo run -q --example policy-check -- --sim --fix --json
//! TS_API_KEY=tskey-api-... cargo run -q --example policy-check -- --tailnet example.com --route 10.43.0.0/16
//! ```

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use examples::exit::{self, finish, invalid_input};
use examples::output::{Output, OutputArgs, table};
use examples::parse;
use examples::target::{TailnetArgs, Target, TargetArgs, WithoutFlags};
use serde::Serialize;
use tailscale_client::{IpNet, Policy, PolicyFormat, TailscaleClient};

/// Check (and with --fix, repair) the tailnet policy entries the rollout relies on.
#[derive(Parser)]
#[command(name = "policy-check", version)]
struct Args {
    /// Tag the nodes' auth keys carry.
    #[arg(long, default_value = "tag:k8s", value_parser = parse::tag)]
    tag: String,
    /// Owner the tag must have in tagOwners.
    #[arg(long, default_value = "autogroup:admin")]
    owner: String,
    /// Subnet route the nodes advertise (repeatable).
    #[arg(long = "route", value_name = "CIDR", default_value = "10.43.0.0/16", value_parser = parse::cidr)]
    routes: Vec<IpNet>,
    /// Tag of admin devices that must reach the nodes.
    #[arg(long, default_value = "tag:admin", value_parser = parse::tag)]
    admin_tag: String,
    /// Add what is missing and save the policy (ETag-safe).
    #[arg(long)]
    fix: bool,
    #[command(flatten)]
    tailnet: TailnetArgs,
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Serialize)]
struct Check {
    name: String,
    passed: bool,
    fixed: bool,
}

#[derive(Serialize)]
struct Report {
    checks: Vec<Check>,
    saved: bool,
    attempts: u32,
}

/// How often a `--fix` is retried after someone else changed the policy meanwhile.
const MAX_ATTEMPTS: u32 = 3;

#[tokio::main]
async fn main() -> ExitCode {
    examples::output::init_tracing();
    let args = Args::parse();
    finish(run(args).await)
}

async fn run(args: Args) -> anyhow::Result<u8> {
    let target = Target::choose(&args.target, &[&args.tailnet], WithoutFlags::Refuse).await?;
    let output = Output::new(&args.output).on(target.kind);
    let tailnet = target.tailnet(&args.tailnet)?;
    let routes = &args.routes;
    let report = if args.fix {
        fix(&tailnet, &args, routes).await?
    } else {
        let policy = tailnet.policy().get(PolicyFormat::HuJson).await?;
        Report {
            checks: checks(&policy, &args, routes),
            saved: false,
            attempts: 1,
        }
    };
    output.result(&report, render);
    let failed = report.checks.iter().any(|check| !check.passed);
    Ok(if failed { exit::FAILURE } else { exit::SUCCESS })
}

fn checks(policy: &Policy, args: &Args, routes: &[IpNet]) -> Vec<Check> {
    let owned = policy
        .tag_owners(&args.tag)
        .is_some_and(|owners| owners.iter().any(|owner| owner == &args.owner));
    let mut checks = vec![Check {
        name: format!("tagOwners: {} owned by {}", args.tag, args.owner),
        passed: owned,
        fixed: false,
    }];
    for route in routes {
        checks.push(Check {
            name: format!("autoApprovers: {route} approved for {}", args.tag),
            passed: policy.route_auto_approved(route, &args.tag),
            fixed: false,
        });
    }
    checks.push(Check {
        name: format!("acls: {} may reach {}", args.admin_tag, args.tag),
        passed: policy.allows_access(&args.admin_tag, &args.tag),
        fixed: false,
    });
    checks
}

/// Applies every missing entry to `policy`; returns whether it changed.
fn apply_fixes(
    policy: &mut Policy,
    args: &Args,
    routes: &[IpNet],
) -> Result<bool, tailscale_client::Error> {
    let mut changed = policy.ensure_tag_owner(&args.tag, &args.owner)?;
    for route in routes {
        changed |= policy.ensure_route_auto_approver(route, &args.tag)?;
    }
    changed |= policy.ensure_access(&args.admin_tag, &args.tag)?;
    Ok(changed)
}

async fn fix(client: &TailscaleClient, args: &Args, routes: &[IpNet]) -> anyhow::Result<Report> {
    let modified = match client
        .policy()
        .modify(MAX_ATTEMPTS, |policy| apply_fixes(policy, args, routes))
        .await
    {
        Ok(modified) => modified,
        Err(error @ tailscale_client::Error::InvalidInput { .. }) => {
            return Err(invalid_input(error.to_string()));
        }
        Err(error) => {
            return Err(error).context("fixing the policy file failed; nothing was overwritten");
        }
    };
    let before = checks(&modified.before, args, routes);
    let Some(saved) = modified.saved else {
        return Ok(Report {
            checks: before,
            saved: false,
            attempts: modified.attempts,
        });
    };
    let checks = before
        .into_iter()
        .zip(checks(&saved, args, routes))
        .map(|(before, after)| Check {
            fixed: !before.passed && after.passed,
            ..after
        })
        .collect();
    Ok(Report {
        checks,
        saved: true,
        attempts: modified.attempts,
    })
}

fn render(report: &Report) -> String {
    let rows: Vec<Vec<String>> = report
        .checks
        .iter()
        .map(|check| {
            let state = match (check.passed, check.fixed) {
                (true, true) => "FIXED",
                (true, false) => "ok",
                (false, _) => "MISSING",
            };
            vec![state.to_owned(), check.name.clone()]
        })
        .collect();
    let mut text = table(&["STATE", "CHECK"], &rows);
    if report.saved {
        text.push_str("policy file saved (If-Match on the ETag it was read with)\n");
    } else if report.checks.iter().any(|check| !check.passed) {
        text.push_str("run with --fix to add the missing entries\n");
    }
    text
}
