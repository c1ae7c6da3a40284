//! [`ExtensionRollout`]: the front door. One builder holds everything a rollout needs — the
//! Talos and Image Factory clients, the extension profile, the spec, the artifacts directory
//! — and one call runs the whole procedure in the safe order: validate every input, take the
//! cluster lock, discover, create the profile's credential, plan, write the 0600 patches
//! and the recovery bundle, then roll node by node. [`resume`](ExtensionRollout::resume) and
//! [`roll_back`](ExtensionRollout::roll_back) continue or undo a journaled rollout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use factory_client::FactoryClient;
use rollout_core::machine::{Phase, Summary};
use rollout_core::plan::{NodePlan, Planned, SchematicResolver};
use rollout_core::{ClusterFacts, ExtensionRequest, Plan, RolloutSpec};
use secrecy::{ExposeSecret, SecretSlice};
use talos_client::TalosClient;
use talos_client::machine_config::ConfigDocuments;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::adapters::kube::{DrainOptions, KubeAdapter, LeaseSettings};
use crate::adapters::{FactoryAdapter, FactoryResolver, TalosAdapter};
use crate::driver::{Driver, EventStream, KillPoint, Ports};
use crate::event::RunEvent;
use crate::lease_lock::Locks;
use crate::originals::Originals;
use crate::patch_store::{CredentialIntent, PatchStore};
use crate::ports::{Clock, FactoryPort, KubePort, TalosPort, TokioClock};
use crate::profile::{Credential, ExtensionProfile, NamedCheck, Provision};

/// Builds an [`ExtensionRollout`]; nothing is contacted until a rollout method is called.
#[must_use]
pub struct ExtensionRolloutBuilder {
    talos: Option<Arc<dyn TalosPort>>,
    factory: Option<Arc<dyn FactoryPort>>,
    kube: Option<Arc<dyn KubePort>>,
    kube_client: Option<kube::Client>,
    lease_namespace: Option<String>,
    drain: DrainOptions,
    clock: Arc<dyn Clock>,
    factory_host: Option<String>,
    profile: Option<Arc<dyn ExtensionProfile>>,
    spec: RolloutSpec,
    cluster: Option<String>,
    nodes: Vec<String>,
    checks: Vec<Arc<dyn NamedCheck>>,
    owner: Option<String>,
    take_over_stale_lock: bool,
    kill_at: Option<KillPoint>,
}

/// A configured rollout of one extension profile onto one cluster.
///
/// # Usage
/// The seed procedure — Tailscale on every node, one at a time, verified, with the tailnet
/// device and its approved routes checked after each node:
/// ```no_run
/// # async fn seed(talos: talos_client::TalosClient, factory: factory_client::FactoryClient,
/// #     tailscale: tailscale_client::TailscaleClient) -> talos_rollout::Result<()> {
/// use futures::StreamExt;
/// use talos_rollout::ExtensionRollout;
/// use talos_rollout::profiles::TailscaleProfile;
///
/// let (rollout, mut events) = ExtensionRollout::builder()
///     .talos(talos)
///     .factory(factory)
///     .profile(TailscaleProfile::new(tailscale).tags(["tag:k8s"]).routes(["10.43.0.0/16"]))
///     .cluster("home")
///     .nodes(["10.0.0.2", "10.0.0.3", "10.0.0.4"])
///     .artifacts("rollout-artifacts")
///     .build()?;
/// tokio::spawn(async move { while let Some(event) = events.next().await { println!("{event:?}") } });
/// println!("{}", rollout.plan().await?);           // the dry run: nothing is changed
/// let summary = rollout.run().await?;              // or .resume() after an interruption
/// assert!(summary.succeeded());
/// # Ok(()) }
/// ```
pub struct ExtensionRollout {
    driver: Driver,
    profile: Arc<dyn ExtensionProfile>,
    spec: RolloutSpec,
    cluster: String,
    nodes: Vec<String>,
    resolver: FactoryResolver,
    kube_client: Option<kube::Client>,
    lease: LeaseSettings,
}

impl ExtensionRollout {
    /// Starts a builder.
    pub fn builder() -> ExtensionRolloutBuilder {
        ExtensionRolloutBuilder {
            talos: None,
            factory: None,
            kube: None,
            kube_client: None,
            lease_namespace: None,
            drain: DrainOptions::default(),
            clock: Arc::new(TokioClock),
            factory_host: None,
            profile: None,
            spec: RolloutSpec::default(),
            cluster: None,
            nodes: Vec::new(),
            checks: Vec::new(),
            owner: None,
            take_over_stale_lock: false,
            kill_at: None,
        }
    }
}

impl ExtensionRolloutBuilder {
    /// The Talos client (its talosconfig context reaches every node).
    pub fn talos(mut self, client: TalosClient) -> Self {
        self.talos = Some(Arc::new(TalosAdapter::new(client)));
        self
    }

    /// The Image Factory client; installer images name its registry host.
    pub fn factory(mut self, client: FactoryClient) -> Self {
        self.factory_host = Some(client.registry_host());
        self.factory = Some(Arc::new(FactoryAdapter::new(client)));
        self
    }

    /// The cluster's Kubernetes API: nodes are cordoned, drained and uncordoned around their
    /// reboot (lifecycle path), readiness is checked through it, and every writing call
    /// takes the cluster-wide Lease (see [`crate::adapters::kube::ClusterLease`]) before any
    /// side effect. Cordons are recorded with the rollout id `<owner>@<host>:<artifacts>`,
    /// which stays the same when the rollout is resumed from the same directory.
    pub fn kubernetes(mut self, client: kube::Client) -> Self {
        self.kube_client = Some(client);
        self
    }

    /// The namespace of the cluster Lease (default `kube-system`).
    pub fn lease_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.lease_namespace = Some(namespace.into());
        self
    }

    /// How nodes are drained (default: [`DrainOptions::default`]).
    pub fn drain_options(mut self, drain: DrainOptions) -> Self {
        self.drain = drain;
        self
    }

    /// Ports of your own (tests, other transports) instead of the clients; the factory host
    /// then comes from the spec.
    pub fn ports(mut self, ports: Ports) -> Self {
        self.talos = Some(ports.talos);
        self.factory = Some(ports.factory);
        self.kube = ports.kube;
        self.clock = ports.clock;
        self
    }

    /// The extension to roll out.
    pub fn profile(mut self, profile: impl ExtensionProfile + 'static) -> Self {
        self.profile = Some(Arc::new(profile));
        self
    }

    /// The extension to roll out, shared.
    pub fn shared_profile(mut self, profile: Arc<dyn ExtensionProfile>) -> Self {
        self.profile = Some(profile);
        self
    }

    /// Ordering, timeouts, failure policy, version, platform (default: [`RolloutSpec::default`]).
    pub fn spec(mut self, spec: RolloutSpec) -> Self {
        self.spec = spec;
        self
    }

    /// The cluster's name (its lock and artifacts directory are named after it).
    pub fn cluster(mut self, cluster: impl Into<String>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }

    /// The nodes to roll, as the Talos API targets them.
    pub fn nodes<S: Into<String>>(mut self, nodes: impl IntoIterator<Item = S>) -> Self {
        self.nodes = nodes.into_iter().map(Into::into).collect();
        self
    }

    /// Where the journal, lock, backups, patches and records live.
    pub fn artifacts(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spec.artifacts_dir = dir.into();
        self
    }

    /// A user check that the spec's gates name.
    pub fn named_check(mut self, check: Arc<dyn NamedCheck>) -> Self {
        self.checks.push(check);
        self
    }

    /// Names the lock owner (default `$USER`).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Takes over a cluster lock whose holder process is gone.
    pub fn take_over_stale_lock(mut self, take_over: bool) -> Self {
        self.take_over_stale_lock = take_over;
        self
    }

    /// For crash tests only: the process ends at `point` ([`Driver::kill_at`]).
    pub fn kill_at(mut self, point: KillPoint) -> Self {
        self.kill_at = Some(point);
        self
    }

    /// Checks every input (nothing is contacted) and builds the rollout and its event stream.
    ///
    /// # Errors
    /// [`rollout_core::Error::InvalidSpec`] for a missing client, profile, cluster or node
    /// list, or an invalid spec; [`rollout_core::Error::InvalidExtensionConfig`] for invalid
    /// profile settings.
    pub fn build(mut self) -> crate::Result<(ExtensionRollout, EventStream)> {
        let talos = self
            .talos
            .ok_or_else(|| Error::spec("talos", "give the Talos client (or ports)"))?;
        let factory = self
            .factory
            .ok_or_else(|| Error::spec("factory", "give the Image Factory client (or ports)"))?;
        let owner = self
            .owner
            .clone()
            .unwrap_or_else(crate::journal::default_owner);
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown".into());
        let rollout_id = format!("{owner}@{host}:{}", self.spec.artifacts_dir.display());
        let mut lease = LeaseSettings::new(owner, host, rollout_id.clone())
            .take_over_stale(self.take_over_stale_lock);
        if let Some(namespace) = self.lease_namespace {
            lease = lease.namespace(namespace);
        }
        let kube = self.kube.or_else(|| {
            self.kube_client.clone().map(|client| {
                Arc::new(KubeAdapter::new(client, rollout_id, self.drain)) as Arc<dyn KubePort>
            })
        });
        let ports = Ports {
            talos,
            factory,
            kube,
            clock: self.clock,
        };
        let profile = self
            .profile
            .ok_or_else(|| Error::spec("profile", "choose the extension profile to roll out"))?;
        let cluster = self
            .cluster
            .filter(|name| !name.trim().is_empty())
            .ok_or_else(|| {
                Error::spec(
                    "cluster",
                    "name the cluster (its lock and artifacts use the name)",
                )
            })?;
        if self.nodes.is_empty() || self.nodes.iter().any(|node| node.trim().is_empty()) {
            return Err(Error::spec(
                "nodes",
                "list the nodes to roll, as the Talos API targets them",
            ));
        }
        if let Some(host) = self.factory_host {
            self.spec.factory_host = host;
        }
        self.spec.validate()?;
        let warnings = profile.validate()?;
        let (mut driver, events) =
            Driver::new(ports, profile.clone(), self.spec.artifacts_dir.clone());
        for check in self.checks {
            driver = driver.named_check(check);
        }
        if let Some(owner) = self.owner {
            driver = driver.owner(owner);
        }
        // The spec's timeouts also apply to resuming and rolling back a journaled rollout.
        driver = driver
            .take_over_stale_lock(self.take_over_stale_lock)
            .timeouts(self.spec.timeouts.clone());
        if let Some(point) = self.kill_at {
            driver = driver.kill_at(point);
        }
        for message in warnings {
            driver.emit(RunEvent::Note {
                message: format!("{}: {message}", profile.name()),
            });
        }
        let rollout = ExtensionRollout {
            driver,
            profile,
            spec: self.spec,
            cluster,
            nodes: self.nodes,
            resolver: FactoryResolver,
            kube_client: self.kube_client,
            lease,
        };
        Ok((rollout, events))
    }
}

impl ExtensionRollout {
    /// A token that stops the rollout between two steps (resume continues it).
    pub fn cancellation(&self) -> CancellationToken {
        self.driver.cancellation()
    }

    /// The cluster's name.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The ports the rollout works through (for reports and final checks).
    pub fn ports(&self) -> &Ports {
        self.driver.ports()
    }

    /// The patches and records of this cluster's rollout.
    pub fn store(&self) -> PatchStore {
        PatchStore::new(self.driver.rollout_dir(&self.cluster))
    }

    /// The plan of the unfinished rollout journaled for this cluster, if any.
    ///
    /// # Errors
    /// [`Error::Journal`] when the journal is unreadable.
    pub fn unfinished(&self) -> crate::Result<Option<Plan>> {
        Ok(self
            .driver
            .unfinished(&self.cluster)?
            .map(|contents| contents.plan))
    }

    /// Reads what every node runs (nothing is changed).
    ///
    /// # Errors
    /// [`Error::Port`] when a node cannot be read.
    pub async fn discover(&self) -> crate::Result<ClusterFacts> {
        let facts = self
            .driver
            .ports()
            .discover(&self.cluster, &self.nodes)
            .await?;
        self.driver.emit(RunEvent::Discovered {
            facts: Box::new(facts.clone()),
        });
        Ok(facts)
    }

    /// The dry run: discovers and plans with a placeholder credential; nothing is created,
    /// written or changed.
    ///
    /// # Errors
    /// [`Error::Port`] from discovery; the core's errors for a refused plan.
    pub async fn plan(&self) -> crate::Result<Plan> {
        check_writable(&self.spec.artifacts_dir)?;
        let facts = self.discover().await?;
        let credential = self.profile.provision(Provision::DryRun).await?;
        Ok(self
            .planned(&facts, &BTreeMap::new(), credential.as_ref())?
            .plan)
    }

    /// Runs a new rollout: checks the artifacts directory, takes the cluster lock, discovers,
    /// plans, and — only when some node needs anything — records what each node ran
    /// originally (once, see [`crate::originals`]), creates the profile's credential for the
    /// nodes that cannot keep theirs, writes the patches and records, then rolls node by node.
    ///
    /// A converged cluster is "nothing to do": [`RunEvent::NothingToDo`], every node `Done`,
    /// nothing created or written. A credential this run created is withdrawn if the rollout
    /// never starts; an intent is recorded before it is created (and the credential is
    /// labelled with the rollout's ID), so even a crash in between leaves a trace: the next
    /// run, or [`abandon`](Self::abandon), withdraws it.
    ///
    /// # Errors
    /// [`Error::ArtifactsNotWritable`]; [`Error::LockHeld`];
    /// [`Error::UnfinishedRollout`] when an unfinished rollout is journaled (resume, roll
    /// back or abandon it); discovery, credential and plan errors (nothing was changed);
    /// otherwise as [`Driver::start`].
    pub async fn run(&self) -> crate::Result<Summary> {
        // Checked before the lock too (reading changes nothing), so a crashed run's stale
        // lock does not hide the fact that it must be resumed rather than run again.
        self.refuse_unfinished()?;
        check_writable(&self.spec.artifacts_dir)?;
        let mut locks = self.lock().await?;
        let result = self.run_locked(&mut locks).await;
        locks.release().await;
        result
    }

    /// Takes the cluster locks: the file lock, then the Lease when a Kubernetes API is given.
    async fn lock(&self) -> crate::Result<Locks> {
        let file = self.driver.lock(&self.cluster)?;
        let events = self.driver.event_sender();
        Locks::take(
            file,
            self.kube_client.as_ref(),
            self.lease.clone(),
            self.driver.cancellation(),
            move |event| {
                let _ = events.send(event.into());
            },
        )
        .await
    }

    async fn run_locked(&self, locks: &mut Locks) -> crate::Result<Summary> {
        let lock = &mut locks.file;
        self.refuse_unfinished()?;
        if !self.driver.rollout_dir(&self.cluster).journal().exists()
            && self.store().credential_intent().is_some()
        {
            let reclaimed = self.withdraw_recorded().await?;
            self.driver.emit(RunEvent::Note {
                message: format!(
                    "an earlier run stopped before its journal: withdrew {:?}, moved its records to {}",
                    reclaimed.withdrawn,
                    reclaimed.moved_to.display()
                ),
            });
        }
        let facts = self.discover().await?;
        let nodes: Vec<String> = facts.nodes.iter().map(|node| node.node.clone()).collect();
        let configs = self.driver.ports().machine_configs(&nodes).await?;
        let kept = self.reusable_credentials(&facts, &configs).await;
        let placeholder = self.profile.provision(Provision::DryRun).await?;
        let dry = self.planned(&facts, &kept, placeholder.as_ref())?;
        if dry.plan.nodes.iter().all(NodePlan::is_skipped) {
            return Ok(self.nothing_to_do(dry.plan));
        }
        self.begin_record(&facts, &configs)?;
        let needs_credential = dry
            .plan
            .nodes
            .iter()
            .any(|node| !node.is_skipped() && !kept.contains_key(&node.node));
        let credential = if needs_credential {
            self.mint().await?
        } else {
            None
        };
        let prepared = self
            .planned(&facts, &kept, credential.as_ref().or(placeholder.as_ref()))
            .and_then(|planned| self.record(&planned).map(|()| planned));
        let planned = match prepared {
            Ok(planned) => planned,
            Err(error) => return Err(self.withdraw(credential, error).await),
        };
        let journal = self.driver.rollout_dir(&self.cluster).journal();
        match self.driver.start(lock, planned).await {
            Err(error) if !journal.exists() => Err(self.withdraw(credential, error).await),
            other => other,
        }
    }

    /// Ends the unfinished or halted rollout journaled for this cluster without resuming it
    /// (or the records of a run that crashed before its journal): withdraws the credential
    /// it created (for Tailscale: revokes the auth key), also one created under its intent
    /// whose ID was never recorded, then moves
    /// its journal, backups, patches and records to `history/<unix ms>-abandoned/`. Nodes are
    /// left as they are (roll them back first if they should return to their originals);
    /// the originals stay.
    ///
    /// # Errors
    /// [`Error::LockHeld`]; [`Error::NothingToAbandon`] when no unfinished or halted rollout
    /// is journaled; [`Error::Io`] when its files cannot be moved. A credential that cannot
    /// be withdrawn is reported in the result, not as an error.
    pub async fn abandon(&self) -> crate::Result<Abandoned> {
        let locks = self.lock().await?;
        let result = self.abandon_locked().await;
        locks.release().await;
        result
    }

    async fn abandon_locked(&self) -> crate::Result<Abandoned> {
        let dir = self.driver.rollout_dir(&self.cluster);
        let path = dir.journal();
        let open = if path.exists() {
            let contents = crate::journal::Journal::read(&path)?;
            !contents.finished || halted(&contents.entries)
        } else {
            self.store().credential_intent().is_some()
        };
        if !open {
            return Err(Error::NothingToAbandon {
                cluster: self.cluster.clone(),
                path,
            });
        }
        self.withdraw_recorded().await
    }

    /// Continues the unfinished rollout journaled for this cluster.
    ///
    /// # Errors
    /// [`Error::NothingToResume`]; otherwise as [`Driver::resume`].
    pub async fn resume(&self) -> crate::Result<Summary> {
        let mut locks = self.lock().await?;
        let result = self.driver.resume(&mut locks.file, &self.cluster).await;
        locks.release().await;
        result
    }

    /// Rolls back nodes of the last rollout (every changed node when `nodes` is empty).
    ///
    /// # Errors
    /// As [`Driver::rollback`].
    /// A node the rollback reports `RolledBack` is then compared with its recorded original
    /// state (version, schematic, install image, extensions, extension service configs); one
    /// that is not home is an error, never a success.
    ///
    /// # Errors
    /// [`Error::NotAtOriginal`] naming what differs; otherwise as [`Driver::rollback`].
    pub async fn roll_back(&self, nodes: &[String]) -> crate::Result<Summary> {
        let mut locks = self.lock().await?;
        let result = self.roll_back_locked(&mut locks.file, nodes).await;
        locks.release().await;
        result
    }

    async fn roll_back_locked(
        &self,
        lock: &mut crate::journal::ClusterLock,
        nodes: &[String],
    ) -> crate::Result<Summary> {
        let summary = self.driver.rollback(lock, &self.cluster, nodes).await?;
        let originals = Originals::new(&self.driver.rollout_dir(&self.cluster));
        let talos = &self.driver.ports().talos;
        for (node, _) in summary.nodes.iter().filter(|(node, phase)| {
            *phase == Phase::RolledBack && (nodes.is_empty() || nodes.contains(node))
        }) {
            let now = talos.node_facts(node).await?;
            let Some(original) = originals.get(&now.nodename)? else {
                continue;
            };
            let differences = original.differences(&now);
            if !differences.is_empty() {
                return Err(Error::NotAtOriginal {
                    node: node.clone(),
                    differences,
                    path: originals.path(&now.nodename),
                });
            }
        }
        Ok(summary)
    }

    /// Withdraws the credentials the current rollout created — the recorded one, and any
    /// created under its intent whose ID was never recorded — then moves its files to
    /// `history/<unix ms>-abandoned/`.
    async fn withdraw_recorded(&self) -> crate::Result<Abandoned> {
        let store = self.store();
        let mut abandoned = Abandoned::default();
        if let Some(id) = store.credential_id() {
            let credential = Credential {
                id: Some(id.clone()),
                secret: secrecy::SecretString::from(String::new()),
                minted: true,
            };
            match self.profile.withdraw(&credential).await {
                Ok(()) => abandoned.withdrawn.push(id),
                Err(error) => abandoned.not_withdrawn.push((id, error.to_string())),
            }
        }
        if let Some(intent) = store.credential_intent() {
            match self.profile.withdraw_unrecorded(&intent.rollout).await {
                Ok(ids) => abandoned.withdrawn.extend(ids),
                Err(error) => abandoned.not_withdrawn.push((
                    crate::profile::credential_label(&intent.rollout),
                    error.to_string(),
                )),
            }
        }
        abandoned.withdrawn.dedup();
        for id in &abandoned.withdrawn {
            self.driver
                .emit(RunEvent::CredentialWithdrawn { id: id.clone() });
        }
        let dir = self.driver.rollout_dir(&self.cluster);
        abandoned.moved_to =
            dir.archive_rollout(&format!("{}-abandoned", crate::journal::unix_ms()))?;
        Ok(abandoned)
    }

    fn refuse_unfinished(&self) -> crate::Result<()> {
        if self.driver.unfinished(&self.cluster)?.is_some() {
            return Err(Error::UnfinishedRollout {
                cluster: self.cluster.clone(),
                path: self.driver.rollout_dir(&self.cluster).journal(),
            });
        }
        Ok(())
    }

    /// The plan with each node's credential: the one it keeps, else `credential`.
    fn planned(
        &self,
        facts: &ClusterFacts,
        kept: &BTreeMap<String, Credential>,
        credential: Option<&Credential>,
    ) -> crate::Result<Planned> {
        let mut request = ExtensionRequest {
            profile: self.profile.name().to_owned(),
            extensions: self.profile.extensions(),
            requires_config: self.profile.requires_config(),
            nodes: Default::default(),
        };
        for node in &facts.nodes {
            let credential = kept.get(&node.node).or(credential);
            let extension = self.profile.node_extension(node, credential)?;
            request.nodes.insert(node.node.clone(), extension);
        }
        let resolver: &dyn SchematicResolver = &self.resolver;
        Ok(rollout_core::plan(&self.spec, facts, resolver, &request)?)
    }

    /// The credentials nodes may keep (see [`ExtensionProfile::reusable_credential`]).
    async fn reusable_credentials(
        &self,
        facts: &ClusterFacts,
        configs: &BTreeMap<String, SecretSlice<u8>>,
    ) -> BTreeMap<String, Credential> {
        let mut kept = BTreeMap::new();
        for node in &facts.nodes {
            let current = configs
                .get(&node.node)
                .and_then(|config| ConfigDocuments::parse(config.expose_secret()).ok())
                .map(|documents| documents.extension_service_configs())
                .unwrap_or_default();
            if let Some(credential) = self.profile.reusable_credential(node, &current).await {
                kept.insert(node.node.clone(), credential);
            }
        }
        kept
    }

    fn nothing_to_do(&self, plan: Plan) -> Summary {
        let nodes = plan
            .nodes
            .iter()
            .map(|node| (node.node.clone(), Phase::Done))
            .collect();
        self.driver.emit(RunEvent::NothingToDo {
            plan: Box::new(plan),
        });
        Summary {
            nodes,
            halted_by: None,
        }
    }

    /// Starts this rollout's own records: moves an earlier, finished rollout's files to
    /// `history/`, and records the original state of every node seen for the first time.
    fn begin_record(
        &self,
        facts: &ClusterFacts,
        configs: &BTreeMap<String, SecretSlice<u8>>,
    ) -> crate::Result<()> {
        let dir = self.driver.rollout_dir(&self.cluster);
        if dir.journal().exists() {
            let moved = dir.archive_rollout(&crate::journal::unix_ms().to_string())?;
            self.driver.emit(RunEvent::Note {
                message: format!("moved the previous rollout's files to {}", moved.display()),
            });
        }
        let originals = Originals::new(&dir);
        for node in &facts.nodes {
            let Some(config) = configs.get(&node.node) else {
                continue;
            };
            if originals.record_once(node, config)? {
                self.driver.emit(RunEvent::OriginalRecorded {
                    node: node.node.clone(),
                    path: originals.path(&node.nodename),
                });
            }
        }
        Ok(())
    }

    /// Records the intent, creates the profile's credential and records its ID at once.
    async fn mint(&self) -> crate::Result<Option<Credential>> {
        let store = self.store();
        let at_unix_ms = crate::journal::unix_ms();
        let rollout = at_unix_ms.to_string();
        store.write_credential_intent(&CredentialIntent {
            rollout: rollout.clone(),
            profile: self.profile.name().to_owned(),
            at_unix_ms,
        })?;
        let credential = self
            .profile
            .provision(Provision::For { rollout: &rollout })
            .await?;
        let Some(Credential {
            id: Some(id),
            minted: true,
            ..
        }) = &credential
        else {
            return Ok(credential);
        };
        self.driver.emit(RunEvent::CredentialProvisioned {
            profile: self.profile.name().to_owned(),
            id: id.clone(),
        });
        if let Err(error) = store.write_credential_id(id) {
            return Err(self.withdraw(credential, error).await);
        }
        Ok(credential)
    }

    /// Writes the 0600 patches, the target schematics and the recovery bundle (`recovery/`:
    /// schematic ID, installers, RUNBOOK.md).
    fn record(&self, planned: &Planned) -> crate::Result<()> {
        let store = self.store();
        for (node, path) in store.write_patches(planned.configs())? {
            let environment = planned
                .configs()
                .get(&node)
                .map(rollout_core::esc::redacted_environment)
                .unwrap_or_default();
            self.driver.emit(RunEvent::PatchWritten {
                node,
                path,
                environment,
            });
        }
        for schematic in &planned.plan.schematics {
            let path = store.write_public(
                &format!("schematic-{}.yaml", schematic.id),
                schematic.yaml.as_bytes(),
            )?;
            self.driver.emit(RunEvent::SchematicRecorded {
                id: schematic.id.clone(),
                extensions: schematic.extensions.clone(),
                path,
            });
        }
        let recovery = crate::gitops::recovery::write_bundle(&store, &planned.plan)?;
        self.driver.emit(RunEvent::Note {
            message: format!(
                "recovery bundle (runbook, original installers): {}",
                recovery.display()
            ),
        });
        Ok(())
    }

    /// Withdraws a credential this run minted before returning the error that stopped it.
    async fn withdraw(&self, credential: Option<Credential>, error: Error) -> Error {
        let Some(credential) = credential.filter(|credential| credential.minted) else {
            return error;
        };
        match self.profile.withdraw(&credential).await {
            Ok(()) => {
                if let Some(id) = credential.id {
                    self.driver.emit(RunEvent::CredentialWithdrawn { id });
                }
            }
            Err(withdraw) => self.driver.emit(RunEvent::Note {
                message: format!(
                    "the credential this run created could not be withdrawn: {withdraw}"
                ),
            }),
        }
        error
    }
}

/// What [`ExtensionRollout::abandon`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Abandoned {
    /// IDs of the credentials withdrawn (revoked).
    pub withdrawn: Vec<String>,
    /// Credentials (IDs, or the label of unrecorded ones) that could not be withdrawn,
    /// with why: revoke them by hand.
    pub not_withdrawn: Vec<(String, String)>,
    /// Where the rollout's journal, backups, patches and records were moved.
    pub moved_to: PathBuf,
}

/// True when the journal's `Finished` entry names a node that halted the rollout.
fn halted(entries: &[rollout_core::JournalEntry]) -> bool {
    entries.iter().any(|entry| {
        matches!(entry, rollout_core::JournalEntry::Finished { summary } if summary.halted_by.is_some())
    })
}

/// Checks that files can be created under `dir` (or, when it does not exist yet, under its
/// nearest existing parent) without leaving anything behind.
///
/// # Errors
/// [`Error::ArtifactsNotWritable`] naming the directory that refused.
fn check_writable(dir: &Path) -> crate::Result<()> {
    let existing = dir
        .ancestors()
        .find(|candidate| candidate.as_os_str().is_empty() || candidate.exists())
        .unwrap_or(dir);
    let existing = if existing.as_os_str().is_empty() {
        Path::new(".")
    } else {
        existing
    };
    let probe = existing.join(format!(".talos-rollout-probe-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|source| Error::ArtifactsNotWritable {
            path: existing.to_owned(),
            source,
        })?;
    std::fs::remove_file(&probe).map_err(|e| Error::io("remove", &probe, e))
}
