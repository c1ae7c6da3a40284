//! Reboots, upgrades and boots of a node over (tokio) time: events on the way down, streams
//! dropped, `Unavailable` while down, then a new boot ID, the new image's version and
//! extensions, services starting and the machine becoming ready.

use std::sync::Arc;

use talos_client::proto::machine::machine_status_event::MachineStage;
use talos_client::proto::machine::{phase_event, sequence_event, task_event};

use super::boot::Boot;
use super::cluster::ClusterContext;
use super::events;
use super::extension_services;
use super::node::{Node, NodeState};
use super::services::{Outcome, ServiceState};
use super::spec::NodeSpec;

/// The sequences that take a node down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sequence {
    Reboot,
    Upgrade,
    Rollback,
}

impl Sequence {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Reboot => "reboot",
            Self::Upgrade => "upgrade",
            Self::Rollback => "reboot",
        }
    }
}

/// The system services of a node of this role.
fn system_services(spec: &NodeSpec) -> &'static [&'static str] {
    if spec.is_control_plane() {
        &[
            "apid",
            "containerd",
            "cri",
            "etcd",
            "kubelet",
            "machined",
            "trustd",
            "udevd",
        ]
    } else {
        &["apid", "containerd", "cri", "kubelet", "machined", "udevd"]
    }
}

/// Claims the node for `sequence`, refusing when another sequence runs.
pub(crate) fn claim(state: &mut NodeState, sequence: Sequence) -> Result<(), tonic::Status> {
    if let Some(running) = state.sequence {
        return Err(tonic::Status::failed_precondition(format!(
            "failed to acquire lock: sequence {running:?} is already running"
        )));
    }
    state.sequence = Some(sequence.name());
    Ok(())
}

/// Runs the rest of a claimed sequence in the background: down, reboot time, boot.
pub(crate) fn spawn(ctx: Arc<ClusterContext>, node: Arc<Node>, actor: String, sequence: Sequence) {
    tokio::spawn(async move { run(ctx, node, actor, sequence).await });
}

async fn run(ctx: Arc<ClusterContext>, node: Arc<Node>, actor: String, sequence: Sequence) {
    let host = &node.spec.hostname;
    if sequence == Sequence::Upgrade
        && let Some(error) = ctx.faults.upgrade_sequence_error(host)
    {
        node.update(|state| fail_upgrade(state, &actor, &error));
        return;
    }
    if sequence == Sequence::Upgrade {
        node.update(|state| begin_upgrade(state, &actor));
        tokio::time::sleep(ctx.timings.install).await;
    }
    let abrupt = ctx.faults.is_rebooting_abruptly(host);
    node.update(|state| {
        if ctx.faults.is_announcing_stale_ready(host) {
            // A status update of the old boot, late: still "running and ready".
            state.emit("", events::machine_status(MachineStage::Running, true));
        }
        if !abrupt {
            go_down(&ctx, state, &actor, sequence);
        }
    });
    if !abrupt {
        tokio::time::sleep(ctx.timings.shutdown).await;
    }
    let boots = node.update(|state| {
        power_off(&ctx, state, abrupt);
        state.boots
    });
    let jitter = ctx.reboot_jitter_of(host, boots);
    tokio::time::sleep(ctx.timings.reboot + jitter + ctx.faults.extra_reboot_time(host)).await;
    if ctx.faults.is_node_never_returning(host) {
        tracing::debug!(node = %host, "sim node stays down until the fault is lifted");
        ctx.faults.until_node_may_return(host).await;
    }
    node.update(|state| power_on(&ctx, &node.spec, state));
    tokio::time::sleep(ctx.timings.boot).await;
    finish_boot(&ctx, &node);
}

/// The legacy upgrade's background sequence fails (e.g. its etcd checks): the node keeps
/// running its image and the error is reported in the sequence's stop event.
fn fail_upgrade(state: &mut NodeState, actor: &str, error: &str) {
    state.emit(
        actor,
        events::sequence("upgrade", sequence_event::Action::Start),
    );
    state.emit(actor, events::sequence_failed("upgrade", error));
    state.next_boot = None;
    state.sequence = None;
}

/// The legacy upgrade's sequence starts: stage upgrading (not ready) while the installer
/// runs ([`super::Timings::install`]); the node still answers and keeps its boot.
fn begin_upgrade(state: &mut NodeState, actor: &str) {
    use phase_event::Action as Phase;
    use task_event::Action as Task;
    state.emit(
        actor,
        events::sequence("upgrade", sequence_event::Action::Start),
    );
    state.set_stage(actor, MachineStage::Upgrading, false);
    state.emit(actor, events::phase("upgrade", Phase::Start));
    state.emit(actor, events::task("upgrade", Task::Start));
}

fn go_down(ctx: &ClusterContext, state: &mut NodeState, actor: &str, sequence: Sequence) {
    use phase_event::Action as Phase;
    use sequence_event::Action as Seq;
    use task_event::Action as Task;
    if sequence == Sequence::Upgrade {
        state.emit(actor, events::task("upgrade", Task::Stop));
        state.emit(actor, events::phase("upgrade", Phase::Stop));
        state.emit(actor, events::sequence("upgrade", Seq::Stop));
        state.emit(actor, events::sequence("reboot", Seq::Start));
    } else {
        state.emit(actor, events::sequence(sequence.name(), Seq::Start));
    }
    state.set_stage(actor, MachineStage::Rebooting, false);
    state.emit(actor, events::phase("stopEverything", Phase::Start));
    state.emit(actor, events::task("stopAllServices", Task::Start));
    extension_services::stop(ctx, state);
    for id in state.services.ids() {
        let stopped = state
            .services
            .get(&id)
            .is_some_and(|s| s.state == ServiceState::Finished);
        if !stopped {
            state.set_service(
                &ctx.clock,
                &id,
                ServiceState::Finished,
                "Service finished successfully",
            );
        }
    }
    state.emit(actor, events::task("stopAllServices", Task::Stop));
    state.emit(actor, events::phase("stopEverything", Phase::Stop));
}

fn power_off(ctx: &ClusterContext, state: &mut NodeState, abrupt: bool) {
    state.up = false;
    state.ready = false;
    state.boot.end(abrupt);
    if let Some(device) = state.tailscale_device.as_deref() {
        ctx.tailnet.disconnect(device);
    }
}

/// The node comes back: new boot ID, the next boot entry becomes the installed image.
fn power_on(ctx: &ClusterContext, spec: &NodeSpec, state: &mut NodeState) {
    if let Some(next) = state.next_boot.take() {
        let previous = std::mem::replace(&mut state.installed, next);
        state.previous_boot = Some(previous);
        state.extensions = ctx.extensions_of(&spec.hostname, &state.installed);
    }
    if let Some(staged) = state.staged_config.take() {
        ctx.load_config(state, staged);
    }
    let previous = std::mem::replace(&mut state.boot_id, uuid::Uuid::new_v4().to_string());
    let stale_reads = ctx.faults.stale_boot_id_read_count(&spec.hostname);
    state.stale_boot_id = (stale_reads > 0).then_some((previous, stale_reads));
    state.boot = Boot::default();
    state.boots += 1;
    state.events.clear();
    state.resource_versions.clear();
    state.services.clear();
    state.up = true;
    state.sequence = None;
    boot_services(ctx, spec, state);
}

/// The first half of a boot (also used when the sim starts): stage booting, system services up.
pub(crate) fn boot_services(ctx: &ClusterContext, spec: &NodeSpec, state: &mut NodeState) {
    state.emit("", events::sequence("boot", sequence_event::Action::Start));
    state.set_stage("", MachineStage::Booting, false);
    for id in system_services(spec) {
        state.set_service(&ctx.clock, id, ServiceState::Preparing, "Running pre state");
        state.set_service(
            &ctx.clock,
            id,
            ServiceState::Running,
            "Service started as goroutine",
        );
    }
}

/// The second half of a boot: extension services start, the machine is running and ready.
pub(crate) fn finish_boot(ctx: &Arc<ClusterContext>, node: &Arc<Node>) {
    let (outcome, boot) = node.update(|state| {
        let outcome = extension_services::start(ctx, &node.spec, state);
        state.set_stage("", MachineStage::Running, true);
        state.emit("", events::sequence("boot", sequence_event::Action::Stop));
        if state.boots > 1 {
            // Under the node's lock, so no call can see it ready before the record starts.
            ctx.advances.node_ready(&node.spec.hostname);
        }
        (outcome, state.boot.clone())
    });
    keep_restarting_if_failed(ctx, node, outcome, boot);
}

/// After a failed extension service start: restart the failed services forever (`restart:
/// always`) until they start, the node goes down, or a config change restarts them.
pub(crate) fn keep_restarting_if_failed(
    ctx: &Arc<ClusterContext>,
    node: &Arc<Node>,
    outcome: Outcome,
    boot: Boot,
) {
    if outcome != Outcome::Failed {
        return;
    }
    let already = node.update(|state| std::mem::replace(&mut state.crash_loop_active, true));
    if already {
        return;
    }
    let ctx = Arc::clone(ctx);
    let node = Arc::clone(node);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = boot.ended() => break,
                () = tokio::time::sleep(ctx.timings.service_restart) => {}
            }
            let outcome =
                node.update(|state| extension_services::restart_failed(&ctx, &node.spec, state));
            if outcome == Outcome::Started {
                break;
            }
        }
        node.update(|state| state.crash_loop_active = false);
    });
}
