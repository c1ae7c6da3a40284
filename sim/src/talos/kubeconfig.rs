//! Kubeconfigs for the simulated Kubernetes API, and `MachineService.Kubeconfig`: a
//! gzip-compressed tar archive holding one file, `kubeconfig`, with a newly minted admin
//! client certificate on every call (as Talos does).

use std::io::Write;
use std::sync::Arc;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

use super::cluster::TalosCluster;
use crate::Error;
use crate::pki::Pki;

/// What a kubeconfig for the simulated Kubernetes API needs: its CA, URL and cluster name.
#[derive(Debug, Clone)]
pub(crate) struct KubeAccess {
    pub(crate) pki: Arc<Pki>,
    pub(crate) server: String,
    pub(crate) cluster_name: String,
}

impl KubeAccess {
    /// A kubeconfig (context `admin@<cluster>`) with a new `system:masters` client certificate.
    pub(crate) fn kubeconfig(&self) -> Result<SecretString, Error> {
        let client = self.pki.issue_kube_client(&["system:masters"])?;
        let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        let name = &self.cluster_name;
        Ok(SecretString::from(format!(
            "apiVersion: v1\nkind: Config\nclusters:\n    - name: {name}\n      cluster:\n        server: {server}\n        certificate-authority-data: {ca}\nusers:\n    - name: admin@{name}\n      user:\n        client-certificate-data: {crt}\n        client-key-data: {key}\ncontexts:\n    - context:\n        cluster: {name}\n        namespace: default\n        user: admin@{name}\n      name: admin@{name}\ncurrent-context: admin@{name}\n",
            server = self.server,
            ca = encode(&self.pki.ca_pem()),
            crt = encode(&client.cert_pem),
            key = encode(client.key_pem.expose_secret()),
        )))
    }
}

/// The admin kubeconfig archive for the simulated cluster.
pub(crate) fn archive(cluster: &TalosCluster) -> Result<Vec<u8>, Error> {
    let access = cluster.ctx.kube_access.get().ok_or_else(|| {
        Error::InvalidSetup("the simulated Kubernetes API is not running".to_owned())
    })?;
    let kubeconfig = access.kubeconfig()?;
    let kubeconfig = kubeconfig.expose_secret();
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(kubeconfig.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    let tar = builder
        .append_data(&mut header, "kubeconfig", kubeconfig.as_bytes())
        .and_then(|()| builder.into_inner())?;
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&tar)?;
    Ok(gzip.finish()?)
}
