//! The fault matrix: every sim fault × every phase where it can strike (× the failure policy
//! where it matters, × the Talos path where it differs) ends in its documented state, with
//! every other node untouched and nothing lost (originals, backups, journal, report).
//!
//! The seed sim has three control-plane nodes; each row aims its fault at the second node
//! of the plan, so the first must converge and the third must stay NotStarted and as it was
//! (unless the row converges). Talos and tailnet rows run in-process on paused tokio time;
//! the Kubernetes rows (the ≥ 1.13 path with the sim's Kubernetes API) on real time with
//! short sim timings. README.md's table "What each injected fault ends in" is checked
//! against the rows' `readme` keys and end states.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use rollout_core::RolloutSpec;
use rollout_core::machine::{JournalEntry, Phase, RolloutEvent, Summary};
use rollout_core::plan::Plan;
use rollout_core::spec::FailurePolicy;
use sdk_support::backoff::Backoff;
use sim::talos::Timings;
use sim::{CallDrop, Faults, Sim};
use support::{NODES, ROUTE, SimClients};
use talos_client::methods;
use talos_rollout::adapters::kube::{DrainOptions, KubeconfigSource, OwnPod, connect};
use talos_rollout::journal::{Journal, backup_path};
use talos_rollout::profile::ExtensionProfile;
use talos_rollout::profiles::TailscaleProfile;
use talos_rollout::report::{EventLog, Report};
use talos_rollout::{Event, ExtensionRollout, RunEvent};

/// Which Talos path a row runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Talos {
    /// v1.10: the legacy `MachineService.Upgrade`, which reboots the node by itself.
    Legacy,
    /// v1.14: `ImageService.Pull` + `LifecycleService.Upgrade`, then a `Reboot`.
    Lifecycle,
}

impl Talos {
    fn version(self) -> &'static str {
        match self {
            Talos::Legacy => "v1.10.4",
            Talos::Lifecycle => "v1.14.0",
        }
    }
}

/// A fault switch aimed at one node (its hostname).
type Switch = fn(&Faults, &str);

/// When and how a row's fault is set.
#[derive(Clone, Copy)]
enum Inject {
    /// Set before the run starts.
    Before(Switch),
    /// Set when the faulty node enters the phase (before that phase's calls).
    AtPhase(Phase, Switch),
    /// The faulty node's next call of `method` after it entered `armed_at` (the run's start
    /// when `None`) loses its request or its answer.
    Drop {
        method: &'static str,
        drop: CallDrop,
        armed_at: Option<Phase>,
    },
}

/// Where a row must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Every node Done and the final validation passes.
    Converges,
    /// The faulty node failed in this phase and halted the rollout.
    Halted(Phase),
    /// The faulty node failed in this phase and was rolled back to its original.
    RolledBack(Phase),
}

impl End {
    /// The words README.md's table must use for this end.
    fn readme_text(self) -> String {
        match self {
            End::Converges => "converges".to_owned(),
            End::Halted(phase) => format!("halted in {phase}"),
            End::RolledBack(phase) => format!("{phase} fails, then RolledBack"),
        }
    }
}

/// One cell of the matrix.
struct Row {
    /// The fault's key in README.md's table (its first column, before the switch).
    readme: &'static str,
    /// Where the fault strikes, for messages.
    phase: &'static str,
    talos: Talos,
    policy: FailurePolicy,
    /// Whether the rollout has the sim's Kubernetes API (real time, short timings).
    kube: bool,
    inject: Inject,
    end: End,
    /// How many times the faulty node has booted at the end (1: never rebooted).
    boots: u32,
    /// A second fault set before the run (what makes a rollback row roll back).
    trigger: Option<Switch>,
    /// The plan position of the node the fault is aimed at.
    faulty: usize,
}

const HALT: FailurePolicy = FailurePolicy::Halt;
const ROLLBACK: FailurePolicy = FailurePolicy::Rollback;
const LEGACY: Talos = Talos::Legacy;
const LIFECYCLE: Talos = Talos::Lifecycle;

fn row(readme: &'static str, phase: &'static str, talos: Talos, inject: Inject, end: End) -> Row {
    let boots = match end {
        End::Converges | End::Halted(Phase::Verify | Phase::PostVerify | Phase::Soak) => 2,
        End::RolledBack(_) => 3,
        End::Halted(_) => 1,
    };
    Row {
        readme,
        phase,
        talos,
        policy: HALT,
        kube: false,
        inject,
        end,
        boots,
        trigger: None,
        faulty: 1,
    }
}

/// Both sides (request lost, answer lost) of the faulty node's next `method` call.
fn both_sides(
    readme: &'static str,
    phase: &'static str,
    talos: Talos,
    method: &'static str,
    armed_at: Option<Phase>,
    end: End,
) -> [Row; 2] {
    [CallDrop::RequestLost, CallDrop::AnswerLost].map(|drop| {
        row(
            readme,
            phase,
            talos,
            Inject::Drop {
                method,
                drop,
                armed_at,
            },
            end,
        )
    })
}

const NEVER_RETURNS: &str = "node never returns";
const MISSING_EXTENSION: &str = "returns without the extension";
const TAILSCALE_AUTH: &str = "`ext-tailscale` crash-loops with an auth error";
const DEVICE_OFFLINE: &str = "device never connects";
const ROUTES_MISSING: &str = "routes never advertised";
const SLOW_REBOOT: &str = "slow reboot";
const FACTORY_5XX: &str = "factory 5xx burst";
const TAILNET_429: &str = "tailnet 429 with Retry-After";
const CALL_DROPPED: &str = "one apid call dropped, request or answer lost";
const WAIT_DROPPED: &str = "apid connections dropped during a wait";
const ABRUPT_REBOOT: &str = "abrupt reboot";
const STALE_READY: &str = "stale \"running and ready\" of the old boot";
const STALE_BOOT_ID: &str = "stale boot-ID reads after a boot";
const SEQUENCE_FAILS: &str = "legacy upgrade sequence fails";
const INSTALLER_FAILS: &str = "installer exits non-zero";
const PULL_STALLS: &str = "image pull stalls";
const PDB_BLOCKS: &str = "PodDisruptionBudget never allows";
const KUBELET_NOT_READY: &str = "kubelet never Ready";
const KUBE_API_DOWN: &str = "Kubernetes API unavailable";

/// The reads a wait makes of a node: a wait row loses the next of each.
const READS: [&str; 8] = [
    methods::VERSION,
    methods::RESOURCE_GET,
    methods::RESOURCE_LIST,
    methods::SERVICE_LIST,
    methods::HEALTH_CHECK,
    methods::ETCD_STATUS,
    methods::ETCD_MEMBER_LIST,
    methods::EVENTS,
];

/// The Talos and tailnet rows (paused time).
fn talos_rows() -> Vec<Row> {
    use End::{Converges, Halted, RolledBack};
    let mut rows = Vec::new();
    for talos in [LEGACY, LIFECYCLE] {
        let before = |f: Switch| Inject::Before(f);
        rows.push(row(
            NEVER_RETURNS,
            "reboot",
            talos,
            before(|f, n| {
                f.node_never_returns(n);
            }),
            Halted(Phase::AwaitReboot),
        ));
        let missing: Switch = |f, n| {
            f.node_returns_without_extension(n, sim::TAILSCALE_EXTENSION);
        };
        rows.push(row(
            MISSING_EXTENSION,
            "reboot",
            talos,
            before(missing),
            Halted(Phase::Verify),
        ));
        rows.push(Row {
            policy: ROLLBACK,
            ..row(
                MISSING_EXTENSION,
                "reboot",
                talos,
                before(missing),
                RolledBack(Phase::Verify),
            )
        });
        rows.push(row(
            TAILSCALE_AUTH,
            "extension start",
            talos,
            before(|f, n| {
                f.tailscale_auth_fails(n);
            }),
            Halted(Phase::Verify),
        ));
        rows.push(row(
            DEVICE_OFFLINE,
            "tailnet login",
            talos,
            before(|f, n| {
                f.device_never_connects(n);
            }),
            Halted(Phase::PostVerify),
        ));
        rows.push(row(
            ROUTES_MISSING,
            "tailnet login",
            talos,
            before(|f, n| {
                f.routes_never_advertised(n);
            }),
            Halted(Phase::PostVerify),
        ));
        rows.push(row(
            SLOW_REBOOT,
            "AwaitReboot",
            talos,
            before(|f, n| {
                f.slow_reboot(n, Duration::from_secs(60));
            }),
            Converges,
        ));
        rows.push(row(
            FACTORY_5XX,
            "plan",
            talos,
            before(|f, _| {
                f.factory_server_errors(3);
            }),
            Converges,
        ));
        rows.push(row(
            TAILNET_429,
            "mint",
            talos,
            before(|f, _| {
                f.tailnet_rate_limited(3, Duration::from_secs(2));
            }),
            Converges,
        ));
        rows.push(row(
            TAILNET_429,
            "PostVerify",
            talos,
            Inject::AtPhase(Phase::PostVerify, |f, _| {
                f.tailnet_rate_limited(3, Duration::from_secs(2));
            }),
            Converges,
        ));
        rows.extend(both_sides(
            CALL_DROPPED,
            "ApplyConfig",
            talos,
            methods::APPLY_CONFIGURATION,
            None,
            Converges,
        ));
        let install = match talos {
            LEGACY => methods::UPGRADE,
            LIFECYCLE => methods::LIFECYCLE_UPGRADE,
        };
        rows.extend(both_sides(
            CALL_DROPPED,
            "Install",
            talos,
            install,
            None,
            Converges,
        ));
        if talos == LIFECYCLE {
            rows.extend(both_sides(
                CALL_DROPPED,
                "Install (pull)",
                talos,
                methods::IMAGE_PULL,
                None,
                Converges,
            ));
            rows.extend(both_sides(
                CALL_DROPPED,
                "Reboot",
                talos,
                methods::REBOOT,
                None,
                Converges,
            ));
        }
        // The rollback's own disruptive calls: its config restore and its way back to the
        // original image (the Rollback RPC, or a re-install of the original installer).
        // A lost Rollback RPC request is never sent again (it flips the boot entry before it
        // reboots): once the node shows it never acted, the original image is re-installed.
        for (phase, method, drop, end, boots) in [
            (
                "RestoreConfig",
                methods::APPLY_CONFIGURATION,
                CallDrop::RequestLost,
                RolledBack(Phase::Verify),
                3,
            ),
            (
                "RestoreConfig",
                methods::APPLY_CONFIGURATION,
                CallDrop::AnswerLost,
                RolledBack(Phase::Verify),
                3,
            ),
            (
                "BootPrevious",
                methods::ROLLBACK,
                CallDrop::RequestLost,
                RolledBack(Phase::Verify),
                3,
            ),
            (
                "BootPrevious",
                methods::ROLLBACK,
                CallDrop::AnswerLost,
                RolledBack(Phase::Verify),
                3,
            ),
        ] {
            let inject = Inject::Drop {
                method,
                drop,
                armed_at: Some(Phase::Verify),
            };
            rows.push(Row {
                policy: ROLLBACK,
                boots,
                ..row(CALL_DROPPED, phase, talos, inject, end).with_missing_extension()
            });
        }
        for phase in [
            Phase::Precheck,
            Phase::AwaitReboot,
            Phase::Verify,
            Phase::PostVerify,
            Phase::Soak,
        ] {
            rows.push(row(
                WAIT_DROPPED,
                phase_name(phase),
                talos,
                Inject::AtPhase(phase, |f, n| {
                    for method in READS {
                        f.apid_drops_call(n, method, CallDrop::RequestLost);
                    }
                }),
                Converges,
            ));
        }
        rows.push(row(
            ABRUPT_REBOOT,
            "reboot",
            talos,
            before(|f, n| {
                f.abrupt_reboots(n);
            }),
            Converges,
        ));
        rows.push(row(
            STALE_READY,
            "reboot",
            talos,
            before(|f, n| {
                f.stale_ready_on_reboot(n);
            }),
            Converges,
        ));
        rows.push(row(
            STALE_BOOT_ID,
            "AwaitReboot",
            talos,
            before(|f, n| {
                f.stale_boot_id_reads(n, 3);
            }),
            Converges,
        ));
    }
    rows.push(row(
        SEQUENCE_FAILS,
        "Install",
        LEGACY,
        Inject::Before(|f, n| {
            f.upgrade_sequence_fails(n, "failed etcd checks");
        }),
        End::Halted(Phase::AwaitReboot),
    ));
    rows.push(row(
        INSTALLER_FAILS,
        "Install",
        LIFECYCLE,
        Inject::Before(|f, n| {
            f.installer_exits_with(n, 1);
        }),
        End::Halted(Phase::Install),
    ));
    rows.push(row(
        PULL_STALLS,
        "Install",
        LIFECYCLE,
        Inject::Before(|f, n| {
            f.image_pull_stalls(n);
        }),
        End::Halted(Phase::Install),
    ));
    rows
}

/// The Kubernetes rows: the lifecycle path with the sim's Kubernetes API (real time).
fn kube_rows() -> Vec<Row> {
    let kube = |readme, phase, inject, end| Row {
        kube: true,
        ..row(readme, phase, LIFECYCLE, inject, end)
    };
    vec![
        // The budget covers coredns, which runs on the first node the plan drains.
        Row {
            faulty: 0,
            ..kube(
                PDB_BLOCKS,
                "Drain",
                Inject::Before(|f, _| {
                    f.pdb_never_allows("kube-system", "coredns");
                }),
                End::Halted(Phase::Drain),
            )
        },
        kube(
            KUBELET_NOT_READY,
            "Verify",
            Inject::Before(|f, n| {
                f.kubelet_not_ready(n, true);
            }),
            End::Halted(Phase::Verify),
        ),
        kube(
            KUBE_API_DOWN,
            "Cordon",
            Inject::AtPhase(Phase::Cordon, |f, _| {
                f.kube_api_unavailable(true);
            }),
            End::Halted(Phase::Cordon),
        ),
    ]
}

impl Row {
    /// The row with the extension also missing after the reboot (a rollback row's trigger).
    fn with_missing_extension(mut self) -> Row {
        self.trigger = Some(|f, n| {
            f.node_returns_without_extension(n, sim::TAILSCALE_EXTENSION);
        });
        self
    }

    fn name(&self) -> String {
        let inject = match self.inject {
            Inject::Drop { method, drop, .. } => format!(" {method} {drop:?}"),
            _ => String::new(),
        };
        format!(
            "{} at {} on {:?} ({:?}, kube {}){inject}",
            self.readme, self.phase, self.talos, self.policy, self.kube
        )
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Precheck => "Precheck",
        Phase::AwaitReboot => "AwaitReboot",
        Phase::Verify => "Verify",
        Phase::PostVerify => "PostVerify",
        Phase::Soak => "Soak",
        _ => "another phase",
    }
}

/// What one row's run left behind.
struct Outcome {
    sim: Sim,
    artifacts: tempfile::TempDir,
    plan: Plan,
    summary: Summary,
    events: Vec<Event>,
    report: Report,
    /// Each node's machine config and boot count before the run.
    before: BTreeMap<String, (Vec<u8>, u32)>,
    /// The most nodes (all control planes) down at once during the run.
    most_down: usize,
}

/// Short sim timings for the real-time rows.
fn short_timings() -> Timings {
    Timings {
        shutdown: Duration::from_millis(50),
        reboot: Duration::from_millis(200),
        boot: Duration::from_millis(100),
        install: Duration::ZERO,
        service_restart: Duration::from_millis(200),
    }
}

fn spec_for(row: &Row) -> RolloutSpec {
    let mut spec = RolloutSpec {
        soak: Duration::from_secs(10),
        failure_policy: row.policy,
        ..RolloutSpec::default()
    };
    spec.timeouts.verify = Duration::from_secs(120);
    spec.timeouts.post_verify = Duration::from_secs(120);
    spec.timeouts.await_reboot = Duration::from_secs(300);
    spec.timeouts.install = Duration::from_secs(300);
    if row.kube {
        spec.soak = Duration::from_secs(1);
        spec.timeouts.check_interval = Duration::from_millis(200);
        spec.timeouts.drain = Duration::from_secs(3);
        spec.timeouts.verify = Duration::from_secs(3);
        spec.timeouts.step = Duration::from_secs(3);
    }
    spec
}

/// Builds the front door (minting its own key, as the tools do) over a fresh sim.
async fn front_door(
    row: &Row,
    artifacts: &Path,
) -> (
    Sim,
    ExtensionRollout,
    talos_rollout::driver::EventStream,
    Arc<dyn ExtensionProfile>,
) {
    let mut sim = Sim::builder().talos_version(row.talos.version());
    if row.kube {
        sim = sim.timings(short_timings());
    }
    let sim = sim.start().await.unwrap();
    let clients = SimClients::connect(&sim);
    let profile: Arc<dyn ExtensionProfile> =
        Arc::new(TailscaleProfile::new(clients.tailscale.clone()).routes([ROUTE]));
    let mut builder = ExtensionRollout::builder()
        .talos(clients.talos)
        .factory(clients.factory)
        .shared_profile(Arc::clone(&profile))
        .cluster("sim")
        .nodes(NODES)
        .spec(spec_for(row))
        .artifacts(artifacts);
    if row.kube {
        let kube = connect(&KubeconfigSource::Yaml(sim.kubeconfig().unwrap()))
            .await
            .unwrap();
        let drain = DrainOptions::default()
            .timeout(Duration::from_secs(2))
            .pacing(
                Backoff::new(Duration::from_millis(50), Duration::from_millis(200)),
                Duration::from_millis(50),
            )
            .own_pod(None::<OwnPod>);
        builder = builder.kubernetes(kube).drain_options(drain);
    }
    let (rollout, events) = builder.build().unwrap();
    (sim, rollout, events, profile)
}

/// Samples how many nodes are down at once until aborted.
fn watch_down(sim: &Sim, every: Duration) -> (Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let most = Arc::new(AtomicUsize::new(0));
    let (cluster, seen) = (sim.cluster().clone(), Arc::clone(&most));
    let task = tokio::spawn(async move {
        loop {
            let down = NODES
                .iter()
                .filter(|node| !cluster.snapshot(node).unwrap().up)
                .count();
            seen.fetch_max(down, Ordering::Relaxed);
            tokio::time::sleep(every).await;
        }
    });
    (most, task)
}

/// Runs one row: sets its fault when due and collects what the run left behind.
async fn run_row(row: &Row) -> Outcome {
    let artifacts = tempfile::tempdir().unwrap();
    let (sim, rollout, mut events, profile) = front_door(row, artifacts.path()).await;
    // The dry run first (it reads the factory and the tailnet before any fault is set).
    let faulty = rollout.plan().await.unwrap().nodes[row.faulty].node.clone();
    let before: BTreeMap<String, (Vec<u8>, u32)> = NODES
        .iter()
        .map(|node| {
            let snapshot = sim.cluster().snapshot(node).unwrap();
            ((*node).to_owned(), (snapshot.config, snapshot.boots))
        })
        .collect();
    let faults = sim.faults().clone();
    if let Some(trigger) = row.trigger {
        trigger(&faults, &faulty);
    }
    let armed_at = match row.inject {
        Inject::Before(switch) => {
            switch(&faults, &faulty);
            None
        }
        Inject::AtPhase(phase, _) => Some(phase),
        Inject::Drop {
            armed_at: Some(phase),
            ..
        } => Some(phase),
        Inject::Drop {
            method,
            drop,
            armed_at: None,
        } => {
            faults.apid_drops_call(faulty.clone(), method, drop);
            None
        }
    };
    let sample = if row.kube { 20 } else { 100 };
    let (most_down, sampler) = watch_down(&sim, Duration::from_millis(sample));

    let mut seen = Vec::new();
    let mut armed = false;
    let run = rollout.run();
    tokio::pin!(run);
    let summary = loop {
        tokio::select! {
            summary = &mut run => break summary.unwrap(),
            Some(event) = events.next() => {
                let entered = matches!(
                    &event,
                    Event::Rollout(RolloutEvent::PhaseChanged { node, to, .. })
                        if *node == faulty && Some(*to) == armed_at
                );
                if entered && !armed {
                    armed = true;
                    arm(row, &faults, &faulty);
                }
                seen.push(event);
            }
        }
    };
    sampler.abort();
    if row.kube {
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(500), events.next()).await
        {
            seen.push(event);
        }
    } else {
        seen.extend(support::drain_events(&mut events));
    }
    // Faults that would keep the final validation from reading the cluster end with the run.
    faults.apid_drops_connections(0);
    faults.kube_api_unavailable(false);
    let plan = seen
        .iter()
        .find_map(|event| match event {
            Event::Run(RunEvent::Plan(plan)) => Some((**plan).clone()),
            _ => None,
        })
        .unwrap();
    let mut log = EventLog::default();
    for event in &seen {
        log.record(event, Instant::now());
    }
    let report = talos_rollout::report::build(
        &plan,
        &summary,
        &log,
        rollout.ports(),
        profile.as_ref(),
        None,
    )
    .await;
    Outcome {
        sim,
        artifacts,
        plan,
        summary,
        events: seen,
        report,
        before,
        most_down: most_down.load(Ordering::Relaxed),
    }
}

/// Sets a row's fault once the faulty node entered its phase.
fn arm(row: &Row, faults: &Faults, faulty: &str) {
    match row.inject {
        Inject::AtPhase(_, switch) => switch(faults, faulty),
        Inject::Drop { method, drop, .. } => {
            faults.apid_drops_call(faulty, method, drop);
        }
        Inject::Before(_) => {}
    }
}

/// Everything that does not hold for `row` after its run (empty: the row passed).
fn check(row: &Row, outcome: &Outcome) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut expect = |holds: bool, what: String| {
        if !holds {
            wrong.push(what);
        }
    };
    let Outcome {
        sim,
        plan,
        summary,
        events,
        report,
        before,
        ..
    } = outcome;
    let converges = row.end == End::Converges;
    let faulty = &plan.nodes[row.faulty];
    let (earlier, later) = (&plan.nodes[..row.faulty], &plan.nodes[row.faulty + 1..]);

    // The documented end: summary, failure phase, report.
    let phase_of = |node: &str| {
        summary
            .nodes
            .iter()
            .find(|(name, _)| name == node)
            .map(|(_, phase)| *phase)
    };
    let (faulty_phase, failed_in, status) = match row.end {
        End::Converges => (Phase::Done, None, "Done"),
        End::Halted(phase) => (Phase::Halted, Some(phase), "Halted"),
        End::RolledBack(phase) => (Phase::RolledBack, Some(phase), "RolledBack"),
    };
    for first in earlier {
        expect(
            phase_of(&first.node) == Some(Phase::Done),
            format!("{} before the fault is not Done: {summary:?}", first.node),
        );
    }
    expect(
        phase_of(&faulty.node) == Some(faulty_phase),
        format!("{} ends {faulty_phase}: {summary:?}", faulty.node),
    );
    let last_phase = if converges {
        Phase::Done
    } else {
        Phase::NotStarted
    };
    for last in later {
        expect(
            phase_of(&last.node) == Some(last_phase),
            format!(
                "{} after the fault ends {last_phase}: {summary:?}",
                last.node
            ),
        );
    }
    expect(
        summary.halted_by.as_deref() == (!converges).then_some(faulty.node.as_str()),
        format!("halted_by {:?}", summary.halted_by),
    );
    let failures: Vec<(String, Phase, String)> = support::rollout_events(events)
        .into_iter()
        .filter_map(|event| match event {
            RolloutEvent::NodeFailed { node, failure } => {
                Some((node, failure.phase, failure.reason))
            }
            _ => None,
        })
        .collect();
    match failed_in {
        None => expect(failures.is_empty(), format!("failures {failures:?}")),
        Some(phase) => expect(
            failures.iter().all(|(node, _, _)| *node == faulty.node)
                && failures.iter().any(|(_, failed, _)| *failed == phase),
            format!("only {} fails, and in {phase}: {failures:?}", faulty.node),
        ),
    }
    expect(
        report.succeeded == converges,
        format!("report succeeded {}", report.succeeded),
    );
    let reported = |node: &str| report.nodes.iter().find(|n| n.node == node).unwrap();
    expect(
        reported(&faulty.node).status == status,
        format!("report status {}", reported(&faulty.node).status),
    );
    if let Some(phase) = failed_in {
        let failure = reported(&faulty.node).failure.clone().unwrap_or_default();
        expect(
            failure.starts_with(&phase.to_string()),
            format!("report failure {failure:?} does not start with {phase}"),
        );
    }
    for last in later {
        expect(
            reported(&last.node).status == last_phase.to_string(),
            format!(
                "report status of {}: {}",
                last.node,
                reported(&last.node).status
            ),
        );
    }

    // Reboots and availability.
    let snapshot = |node: &str| sim.cluster().snapshot(node).unwrap();
    let boots = |node: &NodePlanRef| snapshot(&node.nodename).boots;
    for first in earlier {
        expect(
            boots(first) == 2,
            format!("{} booted {} times", first.node, boots(first)),
        );
    }
    expect(
        boots(faulty) == row.boots,
        format!(
            "{} booted {} times, expected {}",
            faulty.node,
            boots(faulty),
            row.boots
        ),
    );
    let last_boots = if converges { 2 } else { 1 };
    for last in later {
        expect(
            boots(last) == last_boots,
            format!("{} booted {} times", last.node, boots(last)),
        );
        if !converges {
            expect(
                snapshot(&last.nodename).config == before[&last.nodename].0,
                format!("{}'s machine config changed", last.node),
            );
        }
    }
    expect(
        outcome.most_down <= 1,
        format!("{} control-plane nodes down at once", outcome.most_down),
    );
    if matches!(row.end, End::RolledBack(_)) {
        let now = snapshot(&faulty.nodename);
        expect(
            now.config == before[&faulty.nodename].0,
            format!("{} not back on its original config", faulty.node),
        );
        expect(
            now.schematic_id == faulty.from.schematic_id,
            format!("{} runs {:?}", faulty.node, now.schematic_id),
        );
    }
    if let Inject::Drop { method, .. } = row.inject {
        expect(
            !sim.faults().is_call_drop_pending(&faulty.nodename, method),
            format!(
                "{method} was never called on {} after the drop was armed",
                faulty.node
            ),
        );
    }
    if row.readme == WAIT_DROPPED {
        let fired = READS
            .iter()
            .any(|method| !sim.faults().is_call_drop_pending(&faulty.nodename, method));
        expect(fired, format!("no read of {} was lost", faulty.node));
    }
    if row.kube {
        let cordoned = sim
            .kube()
            .node(&faulty.nodename)
            .unwrap()
            .spec
            .and_then(|spec| spec.unschedulable)
            .unwrap_or(false);
        let after_drain = matches!(failed_in, Some(Phase::AwaitReboot | Phase::Verify));
        expect(
            cordoned == after_drain,
            format!("{} cordoned: {cordoned}", faulty.node),
        );
    }

    // Nothing lost: originals, backups, journal, one minted key.
    let dir = outcome.artifacts.path().join("sim");
    for node in &plan.nodes {
        let original = dir
            .join("originals")
            .join(&node.nodename)
            .join("machineconfig.yaml");
        expect(
            std::fs::read(&original).ok().as_ref() == Some(&before[&node.nodename].0),
            format!("original of {} missing or changed", node.node),
        );
        let started = phase_of(&node.node) != Some(Phase::NotStarted);
        let backup = std::fs::read(backup_path(&dir, &node.node)).ok();
        expect(
            backup.as_ref() == started.then_some(&before[&node.nodename].0),
            format!(
                "backup of {} (started: {started}) missing, extra or changed",
                node.node
            ),
        );
    }
    match Journal::read(&dir.join("journal.jsonl")) {
        Ok(journal) => {
            expect(journal.finished, "the journal is not finished".to_owned());
            // Timeouts are operating settings (journaled at a coarser grain); the nodes'
            // plans are the rollout's identity.
            expect(
                journal.plan.nodes == plan.nodes,
                "the journal's plan differs".to_owned(),
            );
            expect(
                matches!(journal.entries.last(), Some(JournalEntry::Finished { summary: s }) if s == summary),
                "the journal's last entry is not the summary".to_owned(),
            );
        }
        Err(error) => expect(false, format!("journal unreadable: {error}")),
    }
    let minted = events
        .iter()
        .filter(|event| matches!(event, Event::Run(RunEvent::CredentialProvisioned { .. })))
        .count();
    expect(minted == 1, format!("{minted} keys minted"));
    wrong
}

type NodePlanRef = rollout_core::plan::NodePlan;

/// Runs `rows` one after another and fails with every row that did not hold.
async fn run_matrix(rows: Vec<Row>) {
    let started = Instant::now();
    let mut failed = Vec::new();
    for row in &rows {
        let began = Instant::now();
        let outcome = run_row(row).await;
        eprintln!("{:?} {}", began.elapsed(), row.name());
        let wrong = check(row, &outcome);
        if !wrong.is_empty() {
            failed.push(format!("{}:\n  {}", row.name(), wrong.join("\n  ")));
        }
    }
    eprintln!("{} rows in {:?}", rows.len(), started.elapsed());
    assert!(
        failed.is_empty(),
        "{} rows failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[tokio::test(start_paused = true)]
async fn talos_and_tailnet_faults_on_the_legacy_path_end_as_documented() {
    run_matrix(
        talos_rows()
            .into_iter()
            .filter(|r| r.talos == LEGACY)
            .collect(),
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn talos_and_tailnet_faults_on_the_lifecycle_path_end_as_documented() {
    run_matrix(
        talos_rows()
            .into_iter()
            .filter(|r| r.talos == LIFECYCLE)
            .collect(),
    )
    .await;
}

#[tokio::test]
async fn kubernetes_faults_end_as_documented() {
    run_matrix(kube_rows()).await;
}

/// The README's table, fault key → end-state text, read from the repository.
fn readme_table() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let section = readme
        .split("## What each injected fault ends in")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    section
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| fault"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            let fault = cells[0].trim();
            let key = fault.split(" (").next().unwrap_or(fault).trim();
            (
                key.to_owned(),
                cells.get(1).copied().unwrap_or("").trim().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_readme_fault_table_says_what_the_matrix_checks() {
    let table = readme_table();
    let rows: Vec<Row> = talos_rows().into_iter().chain(kube_rows()).collect();
    let mut wrong = Vec::new();
    for row in &rows {
        match table.get(row.readme) {
            None => wrong.push(format!("README has no row for {:?}", row.readme)),
            Some(text) => {
                for needed in [row.end.readme_text(), row.phase.to_owned()] {
                    if !text.contains(&needed) {
                        wrong.push(format!("README's {:?} does not say {needed:?}", row.readme));
                    }
                }
            }
        }
    }
    for key in table.keys() {
        if !rows.iter().any(|row| row.readme == key) {
            wrong.push(format!("README row {key:?} has no matrix row"));
        }
    }
    wrong.dedup();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
