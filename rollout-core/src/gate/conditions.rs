//! Ready-made conditions for the checks a rollout needs.

use super::condition::{Predicate, predicate};
use super::{GateInput, Needs};
use crate::facts::short_extension_name;

type Check = fn(&GateInput<'_>) -> Result<String, String>;

fn node_needs() -> Needs {
    Needs {
        node: true,
        ..Needs::default()
    }
}

fn cluster_needs() -> Needs {
    Needs {
        cluster: true,
        ..Needs::default()
    }
}

fn node<'a>(input: &GateInput<'a>) -> Result<&'a super::NodeObservation, String> {
    input.node.ok_or_else(|| "node not observed".to_owned())
}

/// `ClusterService.HealthCheck` passes (read through a control-plane node not being rolled).
pub fn cluster_healthy() -> Predicate<Check> {
    predicate("cluster healthy", cluster_needs(), |input| {
        match input.cluster.map(|cluster| &cluster.health) {
            Some(Ok(())) => Ok("health check passed".into()),
            Some(Err(message)) => Err(message.clone()),
            None => Err("cluster not observed".into()),
        }
    })
}

/// Every etcd member is healthy and there are `expected` of them.
pub fn etcd_healthy(
    expected: usize,
) -> Predicate<impl Fn(&GateInput<'_>) -> Result<String, String> + Send + Sync + use<>> {
    predicate(
        format!("etcd healthy with {expected} members"),
        cluster_needs(),
        move |input| {
            let cluster = input.cluster.ok_or("cluster not observed")?;
            let unhealthy: Vec<&str> = cluster
                .etcd_members
                .iter()
                .filter(|m| !m.healthy)
                .map(|m| m.name.as_str())
                .collect();
            if !unhealthy.is_empty() {
                return Err(format!("unhealthy members: {}", unhealthy.join(", ")));
            }
            let count = cluster.etcd_members.len();
            if count == expected {
                Ok(format!("{count} healthy members"))
            } else {
                Err(format!("{count} members, expected {expected}"))
            }
        },
    )
}

/// Machine stage running and ready.
pub fn machine_ready() -> Predicate<Check> {
    predicate("machine running and ready", node_needs(), |input| {
        if node(input)?.machine_ready {
            Ok("ready".into())
        } else {
            Err("not ready".into())
        }
    })
}

/// The name of [`node_ready`]'s check (no Talos event announces it).
pub const KUBERNETES_READY: &str = "kubernetes node ready";

/// Kubernetes node Ready.
pub fn node_ready() -> Predicate<Check> {
    predicate(KUBERNETES_READY, node_needs(), |input| {
        match node(input)?.kubernetes_ready {
            Some(true) => Ok("Ready".into()),
            Some(false) => Err("NotReady".into()),
            None => Err("node status unknown".into()),
        }
    })
}

/// The node is Ready in the Kubernetes API and that Ready is from the boot Talos runs now
/// (a Ready left from before the reboot does not count); with `pods`, every running pod on
/// the node is Ready too. Without a Kubernetes port there is nothing to read: it passes,
/// saying so, and [`node_ready`] (Talos `NodeStatus`) is the readiness check.
pub fn kubernetes_ready(pods: bool) -> Predicate<Check> {
    let needs = Needs {
        kubernetes: true,
        ..Needs::default()
    };
    if pods {
        predicate("kubernetes api node and pods ready", needs, |input| {
            kube_ready(input, true)
        })
    } else {
        predicate("kubernetes api node ready", needs, |input| {
            kube_ready(input, false)
        })
    }
}

fn kube_ready(input: &GateInput<'_>, pods: bool) -> Result<String, String> {
    let Some(kube) = input.kubernetes else {
        return Ok("no Kubernetes API: Talos NodeStatus only".into());
    };
    if !kube.ready {
        return Err("NotReady in the Kubernetes API".into());
    }
    if let (Some(reported), Some(running)) = (&kube.boot_id, &kube.talos_boot_id)
        && reported != running
    {
        return Err(format!(
            "Ready is from boot {reported}, Talos runs boot {running}: the kubelet has not reported since the reboot"
        ));
    }
    if pods && !kube.unready_pods.is_empty() {
        return Err(format!("pods not Ready: {}", kube.unready_pods.join(", ")));
    }
    Ok("Ready".into())
}

/// Runs the planned target version.
pub fn target_version() -> Predicate<Check> {
    predicate("target version", node_needs(), |input| {
        let running = &node(input)?.version;
        let want = &input.plan.to.version;
        if running == want {
            Ok(running.clone())
        } else {
            Err(format!("runs {running}, want {want}"))
        }
    })
}

/// Runs the planned target schematic.
pub fn target_schematic() -> Predicate<Check> {
    predicate("target schematic", node_needs(), |input| {
        let running = node(input)?
            .schematic_id
            .clone()
            .unwrap_or_else(|| "none".into());
        let want = input
            .plan
            .to
            .schematic_id
            .clone()
            .unwrap_or_else(|| "none".into());
        if running == want {
            Ok(running)
        } else {
            Err(format!("runs {running}, want {want}"))
        }
    })
}

/// Runs the original version and schematic again (after a rollback).
pub fn original_image() -> Predicate<Check> {
    predicate("original version and schematic", node_needs(), |input| {
        let observed = node(input)?;
        let from = &input.plan.from;
        if observed.version == from.version && observed.schematic_id == from.schematic_id {
            Ok(format!(
                "{} {}",
                observed.version,
                observed.schematic_id.as_deref().unwrap_or("none")
            ))
        } else {
            Err(format!(
                "runs {} {}",
                observed.version,
                observed.schematic_id.as_deref().unwrap_or("none")
            ))
        }
    })
}

/// An extension runs (compared by short name: `siderolabs/tailscale` ≙ `tailscale`).
pub fn extension_present(
    name: &str,
) -> Predicate<impl Fn(&GateInput<'_>) -> Result<String, String> + Send + Sync + use<>> {
    let wanted = short_extension_name(name).to_owned();
    predicate(
        format!("extension {name} present"),
        node_needs(),
        move |input| {
            let extensions = &node(input)?.extensions;
            if extensions.iter().any(|e| short_extension_name(e) == wanted) {
                Ok("running".into())
            } else {
                Err(format!("not running (running: {})", extensions.join(", ")))
            }
        },
    )
}

/// The planned ExtensionServiceConfig is in the machine config and Talos applied it.
pub fn esc_applied(
    name: &str,
) -> Predicate<impl Fn(&GateInput<'_>) -> Result<String, String> + Send + Sync + use<>> {
    let name = name.to_owned();
    predicate(
        format!("extension service config {name} applied"),
        node_needs(),
        move |input| {
            let observed = node(input)?;
            let want = input.plan.extension.esc.as_ref().map(|esc| &esc.digest);
            if want.is_some() && observed.esc_configured.get(&name) != want {
                return Err("machine config holds a different document".into());
            }
            if observed.esc_applied.contains(&name) {
                Ok("applied".into())
            } else {
                Err("no status yet".into())
            }
        },
    )
}

/// A service (e.g. `ext-tailscale`) is running and healthy.
pub fn service_running(
    id: &str,
) -> Predicate<impl Fn(&GateInput<'_>) -> Result<String, String> + Send + Sync + use<>> {
    let id = id.to_owned();
    predicate(
        format!("service {id} running"),
        node_needs(),
        move |input| match node(input)?.services.get(&id) {
            Some(service) if service.running && service.healthy => Ok("running".into()),
            Some(service) if service.running => Err("running but not healthy".into()),
            Some(_) => Err("not running".into()),
            None => Err("service not found".into()),
        },
    )
}

/// `net.ipv4.ip_forward` is 1.
pub fn ip_forward() -> Predicate<Check> {
    predicate("ip_forward = 1", node_needs(), |input| {
        match node(input)?.ip_forward {
            Some(true) => Ok("1".into()),
            Some(false) => Err("0: subnet routing will not work".into()),
            None => Err("unknown".into()),
        }
    })
}

/// A named check (a user gate or an extension profile's check, evaluated by the driver)
/// passed.
pub fn named(
    name: &str,
) -> Predicate<impl Fn(&GateInput<'_>) -> Result<String, String> + Send + Sync + use<>> {
    let key = name.to_owned();
    let needs = Needs {
        named: vec![key.clone()],
        ..Needs::default()
    };
    predicate(name.to_owned(), needs, move |input| {
        match input.named.get(&key) {
            Some(result) if result.passed => Ok(result.detail.clone()),
            Some(result) => Err(result.detail.clone()),
            None => Err("not evaluated".into()),
        }
    })
}
