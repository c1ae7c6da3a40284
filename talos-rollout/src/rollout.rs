//! [`ExtensionRollout`]: the front door. One builder holds everything a rollout needs — the
//! Talos and Image Factory clients, the extension profile, the spec, the artifacts directory
//! — and one call runs the whole procedure in the safe order: validate every input, take the
//! cluster lock, discover, create the profile's credential, plan, write the 0600 patches,
//! then roll node by node. [`resume`](ExtensionRollout::resume) and
//! [`roll_back`](ExtensionRollout::roll_back) continue or undo a journaled rollout.

use std::path::PathBuf;
use std::sync::Arc;

use factory_client::FactoryClient;
use rollout_core::machine::Summary;
use rollout_core::plan::{Planned, SchematicResolver};
use rollout_core::{ClusterFacts, ExtensionRequest, Plan, RolloutSpec};
use talos_client::TalosClient;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::adapters::{FactoryAdapter, FactoryResolver, TalosAdapter};
use crate::driver::{Driver, EventStream, KillPoint, Ports};
use crate::event::RunEvent;
use crate::patch_store::PatchStore;
use crate::ports::{Clock, FactoryPort, KubePort, TalosPort, TokioClock};
use crate::profile::{Credential, ExtensionProfile, NamedCheck};

/// Builds an [`ExtensionRollout`]; nothing is contacted until a rollout method is called.
#[must_use]
pub struct ExtensionRolloutBuilder {
    talos: Option<Arc<dyn TalosPort>>,
    factory: Option<Arc<dyn FactoryPort>>,
    kube: Option<Arc<dyn KubePort>>,
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
}

impl ExtensionRollout {
    /// Starts a builder.
    pub fn builder() -> ExtensionRolloutBuilder {
        ExtensionRolloutBuilder {
            talos: None,
            factory: None,
            kube: None,
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
        let ports = Ports {
            talos,
            factory,
            kube: self.kube,
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
        let facts = self.discover().await?;
        let credential = self.profile.provision(true).await?;
        Ok(self.planned(&facts, credential.as_ref())?.plan)
    }

    /// Runs a new rollout: takes the cluster lock, discovers, creates the profile's
    /// credential, plans, writes the patches and records, then rolls node by node.
    ///
    /// A credential this run created is withdrawn if the rollout never starts.
    ///
    /// # Errors
    /// [`Error::LockHeld`]; [`Error::UnfinishedRollout`] when an unfinished rollout is
    /// journaled (resume or roll it back); discovery, credential and plan errors (nothing
    /// was changed); otherwise as [`Driver::start`].
    pub async fn run(&self) -> crate::Result<Summary> {
        // Checked before the lock too (reading changes nothing), so a crashed run's stale
        // lock does not hide the fact that it must be resumed rather than run again.
        self.refuse_unfinished()?;
        let mut lock = self.driver.lock(&self.cluster)?;
        self.refuse_unfinished()?;
        let facts = self.discover().await?;
        let credential = self.profile.provision(false).await?;
        if let Some(Credential {
            id: Some(id),
            minted: true,
            ..
        }) = &credential
        {
            self.driver.emit(RunEvent::CredentialProvisioned {
                profile: self.profile.name().to_owned(),
                id: id.clone(),
            });
        }
        let prepared = self
            .planned(&facts, credential.as_ref())
            .and_then(|planned| self.record(&planned, credential.as_ref()).map(|()| planned));
        let planned = match prepared {
            Ok(planned) => planned,
            Err(error) => return Err(self.abandon(credential, error).await),
        };
        let journal = self.driver.rollout_dir(&self.cluster).journal();
        match self.driver.start(&mut lock, planned).await {
            Err(error) if !journal.exists() => Err(self.abandon(credential, error).await),
            other => other,
        }
    }

    /// Continues the unfinished rollout journaled for this cluster.
    ///
    /// # Errors
    /// [`Error::NothingToResume`]; otherwise as [`Driver::resume`].
    pub async fn resume(&self) -> crate::Result<Summary> {
        let mut lock = self.driver.lock(&self.cluster)?;
        self.driver.resume(&mut lock, &self.cluster).await
    }

    /// Rolls back nodes of the last rollout (every changed node when `nodes` is empty).
    ///
    /// # Errors
    /// As [`Driver::rollback`].
    pub async fn roll_back(&self, nodes: &[String]) -> crate::Result<Summary> {
        let mut lock = self.driver.lock(&self.cluster)?;
        self.driver.rollback(&mut lock, &self.cluster, nodes).await
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

    fn planned(
        &self,
        facts: &ClusterFacts,
        credential: Option<&Credential>,
    ) -> crate::Result<Planned> {
        let mut request = ExtensionRequest {
            profile: self.profile.name().to_owned(),
            extensions: self.profile.extensions(),
            requires_config: self.profile.requires_config(),
            nodes: Default::default(),
        };
        for node in &facts.nodes {
            let extension = self.profile.node_extension(node, credential)?;
            request.nodes.insert(node.node.clone(), extension);
        }
        let resolver: &dyn SchematicResolver = &self.resolver;
        Ok(rollout_core::plan(&self.spec, facts, resolver, &request)?)
    }

    /// Writes the credential ID, the 0600 patches and the target schematics.
    fn record(&self, planned: &Planned, credential: Option<&Credential>) -> crate::Result<()> {
        let store = self.store();
        if let Some(Credential {
            id: Some(id),
            minted: true,
            ..
        }) = credential
        {
            store.write_credential_id(id)?;
        }
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
        Ok(())
    }

    /// Withdraws a credential this run minted before returning the error that stopped it.
    async fn abandon(&self, credential: Option<Credential>, error: Error) -> Error {
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
