//! The async driver: performs the state machine's actions through the [`crate::ports`],
//! journals before every action, and streams [`RolloutEvent`]s.
//!
//! Start with [`Driver::new`], then [`Driver::discover`], [`crate::plan()`] and [`Driver::run`].

mod diagnosis;
mod discover;
mod execute;
mod observe;
mod perform;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use diagnosis::{Diagnosis, RecognisedCause};

use crate::discovery::ClusterFacts;
use crate::gate::UserCheck;
use crate::journal::{ClusterLock, Journal, RolloutDir};
use crate::machine::{LiveNode, MachineOptions, Rollout, RolloutEvent, Summary};
use crate::plan::{NodePlan, Plan};
use crate::ports::{Clock, FactoryPort, KubePort, TailnetPort, TalosPort};
use crate::{Error, RolloutSpec};

/// The ports the driver works through.
#[derive(Clone)]
pub struct Ports {
    /// Talos nodes.
    pub talos: Arc<dyn TalosPort>,
    /// Image Factory.
    pub factory: Arc<dyn FactoryPort>,
    /// Tailnet (required when the plan has tailnet expectations).
    pub tailnet: Option<Arc<dyn TailnetPort>>,
    /// Kubernetes (cordon/drain run only when given).
    pub kube: Option<Arc<dyn KubePort>>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// A stream of progress events.
pub type EventStream = Pin<Box<dyn Stream<Item = RolloutEvent> + Send>>;

pub(crate) struct Inner {
    pub(crate) spec: RolloutSpec,
    pub(crate) ports: Ports,
    pub(crate) plan: Plan,
    pub(crate) dir: RolloutDir,
    pub(crate) user_checks: BTreeMap<String, Arc<dyn UserCheck>>,
}

impl Inner {
    pub(crate) fn plan_node(&self, node: &str) -> Option<&NodePlan> {
        self.plan.node(node)
    }
}

/// Executes rollouts (and rollbacks) of one spec over a set of ports.
///
/// # Usage
/// ```no_run
/// # async fn example(spec: rollout_core::RolloutSpec, ports: rollout_core::driver::Ports,
/// #     resolver: &dyn rollout_core::plan::SchematicResolver) -> rollout_core::Result<()> {
/// use futures::StreamExt;
/// use rollout_core::driver::Driver;
///
/// let (driver, mut events) = Driver::new(spec.clone(), ports);
/// let facts = driver.discover("home", &["k8s-1".into(), "k8s-2".into(), "k8s-3".into()]).await?;
/// let plan = rollout_core::plan(&spec, &facts, resolver)?;
/// let printer = tokio::spawn(async move { while let Some(event) = events.next().await { println!("{event:?}"); } });
/// let summary = driver.run(plan).await?;
/// # drop(printer); let _ = summary; Ok(()) }
/// ```
pub struct Driver {
    spec: RolloutSpec,
    ports: Ports,
    user_checks: BTreeMap<String, Arc<dyn UserCheck>>,
    owner: String,
    take_over_stale_lock: bool,
    cancel: CancellationToken,
    events: mpsc::UnboundedSender<RolloutEvent>,
}

impl Driver {
    /// A driver and the stream of its events.
    pub fn new(spec: RolloutSpec, ports: Ports) -> (Self, EventStream) {
        let (events, receiver) = mpsc::unbounded_channel();
        let stream = futures::stream::unfold(receiver, |mut receiver| async move {
            receiver.recv().await.map(|event| (event, receiver))
        });
        let driver = Driver {
            spec,
            ports,
            user_checks: BTreeMap::new(),
            owner: std::env::var("USER").unwrap_or_else(|_| "rollout".to_owned()),
            take_over_stale_lock: false,
            cancel: CancellationToken::new(),
            events,
        };
        (driver, Box::pin(stream))
    }

    /// Registers a user check that gates name in the spec.
    pub fn user_check(mut self, check: Arc<dyn UserCheck>) -> Self {
        self.user_checks.insert(check.name().to_owned(), check);
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

    /// A token that stops the rollout between steps (in-flight steps finish and are journaled).
    pub fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Reads the facts planning needs from each node. A transient failure (a node mid-reboot,
    /// a dropped connection) is tried again a few times with a growing pause.
    ///
    /// # Errors
    /// [`Error::Port`] when a node cannot be read (after the retries for a transient failure).
    pub async fn discover(&self, cluster: &str, nodes: &[String]) -> crate::Result<ClusterFacts> {
        self.ports.discover(cluster, nodes).await
    }

    /// Runs `plan`, or resumes the unfinished rollout of the same cluster from its journal.
    ///
    /// # Errors
    /// - [`Error::LockHeld`] when another rollout holds the cluster lock;
    /// - [`Error::Journal`] when an unfinished journal belongs to a different spec;
    /// - [`Error::InvalidSpec`] when a gate names an unregistered user check or the plan needs
    ///   a tailnet port that was not given;
    /// - [`Error::Cancelled`] after cancellation (run again to resume);
    /// - [`Error::Io`] when the journal cannot be written.
    ///
    /// A failed node is not an error: see the returned [`Summary`].
    pub async fn run(&self, plan: Plan) -> crate::Result<Summary> {
        self.spec.validate()?;
        self.check_wiring(&plan)?;
        let dir = RolloutDir::new(&self.spec.artifacts_dir, &plan.cluster);
        let mut lock = ClusterLock::acquire(
            &dir.lock(),
            &plan.cluster,
            &self.owner,
            self.take_over_stale_lock,
        )?;
        let (plan, mut machine, mut journal) = match self.unfinished_journal(&dir)? {
            Some(contents) => {
                self.check_same_spec(&contents.plan, &dir)?;
                let live = self.live_state(&contents.plan).await;
                let options = self.machine_options();
                let now = self.ports.clock.now();
                let machine = Rollout::resume(
                    contents.plan.clone(),
                    &contents.entries,
                    &live,
                    options,
                    now,
                );
                let message = "resuming the unfinished rollout from its journal".to_owned();
                let _ = self.events.send(RolloutEvent::Warning {
                    node: None,
                    message,
                });
                (contents.plan, machine, Journal::open(&dir.journal())?)
            }
            None => {
                let journal = Journal::create(&dir.journal(), &plan)?;
                let machine =
                    Rollout::new(plan.clone(), self.machine_options(), self.ports.clock.now());
                (plan, machine, journal)
            }
        };
        let _ = self.events.send(RolloutEvent::Plan(Box::new(plan.clone())));
        let inner = Arc::new(self.inner(plan, dir));
        self.execute(&inner, &mut machine, &mut journal, &mut lock)
            .await
    }

    /// Rolls back nodes of the last rollout of `cluster`, one at a time (all changed nodes,
    /// last changed first, when `nodes` is empty), then halts.
    ///
    /// # Errors
    /// [`Error::Journal`] when there is no journal; [`Error::NothingToRollBack`] for a node
    /// the rollout never changed; otherwise as [`Driver::run`].
    pub async fn rollback(&self, cluster: &str, nodes: &[String]) -> crate::Result<Summary> {
        let dir = RolloutDir::new(&self.spec.artifacts_dir, cluster);
        let mut lock =
            ClusterLock::acquire(&dir.lock(), cluster, &self.owner, self.take_over_stale_lock)?;
        let contents = Journal::read(&dir.journal())?;
        let live = self.live_state(&contents.plan).await;
        let now = self.ports.clock.now();
        let mut machine = Rollout::resume(
            contents.plan.clone(),
            &contents.entries,
            &live,
            self.machine_options(),
            now,
        );
        let targets: Vec<String> = if nodes.is_empty() {
            let status = machine.status();
            status
                .iter()
                .rev()
                .filter(|s| s.completed.iter().any(|step| step.is_disruptive()))
                .map(|s| s.node.clone())
                .collect()
        } else {
            nodes.to_vec()
        };
        let inner = Arc::new(self.inner(contents.plan, dir.clone()));
        let mut journal = Journal::open(&dir.journal())?;
        let mut summary = None;
        for node in targets {
            machine.roll_back(&node, self.ports.clock.now())?;
            let outcome = self
                .execute(&inner, &mut machine, &mut journal, &mut lock)
                .await?;
            let failed = outcome
                .nodes
                .iter()
                .any(|(name, phase)| name == &node && *phase != crate::machine::Phase::RolledBack);
            summary = Some(outcome);
            if failed {
                break;
            }
        }
        summary.ok_or_else(|| Error::NothingToRollBack {
            node: cluster.to_owned(),
            reason: "no node was changed".into(),
        })
    }

    fn inner(&self, plan: Plan, dir: RolloutDir) -> Inner {
        Inner {
            spec: self.spec.clone(),
            ports: self.ports.clone(),
            plan,
            dir,
            user_checks: self.user_checks.clone(),
        }
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
            if !self.user_checks.contains_key(name) {
                return Err(Error::spec(
                    "gates",
                    format!("no user check named {name:?} is registered with the driver"),
                ));
            }
        }
        if self.ports.tailnet.is_none()
            && plan
                .nodes
                .iter()
                .any(|n| n.tailnet.is_some() && !n.is_skipped())
        {
            return Err(Error::spec(
                "extension_service_configs",
                "the plan verifies tailnet devices but the driver has no tailnet port; give one",
            ));
        }
        Ok(())
    }

    fn unfinished_journal(
        &self,
        dir: &RolloutDir,
    ) -> crate::Result<Option<crate::journal::JournalContents>> {
        if !dir.journal().exists() {
            return Ok(None);
        }
        let contents = Journal::read(&dir.journal())?;
        if contents.finished {
            dir.archive_journal(crate::journal::unix_ms())?;
            return Ok(None);
        }
        Ok(Some(contents))
    }

    fn check_same_spec(&self, journaled: &Plan, dir: &RolloutDir) -> crate::Result<()> {
        for node in &journaled.nodes {
            let planned = node.esc.as_ref().map(|esc| &esc.digest);
            let now = self
                .spec
                .extension_service_configs
                .get(&node.node)
                .map(crate::esc::digest);
            if planned.is_some() && planned != now.as_ref() {
                return Err(Error::Journal {
                    path: dir.journal(),
                    reason: format!(
                        "the unfinished rollout gave {} a different ExtensionServiceConfig than this spec; resume with \
                         the original spec, or roll back and move the journal aside",
                        node.node
                    ),
                });
            }
        }
        Ok(())
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
