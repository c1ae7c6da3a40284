//! The async driver: performs the state machine's actions through the [`crate::ports`] and
//! the [`ExtensionProfile`], journals before every action, and streams [`Event`]s.
//!
//! Most callers use the front door, [`crate::ExtensionRollout`]; the driver is the layer
//! below it for callers that plan by themselves. It only runs a [`Planned`] (a plan paired
//! with the configs it was computed from), and it never resumes a journal silently: a new
//! run refuses an unfinished journal, and [`Driver::resume`] is the only way to continue one.

mod discover;
mod execute;
mod feeds;
mod kill_point;
mod observe;
mod perform;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;

pub use kill_point::{KILLED_EXIT_CODE, KillPoint};
use rollout_core::Plan;
use rollout_core::machine::JournalEntry;
use rollout_core::machine::{LiveNode, MachineOptions, Phase, Rollout, Summary};
use rollout_core::plan::{NodeConfigs, NodeImage, NodePlan, Planned};
use rollout_core::spec::PhaseTimeouts;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::event::{Event, RunEvent};
use crate::journal::{ClusterLock, Journal, JournalContents, RolloutDir};
use crate::patch_store::PatchStore;
use crate::ports::{Clock, FactoryPort, KubePort, TalosPort};
use crate::profile::{ExtensionProfile, NamedCheck};

/// The ports the driver works through (the profile brings its own, e.g. the tailnet).
#[derive(Clone)]
pub struct Ports {
    /// Talos nodes.
    pub talos: Arc<dyn TalosPort>,
    /// Image Factory.
    pub factory: Arc<dyn FactoryPort>,
    /// Kubernetes (cordon/drain run only when given).
    pub kube: Option<Arc<dyn KubePort>>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// A stream of progress events.
pub type EventStream = Pin<Box<dyn Stream<Item = Event> + Send>>;

pub(crate) struct Inner {
    pub(crate) ports: Ports,
    pub(crate) profile: Arc<dyn ExtensionProfile>,
    pub(crate) plan: Plan,
    pub(crate) configs: NodeConfigs,
    pub(crate) dir: RolloutDir,
    pub(crate) checks: BTreeMap<String, Arc<dyn NamedCheck>>,
    pub(crate) kill_at: Option<KillPoint>,
    /// The event stream, for what a performed action reports (a drain's report).
    pub(crate) events: mpsc::UnboundedSender<Event>,
    /// Nodes being rolled back to their originals, with the original image: their rollback
    /// applies the original machine config and verifies the original image.
    pub(crate) originals: BTreeMap<String, NodeImage>,
}

impl Inner {
    pub(crate) fn plan_node(&self, node: &str) -> Option<&NodePlan> {
        self.plan.node(node)
    }
}

/// Executes rollouts (and rollbacks) over a set of ports and a profile, journaling into
/// `<artifacts>/<cluster>/`.
pub struct Driver {
    ports: Ports,
    profile: Arc<dyn ExtensionProfile>,
    checks: BTreeMap<String, Arc<dyn NamedCheck>>,
    artifacts: PathBuf,
    owner: String,
    take_over_stale_lock: bool,
    timeouts: Option<PhaseTimeouts>,
    kill_at: Option<KillPoint>,
    /// Journal entries this process appended (for [`KillPoint::JournalEntry`]).
    appended: std::sync::atomic::AtomicUsize,
    cancel: CancellationToken,
    events: mpsc::UnboundedSender<Event>,
}

impl Driver {
    /// A driver journaling under `artifacts`, and the stream of its events.
    pub fn new(
        ports: Ports,
        profile: Arc<dyn ExtensionProfile>,
        artifacts: impl Into<PathBuf>,
    ) -> (Self, EventStream) {
        let (events, receiver) = mpsc::unbounded_channel();
        let stream = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|event| (event, receiver))
        });
        let driver = Driver {
            ports,
            profile,
            checks: BTreeMap::new(),
            artifacts: artifacts.into(),
            owner: crate::journal::default_owner(),
            take_over_stale_lock: false,
            timeouts: None,
            kill_at: None,
            appended: std::sync::atomic::AtomicUsize::new(0),
            cancel: CancellationToken::new(),
            events,
        };
        (driver, Box::pin(stream))
    }

    /// Registers a user check that gates name in the spec.
    pub fn named_check(mut self, check: Arc<dyn NamedCheck>) -> Self {
        self.checks.insert(check.name().to_owned(), check);
        self
    }

    /// Names the lock owner (default: `$USER`).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// Takes over a lock left behind by a rollout whose process is gone.
    pub fn take_over_stale_lock(mut self, take_over: bool) -> Self {
        self.take_over_stale_lock = take_over;
        self
    }

    /// Phase timeouts for resuming or rolling back a journaled rollout, instead of those it
    /// was planned with: they are operating settings, not part of what the plan changes, so
    /// an operator can allow a slow node more time when resuming (default: the journaled ones).
    pub fn timeouts(mut self, timeouts: PhaseTimeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// For crash tests only: ends the process (exit code [`KILLED_EXIT_CODE`]) at `point`,
    /// leaving the journal, lock and node exactly as a crash there would.
    pub fn kill_at(mut self, point: KillPoint) -> Self {
        self.kill_at = Some(point);
        self
    }

    /// A token that stops the rollout between steps (in-flight steps finish and are journaled).
    pub fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// The ports.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// The cluster's rollout directory under the artifacts directory.
    pub fn rollout_dir(&self, cluster: &str) -> RolloutDir {
        RolloutDir::new(&self.artifacts, cluster)
    }

    /// Takes the cluster lock (before anything is changed or created).
    ///
    /// # Errors
    /// [`Error::LockHeld`] when another rollout holds it; [`Error::Io`].
    pub fn lock(&self, cluster: &str) -> crate::Result<ClusterLock> {
        let dir = self.rollout_dir(cluster);
        ClusterLock::acquire(&dir.lock(), cluster, &self.owner, self.take_over_stale_lock)
    }

    /// The journaled rollout of `cluster` that has not finished, if any.
    ///
    /// # Errors
    /// [`Error::Journal`] when the journal is unreadable.
    pub fn unfinished(&self, cluster: &str) -> crate::Result<Option<JournalContents>> {
        let dir = self.rollout_dir(cluster);
        if !dir.journal().exists() {
            return Ok(None);
        }
        let contents = Journal::read(&dir.journal())?;
        Ok((!contents.finished).then_some(contents))
    }

    /// A sender into the event stream (for work that outlives a borrow of the driver).
    pub(crate) fn event_sender(&self) -> mpsc::UnboundedSender<Event> {
        self.events.clone()
    }

    pub(crate) fn emit(&self, event: impl Into<Event>) {
        let _ = self.events.send(event.into());
    }

    /// Starts a new rollout of `planned` under the held `lock`.
    ///
    /// # Errors
    /// - [`Error::UnfinishedRollout`] when an unfinished rollout of the cluster is journaled
    ///   (resume it or roll it back first);
    /// - [`rollout_core::Error::InvalidSpec`] when a gate names an unregistered user check;
    /// - [`Error::Cancelled`] after cancellation (resume to continue);
    /// - [`Error::Io`] when the journal cannot be written.
    ///
    /// A failed node is not an error: see the returned [`Summary`].
    pub async fn start(&self, lock: &mut ClusterLock, planned: Planned) -> crate::Result<Summary> {
        let (plan, configs) = planned.into_parts();
        self.check_wiring(&plan)?;
        let dir = self.rollout_dir(&plan.cluster);
        if self.unfinished(&plan.cluster)?.is_some() {
            return Err(Error::UnfinishedRollout {
                cluster: plan.cluster.clone(),
                path: dir.journal(),
            });
        }
        if dir.journal().exists() {
            dir.archive_journal(crate::journal::unix_ms())?;
        }
        let mut journal = Journal::create(&dir.journal(), &plan)?;
        let mut machine =
            Rollout::new(plan.clone(), self.machine_options(), self.ports.clock.now());
        self.emit(RunEvent::Plan(Box::new(plan.clone())));
        let inner = Arc::new(self.inner(plan, configs, dir, BTreeMap::new()));
        self.execute(&inner, &mut machine, &mut journal, lock).await
    }

    /// Continues the journaled rollout of `cluster`, reconciled with what the nodes report
    /// now, with the configs read back from its patches.
    ///
    /// An interrupted rollout continues where it stopped. A rollout that halted is retried
    /// (the operator fixed the cause): each failed node from a safe point, never-started
    /// nodes afterwards ([`Rollout::retry_halted`]). A rollout that finished without a halt
    /// returns its journaled summary, so that the caller can still write its report.
    ///
    /// # Errors
    /// [`Error::NothingToResume`] when no rollout is journaled;
    /// [`Error::Journal`] when its patches are missing or differ from its plan; otherwise
    /// as [`Driver::start`].
    pub async fn resume(&self, lock: &mut ClusterLock, cluster: &str) -> crate::Result<Summary> {
        let dir = self.rollout_dir(cluster);
        if !dir.journal().exists() {
            return Err(Error::NothingToResume {
                cluster: cluster.to_owned(),
                path: dir.journal(),
            });
        }
        let contents = self.with_timeouts(Journal::read(&dir.journal())?);
        let configs = PatchStore::new(dir.clone()).read_configs(&contents.plan)?;
        self.check_wiring(&contents.plan)?;
        let live = self.live_state(&contents.plan).await;
        let mut machine = self.rebuild_from(&contents, &live);
        self.emit(RunEvent::Plan(Box::new(contents.plan.clone())));
        self.emit(RunEvent::Resumed {
            phases: machine
                .status()
                .into_iter()
                .map(|node| (node.node, node.phase))
                .collect(),
        });
        if contents.finished {
            if let Some(summary) =
                finished_cleanly(&contents, &mut machine, &live, &*self.ports.clock)
            {
                self.emit(RunEvent::Note {
                    message: "the journaled rollout already finished; nothing to resume".to_owned(),
                });
                return Ok(summary);
            }
            self.emit(RunEvent::Note {
                message: "retrying the halted rollout from its journal".to_owned(),
            });
        } else {
            self.emit(RunEvent::Note {
                message: "resuming the unfinished rollout from its journal".to_owned(),
            });
        }
        let mut journal = Journal::open(&dir.journal())?;
        let originals = originals_in(&contents.entries);
        let inner = Arc::new(self.inner(contents.plan, configs, dir, originals));
        self.execute(&inner, &mut machine, &mut journal, lock).await
    }

    /// Rolls back nodes of the last rollout of `cluster`, one at a time (all changed nodes,
    /// last changed first, when `nodes` is empty), then halts. A node named in `originals`
    /// returns to that original image and its original machine config
    /// ([`Rollout::roll_back_to_original`]), also when this rollout never changed it; any
    /// other node to the plan's `from` image and this rollout's backup. A node whose
    /// rollback an earlier process began continues it, as journaled.
    ///
    /// # Errors
    /// [`Error::Journal`] when there is no journal;
    /// [`rollout_core::Error::NothingToRollBack`] for a node the rollout never changed (and
    /// not named in `originals`); otherwise as [`Driver::start`].
    pub async fn rollback(
        &self,
        lock: &mut ClusterLock,
        cluster: &str,
        nodes: &[String],
        originals: &BTreeMap<String, NodeImage>,
    ) -> crate::Result<Summary> {
        let dir = self.rollout_dir(cluster);
        let contents = self.with_timeouts(Journal::read(&dir.journal())?);
        let configs = PatchStore::new(dir.clone())
            .read_configs(&contents.plan)
            .unwrap_or_default();
        let mut machine = self.rebuild(&contents).await;
        let targets: Vec<String> = if nodes.is_empty() {
            machine
                .status()
                .iter()
                .rev()
                .filter(|s| s.completed.iter().any(|step| step.is_disruptive()))
                .map(|s| s.node.clone())
                .collect()
        } else {
            nodes.to_vec()
        };
        let mut aimed = originals_in(&contents.entries);
        aimed.extend(
            originals
                .iter()
                .map(|(node, image)| (node.clone(), image.clone())),
        );
        let inner = Arc::new(self.inner(contents.plan, configs, dir.clone(), aimed));
        let mut journal = Journal::open(&dir.journal())?;
        let mut summary = None;
        for node in targets {
            let now = self.ports.clock.now();
            // A rollback an earlier process began (and crashed in) continues from its journal.
            let under_way = machine
                .status()
                .iter()
                .any(|status| status.node == node && matches!(status.phase, Phase::Rollback(_)));
            match originals.get(&node) {
                _ if under_way => {}
                Some(original) => machine.roll_back_to_original(&node, original.clone(), now)?,
                None => machine.roll_back(&node, now)?,
            }
            let outcome = self
                .execute(&inner, &mut machine, &mut journal, lock)
                .await?;
            let failed = outcome
                .nodes
                .iter()
                .any(|(name, phase)| name == &node && *phase != Phase::RolledBack);
            summary = Some(outcome);
            if failed {
                break;
            }
        }
        summary.ok_or_else(|| {
            Error::Core(rollout_core::Error::NothingToRollBack {
                node: cluster.to_owned(),
                reason: "no node was changed".into(),
            })
        })
    }

    fn inner(
        &self,
        plan: Plan,
        configs: NodeConfigs,
        dir: RolloutDir,
        originals: BTreeMap<String, NodeImage>,
    ) -> Inner {
        Inner {
            ports: self.ports.clone(),
            profile: self.profile.clone(),
            plan,
            configs,
            dir,
            checks: self.checks.clone(),
            kill_at: self.kill_at.clone(),
            events: self.events.clone(),
            originals,
        }
    }

    /// The journal with the driver's timeouts in its plan, when it has any.
    fn with_timeouts(&self, mut contents: JournalContents) -> JournalContents {
        if let Some(timeouts) = &self.timeouts {
            contents.plan.settings.timeouts = timeouts.clone();
        }
        contents
    }

    fn machine_options(&self) -> MachineOptions {
        MachineOptions {
            drain: self.ports.kube.is_some(),
        }
    }

    fn check_wiring(&self, plan: &Plan) -> crate::Result<()> {
        let gates = &plan.settings.gates;
        for name in gates
            .precheck
            .iter()
            .chain(&gates.verify)
            .chain(&gates.soak)
        {
            if !self.checks.contains_key(name) {
                return Err(Error::spec(
                    "gates",
                    format!("no user check named {name:?} is registered with the driver"),
                ));
            }
        }
        if plan.profile != self.profile.name() {
            return Err(Error::spec(
                "profile",
                format!(
                    "the plan rolls out {} but the driver has the {} profile",
                    plan.profile,
                    self.profile.name()
                ),
            ));
        }
        Ok(())
    }

    /// The machine of a journaled rollout, reconciled with what the nodes report now.
    async fn rebuild(&self, contents: &JournalContents) -> Rollout {
        let live = self.live_state(&contents.plan).await;
        self.rebuild_from(contents, &live)
    }

    fn rebuild_from(
        &self,
        contents: &JournalContents,
        live: &BTreeMap<String, LiveNode>,
    ) -> Rollout {
        Rollout::resume(
            contents.plan.clone(),
            &contents.entries,
            live,
            self.machine_options(),
            self.ports.clock.now(),
        )
    }

    async fn live_state(&self, plan: &Plan) -> BTreeMap<String, LiveNode> {
        let mut live = BTreeMap::new();
        for node in &plan.nodes {
            match self.ports.talos.inspect(&node.node).await {
                Ok(state) => {
                    live.insert(node.node.clone(), state);
                }
                Err(error) => {
                    tracing::warn!(node = %node.node, %error, "node unreadable while resuming")
                }
            }
        }
        live
    }
}

/// The nodes a journal rolls back to their originals, with the original image (the last
/// request per node wins).
fn originals_in(entries: &[JournalEntry]) -> BTreeMap<String, NodeImage> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            JournalEntry::RollbackToOriginal { node, original } => {
                Some((node.clone(), original.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The summary of a finished journal when nothing halted (nothing to retry); otherwise the
/// machine is set to retry its halted nodes and `None` is returned.
fn finished_cleanly(
    contents: &JournalContents,
    machine: &mut Rollout,
    live: &BTreeMap<String, LiveNode>,
    clock: &dyn Clock,
) -> Option<Summary> {
    if machine.retry_halted(live, clock.now()) {
        return None;
    }
    contents.entries.iter().rev().find_map(|entry| match entry {
        rollout_core::machine::JournalEntry::Finished { summary } => Some(summary.clone()),
        _ => None,
    })
}
