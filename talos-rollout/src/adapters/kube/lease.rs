//! The cluster-wide lock in the cluster itself: a `coordination.k8s.io/v1` Lease naming the
//! holder, its host and the rollout id, taken by GET + create/PUT with the resourceVersion
//! read (so two writers never both win), renewed while the rollout runs, released at the
//! end; a stale lease is taken over only when asked.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};
use rollout_core::PortError;
use tokio::sync::Mutex;

use super::errors::{has_code, port_error};

/// The annotation naming the rollout that holds the lease.
pub const ROLLOUT_ID_ANNOTATION: &str = "talos-rollout/rollout-id";
/// The annotation naming the host the holder runs on.
pub const HOST_ANNOTATION: &str = "talos-rollout/host";

/// Who takes the lease, where, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LeaseSettings {
    /// The Lease's namespace (default `kube-system`).
    pub namespace: String,
    /// The Lease's name (default `talos-rollout`).
    pub name: String,
    /// `spec.holderIdentity`, e.g. `alice@laptop`.
    pub holder: String,
    /// The host the holder runs on.
    pub host: String,
    /// The rollout's id.
    pub rollout_id: String,
    /// How long the lease stays valid without a renewal.
    pub duration: Duration,
    /// Take over a lease whose holder stopped renewing it.
    pub take_over_stale: bool,
}

impl LeaseSettings {
    /// `kube-system/talos-rollout`, held for 60 s per renewal, no take-over.
    pub fn new(
        holder: impl Into<String>,
        host: impl Into<String>,
        rollout_id: impl Into<String>,
    ) -> Self {
        Self {
            namespace: "kube-system".to_owned(),
            name: "talos-rollout".to_owned(),
            holder: holder.into(),
            host: host.into(),
            rollout_id: rollout_id.into(),
            duration: Duration::from_secs(60),
            take_over_stale: false,
        }
    }

    /// Puts the Lease in `namespace`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets the validity without renewal.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = duration;
        self
    }

    /// Whether a stale lease may be taken over.
    pub fn take_over_stale(mut self, take_over: bool) -> Self {
        self.take_over_stale = take_over;
        self
    }
}

/// Who holds a lease, as recorded in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// `spec.holderIdentity`.
    pub holder: String,
    /// The host annotation, if any.
    pub host: Option<String>,
    /// The rollout id annotation, if any.
    pub rollout_id: Option<String>,
    /// When it was last renewed.
    pub renewed: Option<String>,
}

impl std::fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.holder)?;
        if let Some(host) = &self.host {
            write!(f, " on {host}")?;
        }
        if let Some(id) = &self.rollout_id {
            write!(f, ", rollout {id}")?;
        }
        if let Some(renewed) = &self.renewed {
            write!(f, ", last renewed {renewed}")?;
        }
        Ok(())
    }
}

/// Why the lease could not be taken or kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// Another rollout holds a valid lease.
    #[error("another rollout holds the cluster lease {lease}: {holder}; wait for it to finish")]
    Held {
        /// `namespace/name`.
        lease: String,
        /// The current holder.
        holder: LeaseHolder,
    },
    /// The lease's holder stopped renewing it, and take-over was not asked for.
    #[error(
        "the cluster lease {lease} is stale (held by {holder}); if that rollout is gone, take the lease over"
    )]
    Stale {
        /// `namespace/name`.
        lease: String,
        /// The last holder.
        holder: LeaseHolder,
    },
    /// Someone else wrote the lease since it was read (another rollout won a race, or took
    /// a lease this one failed to renew).
    #[error(
        "the cluster lease {lease} was taken by someone else meanwhile; stop and check who runs against this cluster"
    )]
    Lost {
        /// `namespace/name`.
        lease: String,
    },
    /// The Kubernetes API failed.
    #[error(transparent)]
    Api(#[from] PortError),
}

/// A lease this process holds.
#[derive(Debug)]
pub struct ClusterLease {
    api: Api<Lease>,
    settings: LeaseSettings,
    current: Mutex<Lease>,
}

impl ClusterLease {
    /// Takes the lease: creates it, re-takes a released one, renews one this rollout holds,
    /// takes over a stale one when asked; refuses a valid one held by someone else.
    ///
    /// # Errors
    ///
    /// [`LeaseError::Held`], [`LeaseError::Stale`], [`LeaseError::Lost`] (a race), or
    /// [`LeaseError::Api`].
    pub async fn acquire(
        client: &kube::Client,
        settings: LeaseSettings,
    ) -> Result<Self, LeaseError> {
        let api = Api::<Lease>::namespaced(client.clone(), &settings.namespace);
        let label = format!("{}/{}", settings.namespace, settings.name);
        let existing = api
            .get_opt(&settings.name)
            .await
            .map_err(|e| port_error("acquire lease", &label, e))?;
        let lease = match existing {
            None => {
                let lease = record(&settings, None);
                api.create(&PostParams::default(), &lease)
                    .await
                    .map_err(|e| lost_or_api(e, "acquire lease", &label))?
            }
            Some(existing) => {
                let holder = holder_of(&existing);
                let ours = holder.rollout_id.as_deref() == Some(settings.rollout_id.as_str());
                let released = holder.holder.is_empty();
                if !ours && !released {
                    if is_valid(&existing) {
                        return Err(LeaseError::Held {
                            lease: label,
                            holder,
                        });
                    }
                    if !settings.take_over_stale {
                        return Err(LeaseError::Stale {
                            lease: label,
                            holder,
                        });
                    }
                }
                let lease = record(&settings, Some(&existing));
                api.replace(&settings.name, &PostParams::default(), &lease)
                    .await
                    .map_err(|e| lost_or_api(e, "acquire lease", &label))?
            }
        };
        Ok(Self {
            api,
            settings,
            current: Mutex::new(lease),
        })
    }

    /// Renews the lease (PUT with the resourceVersion last written).
    ///
    /// # Errors
    ///
    /// [`LeaseError::Lost`] when someone else wrote it meanwhile; [`LeaseError::Api`].
    pub async fn renew(&self) -> Result<(), LeaseError> {
        let mut current = self.current.lock().await;
        let mut lease = current.clone();
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        *current = self
            .api
            .replace(&self.settings.name, &PostParams::default(), &lease)
            .await
            .map_err(|e| lost_or_api(e, "renew lease", &self.label()))?;
        Ok(())
    }

    /// Releases the lease (empty holder, duration 1 s, as client-go does).
    ///
    /// # Errors
    ///
    /// [`LeaseError::Lost`] when someone else wrote it meanwhile; [`LeaseError::Api`].
    pub async fn release(self) -> Result<(), LeaseError> {
        let mut lease = self.current.into_inner();
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        spec.holder_identity = Some(String::new());
        spec.lease_duration_seconds = Some(1);
        let label = format!("{}/{}", self.settings.namespace, self.settings.name);
        self.api
            .replace(&self.settings.name, &PostParams::default(), &lease)
            .await
            .map_err(|e| lost_or_api(e, "release lease", &label))?;
        Ok(())
    }

    /// How often to renew: a third of the lease duration.
    pub fn renew_interval(&self) -> Duration {
        self.settings.duration / 3
    }

    fn label(&self) -> String {
        format!("{}/{}", self.settings.namespace, self.settings.name)
    }
}

fn lost_or_api(error: kube::Error, operation: &str, label: &str) -> LeaseError {
    if has_code(&error, 409) {
        LeaseError::Lost {
            lease: label.to_owned(),
        }
    } else {
        LeaseError::Api(port_error(operation, label, error))
    }
}

/// The lease as this holder writes it, over `existing` (keeping its resourceVersion).
fn record(settings: &LeaseSettings, existing: Option<&Lease>) -> Lease {
    let now = MicroTime(Timestamp::now());
    let previous = existing.and_then(|l| l.spec.clone()).unwrap_or_default();
    let same_holder = previous.holder_identity.as_deref() == Some(settings.holder.as_str());
    let transitions =
        previous.lease_transitions.unwrap_or(0) + i32::from(existing.is_some() && !same_holder);
    let mut annotations = existing
        .and_then(|l| l.metadata.annotations.clone())
        .unwrap_or_default();
    annotations.insert(
        ROLLOUT_ID_ANNOTATION.to_owned(),
        settings.rollout_id.clone(),
    );
    annotations.insert(HOST_ANNOTATION.to_owned(), settings.host.clone());
    Lease {
        metadata: ObjectMeta {
            name: Some(settings.name.clone()),
            namespace: Some(settings.namespace.clone()),
            resource_version: existing.and_then(|l| l.metadata.resource_version.clone()),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(settings.holder.clone()),
            lease_duration_seconds: Some(
                i32::try_from(settings.duration.as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: if same_holder {
                previous.acquire_time
            } else {
                Some(now.clone())
            },
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }),
    }
}

fn holder_of(lease: &Lease) -> LeaseHolder {
    let annotation = |key: &str| {
        lease
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key).cloned())
    };
    let spec = lease.spec.clone().unwrap_or_default();
    LeaseHolder {
        holder: spec.holder_identity.unwrap_or_default(),
        host: annotation(HOST_ANNOTATION),
        rollout_id: annotation(ROLLOUT_ID_ANNOTATION),
        renewed: spec.renew_time.map(|t| t.0.to_string()),
    }
}

/// Whether the lease's last renewal plus its duration is still ahead.
///
/// # Caveats
///
/// This compares the writer's clock (renewTime) with the local one; client-go instead
/// times validity from when it last saw the record change, which ignores skew.
fn is_valid(lease: &Lease) -> bool {
    let Some(spec) = &lease.spec else {
        return false;
    };
    let Some(since) = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) else {
        return false;
    };
    let duration = SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
    since
        .0
        .checked_add(duration)
        .is_ok_and(|until| until > Timestamp::now())
}
