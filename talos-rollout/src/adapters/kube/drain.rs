//! Drain as kubectl does it, on the client side: list the node's pods, sort them through
//! the filters (DaemonSet and mirror pods skipped, `emptyDir` only when allowed, unmanaged
//! pods only with force, the orchestrator's own pod never), evict the rest through the
//! Eviction API with 429 (and 503/504) retried on sdk-support's backoff until the drain timeout, and wait
//! until each evicted pod is gone (404, or a new UID under the same name).

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::api::policy::v1::Eviction;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{DeleteOptions, ObjectMeta};
use kube::api::{Api, ListParams, PostParams};
use rollout_core::PortError;
use sdk_support::backoff::{Backoff, retry};

use super::errors::{has_code, port_error, status};
use crate::ports::{BlockingPod, DrainReport, SkippedPod};

/// How a drain treats pods and how long it may take.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainOptions {
    /// The whole drain's limit (talosctl: 5 minutes).
    pub timeout: Duration,
    /// Evict pods with `emptyDir` volumes (their data is lost); talosctl does.
    pub delete_empty_dir_data: bool,
    /// Evict pods that no controller owns (they are not recreated anywhere).
    pub force: bool,
    /// The pods' grace period; `None` uses each pod's own `terminationGracePeriodSeconds`.
    pub grace_period: Option<Duration>,
    /// The waits between evictions a PodDisruptionBudget refused (429).
    pub retry: Backoff,
    /// How often an evicted pod is checked for being gone.
    pub poll: Duration,
    /// The pod this orchestrator runs in, if it runs inside the cluster: never evicted.
    pub own_pod: Option<OwnPod>,
}

impl Default for DrainOptions {
    /// 5 minutes, `emptyDir` data deleted, no force, 429 retried from 500 ms up to 5 s,
    /// the orchestrator's own pod from the environment ([`OwnPod::from_env`]).
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            delete_empty_dir_data: true,
            force: false,
            grace_period: None,
            retry: Backoff::new(Duration::from_millis(500), Duration::from_secs(5)),
            poll: Duration::from_millis(500),
            own_pod: OwnPod::from_env(),
        }
    }
}

impl DrainOptions {
    /// Sets the drain timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether pods with `emptyDir` volumes are evicted.
    pub fn delete_empty_dir_data(mut self, delete: bool) -> Self {
        self.delete_empty_dir_data = delete;
        self
    }

    /// Whether unmanaged pods are evicted.
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// The retry schedule after a 429 and the deletion poll interval.
    pub fn pacing(mut self, retry: Backoff, poll: Duration) -> Self {
        self.retry = retry;
        self.poll = poll;
        self
    }

    /// The orchestrator's own pod.
    pub fn own_pod(mut self, own_pod: Option<OwnPod>) -> Self {
        self.own_pod = own_pod;
        self
    }
}

/// The pod the orchestrator runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnPod {
    /// Its namespace, when known (`None` matches the name in any namespace).
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
}

impl OwnPod {
    /// From the downward API (`POD_NAMESPACE` + `POD_NAME`), or inside a cluster
    /// (`KUBERNETES_SERVICE_HOST` set) from `HOSTNAME`, which is the pod's name.
    pub fn from_env() -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(name) = var("POD_NAME") {
            return Some(Self {
                namespace: var("POD_NAMESPACE"),
                name,
            });
        }
        var("KUBERNETES_SERVICE_HOST")?;
        var("HOSTNAME").map(|name| Self {
            namespace: None,
            name,
        })
    }

    fn is(&self, namespace: &str, name: &str) -> bool {
        self.name == name && self.namespace.as_deref().is_none_or(|ns| ns == namespace)
    }
}

/// What the filters decided for one pod.
enum Verdict {
    Skip(String),
    Evict,
    Refuse(String),
}

fn verdict(pod: &Pod, options: &DrainOptions) -> Verdict {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    if options
        .own_pod
        .as_ref()
        .is_some_and(|own| own.is(namespace, name))
    {
        return Verdict::Skip(
            "the orchestrator runs in this pod; it does not evict itself".to_owned(),
        );
    }
    let terminal = matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    );
    let controller = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    if !terminal && controller.is_some_and(|o| o.kind == "DaemonSet" && o.api_version == "apps/v1")
    {
        return Verdict::Skip("DaemonSet pod".to_owned());
    }
    let mirror = pod
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"));
    if mirror {
        return Verdict::Skip("mirror (static) pod".to_owned());
    }
    let empty_dir = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|v| v.iter().any(|v| v.empty_dir.is_some()));
    if !terminal && empty_dir && !options.delete_empty_dir_data {
        return Verdict::Refuse(
            "has emptyDir data that eviction deletes; allow deleting emptyDir data to evict it"
                .to_owned(),
        );
    }
    if !terminal && controller.is_none() && !options.force {
        return Verdict::Refuse(
            "no controller owns it, so it would not come back; evict it with force or move it first".to_owned(),
        );
    }
    Verdict::Evict
}

fn pod_ref(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Drains `node`: returns the report, or a failure naming the blocking pods and budgets.
pub(crate) async fn drain(
    client: &kube::Client,
    node: &str,
    options: &DrainOptions,
) -> Result<DrainReport, (DrainReport, Option<PortError>)> {
    let started = Instant::now();
    let mut report = DrainReport::default();
    let nodes = Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| (report.clone(), Some(port_error("drain", node, e))))?;
    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
        .await
        .map_err(|e| (report.clone(), Some(port_error("drain", node, e))))?;
    let single_node = nodes.items.len() <= 1;
    let mut to_evict = Vec::new();
    for pod in pods.items {
        match verdict(&pod, options) {
            Verdict::Skip(reason) => report.skipped.push(SkippedPod {
                pod: pod_ref(&pod),
                reason,
            }),
            Verdict::Refuse(reason) => report.blocking.push(BlockingPod {
                pod: pod_ref(&pod),
                reason,
                pdb: None,
            }),
            Verdict::Evict if single_node => report.skipped.push(SkippedPod {
                pod: pod_ref(&pod),
                reason: "single-node cluster: no other node could run it, so the drain left it"
                    .to_owned(),
            }),
            Verdict::Evict => to_evict.push(pod),
        }
    }
    if !report.blocking.is_empty() {
        report.elapsed = started.elapsed();
        return Err((report, None));
    }
    let deadline = tokio::time::Instant::now() + options.timeout;
    let outcomes = futures::future::join_all(
        to_evict
            .iter()
            .map(|pod| evict_and_wait(client, pod, options, deadline)),
    )
    .await;
    for (pod, outcome) in to_evict.iter().zip(outcomes) {
        match outcome {
            Ok(()) => report.evicted.push(pod_ref(pod)),
            Err(Blocked::Pod(blocking)) => report.blocking.push(blocking),
            Err(Blocked::Api(error)) => {
                report.elapsed = started.elapsed();
                return Err((report, Some(error)));
            }
        }
    }
    report.elapsed = started.elapsed();
    if report.blocking.is_empty() {
        Ok(report)
    } else {
        Err((report, None))
    }
}

enum Blocked {
    Pod(BlockingPod),
    Api(PortError),
}

/// The PDB named in a 429's `DisruptionBudget` cause ("The disruption budget <name> needs …").
fn refusing_budget(refusal: &kube::core::Status) -> Option<String> {
    let details = refusal.details.as_ref()?;
    details.causes.iter().find_map(|cause| {
        let rest = cause.message.strip_prefix("The disruption budget ")?;
        rest.split_whitespace().next().map(str::to_owned)
    })
}

async fn evict_and_wait(
    client: &kube::Client,
    pod: &Pod,
    options: &DrainOptions,
    deadline: tokio::time::Instant,
) -> Result<(), Blocked> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone();
    let api = Api::<Pod>::namespaced(client.clone(), &namespace);
    let eviction = Eviction {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(namespace.clone()),
            ..ObjectMeta::default()
        },
        delete_options: options.grace_period.map(|grace| DeleteOptions {
            grace_period_seconds: Some(i64::try_from(grace.as_secs()).unwrap_or(i64::MAX)),
            ..DeleteOptions::default()
        }),
    };
    let policy = options.retry.without_max_retries();
    let mut last_refusal: Option<kube::core::Status> = None;
    let post = PostParams::default();
    let evicting = retry(
        &policy,
        || api.create_subresource::<_, serde_json::Value>("eviction", &name, &post, &eviction),
        |error| match status(error).map(|s| s.code) {
            Some(429) => {
                last_refusal = status(error).cloned();
                true
            }
            Some(503 | 504) => true,
            _ => false,
        },
        |error| {
            status(error)
                .and_then(|s| s.details.as_ref())
                .map(|d| Duration::from_secs(u64::from(d.retry_after_seconds)))
                .filter(|d| !d.is_zero())
        },
    );
    let pod_ref = format!("{namespace}/{name}");
    let outcome = tokio::time::timeout_at(deadline, evicting).await;
    match outcome {
        Ok(Ok(_)) => {}
        Ok(Err(error)) if has_code(&error, 404) => return Ok(()),
        Ok(Err(error)) => return Err(Blocked::Api(port_error("drain", &pod_ref, error))),
        Err(_) => {
            let (reason, pdb) = match &last_refusal {
                Some(refusal) => (
                    refusal
                        .details
                        .as_ref()
                        .and_then(|d| d.causes.first())
                        .map_or_else(|| refusal.message.clone(), |c| c.message.clone()),
                    refusing_budget(refusal),
                ),
                None => ("the eviction did not complete".to_owned(), None),
            };
            return Err(Blocked::Pod(BlockingPod {
                pod: pod_ref,
                reason: format!("not evicted before the drain timeout: {reason}"),
                pdb,
            }));
        }
    }
    wait_until_gone(&api, &name, uid.as_deref(), options.poll, deadline)
        .await
        .map_err(|blocked| match blocked {
            Some(error) => Blocked::Api(port_error("drain", &pod_ref, error)),
            None => Blocked::Pod(BlockingPod {
                pod: pod_ref.clone(),
                reason: "evicted but still terminating at the drain timeout".to_owned(),
                pdb: None,
            }),
        })
}

/// Polls until the pod is gone (404, or another pod under the same name); `Err(None)` at
/// the deadline.
async fn wait_until_gone(
    api: &Api<Pod>,
    name: &str,
    uid: Option<&str>,
    poll: Duration,
    deadline: tokio::time::Instant,
) -> Result<(), Option<kube::Error>> {
    loop {
        match api.get_opt(name).await {
            Ok(None) => return Ok(()),
            Ok(Some(pod)) if pod.metadata.uid.as_deref() != uid => return Ok(()),
            Ok(Some(_)) => {}
            Err(error) if has_code(&error, 503) || has_code(&error, 504) => {}
            Err(error) => return Err(Some(error)),
        }
        if tokio::time::Instant::now() + poll > deadline {
            return Err(None);
        }
        tokio::time::sleep(poll).await;
    }
}
