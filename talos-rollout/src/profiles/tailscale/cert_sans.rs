//! The post-verify action that lets a node be administered by its tailnet name: the
//! device's MagicDNS name and tailnet addresses join `machine.certSANs` (and
//! `cluster.apiServer.certSANs` on control-plane nodes), applied with NO_REBOOT.
//!
//! Talos applies certSANs changes to a running node (they are among the fields its
//! "apply immediately" check accepts; apid's certificate is re-issued), so the edit never
//! adds a reboot; should a Talos version refuse it without one, the NO_REBOOT apply fails
//! and the gate says so instead of rebooting. A rollback restores the backed-up config,
//! which removes exactly these entries; `ConfigDocuments::remove_cert_sans` undoes them by
//! hand.

use rollout_core::facts::NodeRole;
use rollout_core::plan::NodePlan;
use rollout_core::{PortError, PortErrorKind};
use secrecy::{ExposeSecret, SecretSlice};
use talos_client::machine_config::{CertSans, Change, ConfigDocuments, MachineConfigError};

use super::port::DeviceObservation;
use crate::ports::TalosPort;

/// The action name in a node's post-verify steps.
pub const ADD_TAILNET_CERT_SANS: &str = "add tailnet names to certSANs";

/// `config` with the device's MagicDNS name and addresses added to `machine.certSANs`
/// (and `cluster.apiServer.certSANs` when `control_plane`), every other byte unchanged;
/// `None` when they are all there already.
///
/// # Errors
///
/// [`MachineConfigError`] when the config cannot be parsed or the lists edited in place.
pub fn tailnet_cert_sans(
    config: &[u8],
    device: &DeviceObservation,
    control_plane: bool,
) -> Result<Option<Vec<u8>>, MachineConfigError> {
    let mut sans = Vec::new();
    if !device.dns_name.is_empty() {
        sans.push(device.dns_name.clone());
    }
    sans.extend(device.addresses.iter().cloned());
    let mut documents = ConfigDocuments::parse(config)?;
    let mut changed = documents.add_cert_sans(CertSans::Machine, &sans)? != Change::Unchanged;
    if control_plane {
        changed |= documents.add_cert_sans(CertSans::ApiServer, &sans)? != Change::Unchanged;
    }
    Ok(changed.then(|| documents.to_bytes()))
}

/// Adds the device's names to the node's certSANs and applies the config (NO_REBOOT).
pub(super) async fn add(
    talos: &dyn TalosPort,
    node: &NodePlan,
    device: &DeviceObservation,
) -> Result<(), PortError> {
    let config = talos.read_machine_config(&node.node).await?;
    let edited = tailnet_cert_sans(
        config.expose_secret(),
        device,
        node.role == NodeRole::ControlPlane,
    )
    .map_err(|error| {
        PortError::new(
            "talos",
            ADD_TAILNET_CERT_SANS,
            PortErrorKind::Rejected,
            format!("{error}; or turn the certSANs edit off and add the names yourself"),
        )
    })?;
    match edited {
        Some(bytes) => {
            talos
                .apply_machine_config(&node.node, &SecretSlice::from(bytes))
                .await
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const CONFIG: &str = "version: v1alpha1\nmachine:\n    type: controlplane\n    certSANs: []\ncluster:\n    clusterName: sim\n";

    fn device() -> DeviceObservation {
        DeviceObservation {
            hostname: "k8s-1".into(),
            online: true,
            advertised_routes: Vec::new(),
            enabled_routes: Vec::new(),
            dns_name: "k8s-1.tail1234.ts.net".into(),
            addresses: vec!["100.64.0.1".into(), "fd7a:115c:a1e0::1".into()],
        }
    }

    #[test]
    fn control_plane_nodes_get_both_lists_workers_only_the_machine_list() {
        let control_plane = tailnet_cert_sans(CONFIG.as_bytes(), &device(), true)
            .unwrap()
            .unwrap();
        let documents = ConfigDocuments::parse(&control_plane).unwrap();
        let expected = ["k8s-1.tail1234.ts.net", "100.64.0.1", "fd7a:115c:a1e0::1"];
        assert_eq!(documents.cert_sans(CertSans::Machine), expected);
        assert_eq!(documents.cert_sans(CertSans::ApiServer), expected);

        let worker = tailnet_cert_sans(CONFIG.as_bytes(), &device(), false)
            .unwrap()
            .unwrap();
        let documents = ConfigDocuments::parse(&worker).unwrap();
        assert!(documents.cert_sans(CertSans::ApiServer).is_empty());
    }

    #[test]
    fn a_config_that_has_them_is_left_alone() {
        let once = tailnet_cert_sans(CONFIG.as_bytes(), &device(), true)
            .unwrap()
            .unwrap();
        assert_eq!(tailnet_cert_sans(&once, &device(), true).unwrap(), None);
    }
}
