//! Extension services on a node, the way Talos runs them: each installed extension that ships a
//! service runs as `ext-<name>`; one that needs an ExtensionServiceConfig stays `Waiting` until
//! the machine config has it, and a change of that config restarts it. What runs inside is the
//! service's program (see [`ServiceProgram`]); the facts come from the factory catalog.

use talos_client::machine_config::ExtensionServiceConfig;

use super::cluster::ClusterContext;
use super::node::NodeState;
use super::services::{Outcome, ServiceState};
use super::spec::NodeSpec;
use super::{containerboot, upsmon};
use crate::factory::{ExtensionService, ServiceProgram};

/// The services of the installed extensions, in extension order.
fn installed(state: &NodeState) -> Vec<ExtensionService> {
    state
        .extensions
        .iter()
        .filter_map(|extension| extension.service.clone())
        .collect()
}

/// Starts every extension service (boot).
pub(crate) fn start(ctx: &ClusterContext, spec: &NodeSpec, state: &mut NodeState) -> Outcome {
    installed(state)
        .iter()
        .fold(Outcome::Started, |outcome, service| {
            outcome.and(start_one(ctx, spec, state, service))
        })
}

/// Stops every extension service (reboot).
pub(crate) fn stop(ctx: &ClusterContext, state: &mut NodeState) {
    for service in installed(state) {
        stop_one(ctx, state, &service);
    }
}

/// Restarts the services whose ExtensionServiceConfig is among `changed` (no reboot needed).
pub(crate) fn restart_configured(
    ctx: &ClusterContext,
    spec: &NodeSpec,
    state: &mut NodeState,
    changed: &[String],
) -> Outcome {
    installed(state)
        .iter()
        .filter(|service| {
            service
                .config
                .as_ref()
                .is_some_and(|esc| changed.contains(esc))
        })
        .fold(Outcome::Started, |outcome, service| {
            outcome.and(restart_one(ctx, spec, state, service))
        })
}

/// Restarts the extension service with this id (`ServiceRestart`); `None` when `id` is not
/// an extension service of the node.
pub(crate) fn restart(
    ctx: &ClusterContext,
    spec: &NodeSpec,
    state: &mut NodeState,
    id: &str,
) -> Option<Outcome> {
    let service = installed(state).into_iter().find(|s| s.id() == id)?;
    Some(restart_one(ctx, spec, state, &service))
}

/// Starts the services that failed again (one round of `restart: always`).
pub(crate) fn restart_failed(
    ctx: &ClusterContext,
    spec: &NodeSpec,
    state: &mut NodeState,
) -> Outcome {
    let failed: Vec<ExtensionService> = installed(state)
        .into_iter()
        .filter(|service| {
            state
                .services
                .get(&service.id())
                .is_some_and(|s| s.state == ServiceState::Failed)
        })
        .collect();
    failed.iter().fold(Outcome::Started, |outcome, service| {
        outcome.and(start_one(ctx, spec, state, service))
    })
}

fn restart_one(
    ctx: &ClusterContext,
    spec: &NodeSpec,
    state: &mut NodeState,
    service: &ExtensionService,
) -> Outcome {
    stop_one(ctx, state, service);
    start_one(ctx, spec, state, service)
}

fn stop_one(ctx: &ClusterContext, state: &mut NodeState, service: &ExtensionService) {
    let id = service.id();
    let running = state
        .services
        .get(&id)
        .is_some_and(|s| s.state != ServiceState::Finished);
    if !running {
        return;
    }
    state.set_service(
        &ctx.clock,
        &id,
        ServiceState::Stopping,
        &format!("Sending SIGTERM to task {id}"),
    );
    if service.program == ServiceProgram::Containerboot {
        containerboot::stop(ctx, state);
    }
    state.set_service(
        &ctx.clock,
        &id,
        ServiceState::Finished,
        "Service finished successfully",
    );
}

fn start_one(
    ctx: &ClusterContext,
    spec: &NodeSpec,
    state: &mut NodeState,
    service: &ExtensionService,
) -> Outcome {
    let id = service.id();
    let esc: Option<ExtensionServiceConfig> = match &service.config {
        Some(name) => match state.esc(name) {
            Some(record) => Some(record.config.clone()),
            None => {
                state.set_service(
                    &ctx.clock,
                    &id,
                    ServiceState::Waiting,
                    "Waiting for extension service config",
                );
                return Outcome::Started;
            }
        },
        None => None,
    };
    state.set_service(
        &ctx.clock,
        &id,
        ServiceState::Preparing,
        "Running pre state",
    );
    state.set_service(
        &ctx.clock,
        &id,
        ServiceState::Running,
        &format!("Started task {id} (PID {}) for container {id}", pid(&id)),
    );
    if let Some(esc) = esc.as_ref()
        && ctx.faults.is_logging_verbosely(&spec.hostname)
    {
        state.log(&id, &format!("+ env {}\n", esc.environment.join(" ")));
    }
    let outcome = match service.program {
        ServiceProgram::Containerboot => containerboot::run(ctx, spec, state, &id, esc.as_ref()),
        ServiceProgram::Upsmon => upsmon::run(state, &id, esc.as_ref()),
        ServiceProgram::Daemon => Outcome::Started,
    };
    if outcome == Outcome::Failed {
        state.set_service(
            &ctx.clock,
            &id,
            ServiceState::Failed,
            &format!(
                "Error running Containerd({id}), going to restart forever: task \"{id}\" failed: exit code 1"
            ),
        );
    }
    outcome
}

/// A stable, plausible process id for a service's task.
fn pid(id: &str) -> u32 {
    2048 + id.bytes().map(u32::from).sum::<u32>()
}
