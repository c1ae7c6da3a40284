//! Proof that the cluster can be administered over the tailnet: each node's Talos API
//! reached by its MagicDNS name with full TLS verification, and a service address the user
//! names reached through the subnet route. Only meaningful when the machine running the
//! rollout is itself on the tailnet; otherwise every probe says so instead of failing.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use talos_client::TalosClient;
use talos_client::identity::ClientIdentity;

use super::port::TailnetPort;

/// The Talos API port every node's apid listens on.
const TALOS_API_PORT: u16 = 50000;
/// How long `tailscale status --json` may take.
const STATUS_TIMEOUT: Duration = Duration::from_secs(5);
/// What every probe says when this machine is not on the tailnet.
pub const NOT_ON_TAILNET: &str = "not on the tailnet: connectivity not proven";

/// Where connections to tailnet names and addresses go instead of the system resolver
/// (the embedded sim maps them to loopback); TLS still verifies the name.
pub type TailnetResolver = Arc<dyn Fn() -> BTreeMap<String, SocketAddr> + Send + Sync>;

/// Whether this machine is on the tailnet.
#[derive(Clone)]
pub enum TailnetPresence {
    /// Ask the local tailscaled (`tailscale status --json`; on when `BackendState` is `Running`).
    Detect,
    /// Known in advance (the embedded sim: on; tests: either).
    Assume(bool),
}

/// Why a probe failed, with what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Diagnosis {
    /// The MagicDNS name does not resolve on this machine.
    NameDoesNotResolve,
    /// The node's certificate does not carry the name.
    TlsNameMismatch,
    /// The address is not routed to the tailnet on this machine.
    RouteNotAccepted,
    /// Anything else (connection refused, timeout, API error).
    Unreachable,
}

impl Diagnosis {
    /// What to do about it.
    pub fn advice(self) -> &'static str {
        match self {
            Self::NameDoesNotResolve => {
                "the name does not resolve: turn MagicDNS on for the tailnet and let this machine use it (tailscale set --accept-dns)"
            }
            Self::TlsNameMismatch => {
                "TLS name mismatch: the node's certificate does not carry this name; add it to machine.certSANs (the Tailscale profile does unless told not to)"
            }
            Self::RouteNotAccepted => {
                "route not accepted on this client: run `tailscale set --accept-routes` here, and check that the node's routes are approved"
            }
            Self::Unreachable => {
                "unreachable over the tailnet: check that the node's device is online"
            }
        }
    }
}

/// One probe's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// Reached; `detail` says what answered.
    Reached {
        /// E.g. the Talos version.
        detail: String,
    },
    /// Not tried (this machine is not on the tailnet, nothing to probe).
    NotProven {
        /// Why.
        reason: String,
    },
    /// Tried and failed.
    Failed {
        /// The recognised cause.
        diagnosis: Diagnosis,
        /// The underlying error.
        detail: String,
    },
}

/// A named probe of one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeReport {
    /// The gate name, e.g. `talos api over tailnet`.
    pub name: String,
    /// What was probed (`k8s-1.tail1234.ts.net:50000`).
    pub target: String,
    /// The outcome.
    #[serde(flatten)]
    pub outcome: ProbeOutcome,
}

impl ProbeReport {
    /// True unless the probe was tried and failed ("not proven" does not fail).
    pub fn passed(&self) -> bool {
        !matches!(self.outcome, ProbeOutcome::Failed { .. })
    }

    /// One line for gates and humans.
    pub fn detail(&self) -> String {
        match &self.outcome {
            ProbeOutcome::Reached { detail } => format!("{}: {detail}", self.target),
            ProbeOutcome::NotProven { reason } => reason.clone(),
            ProbeOutcome::Failed { diagnosis, detail } => {
                format!("{}: {} ({detail})", self.target, diagnosis.advice())
            }
        }
    }
}

/// The gate name of the Talos API probe.
pub const TALOS_API_OVER_TAILNET: &str = "talos api over tailnet";
/// The gate name of the service probe.
pub const SERVICE_OVER_TAILNET: &str = "service over tailnet";

/// Probes nodes over the tailnet with the talosconfig's identity.
///
/// # Usage
/// ```no_run
/// # async fn probe(identity: talos_client::identity::ClientIdentity) {
/// use talos_rollout::profiles::tailscale::{ConnectivityProbe, TailnetPresence};
/// let probe = ConnectivityProbe::new(identity)
///     .presence(TailnetPresence::Detect)
///     .service("10.43.0.10:53".parse().unwrap());
/// let report = probe.talos_api("k8s-1.tail1234.ts.net").await;
/// println!("{}: {}", report.name, report.detail());
/// # }
/// ```
#[derive(Clone)]
pub struct ConnectivityProbe {
    identity: ClientIdentity,
    presence: TailnetPresence,
    resolver: Option<TailnetResolver>,
    service: Option<SocketAddr>,
    timeout: Duration,
}

impl std::fmt::Debug for ConnectivityProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectivityProbe")
            .field("service", &self.service)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ConnectivityProbe {
    /// Probes with this identity (the talosconfig's CA is the only trust anchor); detects
    /// whether this machine is on the tailnet; 10 s per probe.
    pub fn new(identity: ClientIdentity) -> Self {
        Self {
            identity,
            presence: TailnetPresence::Detect,
            resolver: None,
            service: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// Whether this machine is on the tailnet (default: detect).
    pub fn presence(mut self, presence: TailnetPresence) -> Self {
        self.presence = presence;
        self
    }

    /// Where tailnet names and addresses lead instead of the system resolver.
    pub fn resolver(mut self, resolver: TailnetResolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// A service address to reach through the subnet route (e.g. the cluster DNS
    /// `10.43.0.10:53`).
    pub fn service(mut self, address: SocketAddr) -> Self {
        self.service = Some(address);
        self
    }

    /// The time limit of each probe.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The service address to probe, if any.
    pub fn service_address(&self) -> Option<SocketAddr> {
        self.service
    }

    /// `Ok` when this machine is on the tailnet, else why not.
    pub async fn on_tailnet(&self) -> Result<(), String> {
        match self.presence {
            TailnetPresence::Assume(true) => Ok(()),
            TailnetPresence::Assume(false) => Err(NOT_ON_TAILNET.to_owned()),
            TailnetPresence::Detect => detect_local_tailscaled().await,
        }
    }

    /// `Version` from the node's apid reached by `name` (its MagicDNS name), verifying
    /// the node's certificate against that name.
    pub async fn talos_api(&self, name: &str) -> ProbeReport {
        let target = format!("{name}:{TALOS_API_PORT}");
        let outcome = match self.on_tailnet().await {
            Err(reason) => ProbeOutcome::NotProven { reason },
            Ok(()) => self.talos_version(name).await,
        };
        ProbeReport {
            name: TALOS_API_OVER_TAILNET.to_owned(),
            target,
            outcome,
        }
    }

    /// A TCP connection to the service address, through the subnet route.
    pub async fn service_reachable(&self) -> Option<ProbeReport> {
        let address = self.service?;
        let outcome = match self.on_tailnet().await {
            Err(reason) => ProbeOutcome::NotProven { reason },
            Ok(()) => {
                let target = self.resolved(&address.ip().to_string()).unwrap_or(address);
                match tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(target))
                    .await
                {
                    Ok(Ok(_)) => ProbeOutcome::Reached {
                        detail: "TCP connection accepted".to_owned(),
                    },
                    Ok(Err(error)) => ProbeOutcome::Failed {
                        diagnosis: Diagnosis::RouteNotAccepted,
                        detail: error.to_string(),
                    },
                    Err(_) => ProbeOutcome::Failed {
                        diagnosis: Diagnosis::RouteNotAccepted,
                        detail: format!("no answer within {:?}", self.timeout),
                    },
                }
            }
        };
        Some(ProbeReport {
            name: SERVICE_OVER_TAILNET.to_owned(),
            target: address.to_string(),
            outcome,
        })
    }

    /// Every probe for the node whose tailnet device has `hostname`: the Talos API by
    /// the device's MagicDNS name, then the service address when one is set.
    pub async fn probe_node(&self, tailnet: &dyn TailnetPort, hostname: &str) -> Vec<ProbeReport> {
        let not_proven = |reason: String| ProbeReport {
            name: TALOS_API_OVER_TAILNET.to_owned(),
            target: hostname.to_owned(),
            outcome: ProbeOutcome::NotProven { reason },
        };
        let name = match tailnet.device(hostname).await {
            Ok(Some(device)) if !device.dns_name.is_empty() => device.dns_name,
            Ok(_) => {
                return vec![not_proven(format!(
                    "no tailnet device with hostname {hostname}"
                ))];
            }
            Err(error) => return vec![not_proven(format!("tailnet not observed: {error}"))],
        };
        let mut reports = vec![self.talos_api(&name).await];
        reports.extend(self.service_reachable().await);
        reports
    }

    fn resolved(&self, host: &str) -> Option<SocketAddr> {
        let resolver = self.resolver.as_ref()?;
        resolver().get(host).copied()
    }

    async fn talos_version(&self, name: &str) -> ProbeOutcome {
        let mut builder = TalosClient::builder()
            .endpoint(name)
            .identity(self.identity.clone())
            .connect_timeout(self.timeout)
            .request_timeout(self.timeout);
        if let Some(address) = self.resolved(name) {
            builder = builder.resolve(name, address);
        }
        let client = match builder.build() {
            Ok(client) => client,
            Err(error) => {
                return ProbeOutcome::Failed {
                    diagnosis: Diagnosis::Unreachable,
                    detail: error.to_string(),
                };
            }
        };
        match client.endpoint_node().version().await {
            Ok(version) => ProbeOutcome::Reached {
                detail: format!("Talos {}", version.tag),
            },
            Err(error) => {
                let detail = error.to_string();
                ProbeOutcome::Failed {
                    diagnosis: diagnose(&detail),
                    detail,
                }
            }
        }
    }
}

/// Recognises the cause in a Talos client error's text.
fn diagnose(detail: &str) -> Diagnosis {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("not valid for name") || lower.contains("notvalidforname") {
        Diagnosis::TlsNameMismatch
    } else if lower.contains("failed to lookup")
        || lower.contains("name or service not known")
        || lower.contains("no such host")
        || lower.contains("nodename nor servname")
    {
        Diagnosis::NameDoesNotResolve
    } else {
        Diagnosis::Unreachable
    }
}

/// Asks the local tailscaled whether this machine is logged in to a tailnet.
async fn detect_local_tailscaled() -> Result<(), String> {
    let output = tokio::process::Command::new("tailscale")
        .args(["status", "--json"])
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(STATUS_TIMEOUT, output).await {
        Ok(Ok(output)) => output,
        Ok(Err(error)) => {
            return Err(format!("{NOT_ON_TAILNET} (no tailscale CLI here: {error})"));
        }
        Err(_) => {
            return Err(format!(
                "{NOT_ON_TAILNET} (tailscale status did not answer)"
            ));
        }
    };
    let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    match status
        .get("BackendState")
        .and_then(serde_json::Value::as_str)
    {
        Some("Running") => Ok(()),
        Some(state) => Err(format!("{NOT_ON_TAILNET} (tailscaled is {state})")),
        None => Err(format!("{NOT_ON_TAILNET} (tailscaled is not running here)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_recognised() {
        assert_eq!(
            diagnose(
                "invalid peer certificate: certificate not valid for name \"k8s-1.tail1234.ts.net\""
            ),
            Diagnosis::TlsNameMismatch
        );
        assert_eq!(
            diagnose("dns error: failed to lookup address information: Name or service not known"),
            Diagnosis::NameDoesNotResolve
        );
        assert_eq!(diagnose("connection refused"), Diagnosis::Unreachable);
    }
}
