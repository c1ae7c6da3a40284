//! A node's own apid certificate, as Talos issues it: the node's addresses (its tailnet
//! addresses included, once its device exists) plus the `machine.certSANs` of its current
//! configuration; re-issued at the next handshake whenever that set changes.

use std::sync::{Arc, Mutex, PoisonError};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use talos_client::machine_config::{CertSans, ConfigDocuments};

use super::node::Node;
use crate::pki::Pki;
use crate::tailnet::Tailnet;

/// Picks (and when needed re-issues) the certificate of one node's apid.
pub(crate) struct NodeCertificate {
    pki: Arc<Pki>,
    node: Arc<Node>,
    tailnet: Tailnet,
    issued: Mutex<Option<(Vec<String>, Arc<CertifiedKey>)>>,
}

impl std::fmt::Debug for NodeCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeCertificate")
            .field("node", &self.node.spec.hostname)
            .finish_non_exhaustive()
    }
}

impl NodeCertificate {
    pub(crate) fn new(pki: Arc<Pki>, node: Arc<Node>, tailnet: Tailnet) -> Self {
        Self {
            pki,
            node,
            tailnet,
            issued: Mutex::new(None),
        }
    }

    /// The subject alternative names the node's certificate carries now.
    pub(crate) fn sans(&self) -> Vec<String> {
        let (device, config) = self
            .node
            .read(|state| (state.tailscale_device.clone(), state.config.clone()));
        let mut sans = vec![self.node.spec.address.to_string()];
        if let Some(addresses) = device.and_then(|id| self.tailnet.device_addresses(&id)) {
            sans.push(addresses.ipv4.to_string());
            sans.push(addresses.ipv6.to_string());
        }
        let declared = ConfigDocuments::parse(&config)
            .map(|documents| documents.cert_sans(CertSans::Machine))
            .unwrap_or_default();
        for san in declared {
            if !sans.contains(&san) {
                sans.push(san);
            }
        }
        sans
    }
}

impl ResolvesServerCert for NodeCertificate {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sans = self.sans();
        let mut issued = self.issued.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((issued_for, key)) = issued.as_ref()
            && *issued_for == sans
        {
            return Some(Arc::clone(key));
        }
        match self.pki.server_certificate(&sans) {
            Ok(key) => {
                *issued = Some((sans, Arc::clone(&key)));
                Some(key)
            }
            Err(error) => {
                tracing::warn!(%error, node = %self.node.spec.hostname, "sim could not issue the node certificate");
                None
            }
        }
    }
}
