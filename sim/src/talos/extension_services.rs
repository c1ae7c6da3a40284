//! Extension services on a node: `ext-tailscale` waits for its ExtensionServiceConfig, then
//! runs containerboot, which logs in to the simulated tailnet (or fails with its auth error).

use super::cluster::ClusterContext;
use super::containerboot::{ContainerbootSettings, log_line};
use super::node::NodeState;
use super::services::ServiceState;
use super::spec::NodeSpec;
use crate::tailnet::Registration;

/// The tailscale extension's manifest name, ESC name and service id.
pub(crate) const TAILSCALE: &str = "tailscale";
pub(crate) const TAILSCALE_SERVICE: &str = "ext-tailscale";

/// Whether a started service failed and must be restarted later (restart: always).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Started,
    Failed,
}

/// Starts the extension services of the installed extensions (boot, or after a config change).
pub(crate) fn start(ctx: &ClusterContext, spec: &NodeSpec, state: &mut NodeState) -> Outcome {
    if !state.has_extension(TAILSCALE) {
        return Outcome::Started;
    }
    start_tailscale(ctx, spec, state)
}

/// Stops `ext-tailscale` (reboot, config change): its device loses the control connection.
pub(crate) fn stop(ctx: &ClusterContext, state: &mut NodeState) {
    let running = state
        .services
        .get(TAILSCALE_SERVICE)
        .is_some_and(|s| s.state != ServiceState::Finished);
    if !running {
        return;
    }
    state.set_service(
        &ctx.clock,
        TAILSCALE_SERVICE,
        ServiceState::Stopping,
        "Sending SIGTERM to task ext-tailscale",
    );
    if let Some(device) = state.tailscale_device.as_deref() {
        ctx.tailnet.disconnect(device);
    }
    state.set_service(
        &ctx.clock,
        TAILSCALE_SERVICE,
        ServiceState::Finished,
        "Service finished successfully",
    );
}

/// Restarts `ext-tailscale` because its configuration changed (no reboot needed).
pub(crate) fn restart(ctx: &ClusterContext, spec: &NodeSpec, state: &mut NodeState) -> Outcome {
    stop(ctx, state);
    start(ctx, spec, state)
}

fn log(ctx: &ClusterContext, state: &mut NodeState, message: &str) {
    let line = log_line(ctx.clock.now(), message);
    state.log(TAILSCALE_SERVICE, &line);
}

fn start_tailscale(ctx: &ClusterContext, spec: &NodeSpec, state: &mut NodeState) -> Outcome {
    let clock = ctx.clock;
    let Some(esc) = state.esc(TAILSCALE).map(|r| r.config.clone()) else {
        state.set_service(
            &clock,
            TAILSCALE_SERVICE,
            ServiceState::Waiting,
            "Waiting for extension service config",
        );
        return Outcome::Started;
    };
    state.set_service(
        &clock,
        TAILSCALE_SERVICE,
        ServiceState::Preparing,
        "Running pre state",
    );
    state.set_service(
        &clock,
        TAILSCALE_SERVICE,
        ServiceState::Running,
        "Started task ext-tailscale (PID 2817) for container ext-tailscale",
    );
    log(ctx, state, "Starting tailscaled");
    log(
        ctx,
        state,
        "Waiting for tailscaled socket at /var/run/tailscale/tailscaled.sock",
    );
    let settings = ContainerbootSettings::from_environment(&esc.environment);
    let Some(auth_key) = settings.auth_key else {
        log(ctx, state, "Running 'tailscale up'");
        state.log(
            TAILSCALE_SERVICE,
            "\nTo authenticate, visit:\n\n\thttps://login.tailscale.com/a/1a2b3c4d5e6f\n\n",
        );
        return Outcome::Started;
    };
    let mut registration = Registration::new(
        settings.hostname.unwrap_or_else(|| spec.hostname.clone()),
        auth_key,
    );
    registration.advertise_routes = settings.routes;
    registration.advertise_tags = settings.advertise_tags;
    registration.known_device = state.tailscale_device.clone();
    log(ctx, state, "Running 'tailscale up'");
    match ctx.tailnet.register(&registration) {
        Ok(device) => {
            state.tailscale_device = Some(device);
            log(ctx, state, "Startup complete, waiting for shutdown signal");
            Outcome::Started
        }
        Err(error) => {
            state.log(TAILSCALE_SERVICE, &format!("backend error: {error}\n"));
            log(
                ctx,
                state,
                "failed to auth tailscale: failed to auth tailscale: tailscale up failed: exit status 1",
            );
            state.set_service(
                &clock,
                TAILSCALE_SERVICE,
                ServiceState::Failed,
                "Error running Containerd(ext-tailscale), going to restart forever: task \"ext-tailscale\" failed: exit code 1",
            );
            Outcome::Failed
        }
    }
}
