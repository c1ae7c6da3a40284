//! `MachineService.Kubeconfig`: a gzip-compressed tar archive holding one file, `kubeconfig`.

use std::io::Write;

use base64::Engine;

use super::cluster::TalosCluster;

/// The admin kubeconfig archive for the simulated cluster (the credentials are fake).
pub(crate) fn archive(cluster: &TalosCluster) -> Vec<u8> {
    let server = cluster
        .control_planes()
        .next()
        .map(|node| format!("https://{}:6443", node.spec.address))
        .unwrap_or_default();
    let fake = |what: &str| {
        base64::engine::general_purpose::STANDARD
            .encode(format!("sim {what}, not a real credential"))
    };
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n    - name: sim\n      cluster:\n        server: {server}\n        certificate-authority-data: {ca}\nusers:\n    - name: admin@sim\n      user:\n        client-certificate-data: {crt}\n        client-key-data: {key}\ncontexts:\n    - context:\n        cluster: sim\n        namespace: default\n        user: admin@sim\n      name: admin@sim\ncurrent-context: admin@sim\n",
        ca = fake("kubernetes CA"),
        crt = fake("admin certificate"),
        key = fake("admin key"),
    );
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(kubeconfig.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    let tar = builder
        .append_data(&mut header, "kubeconfig", kubeconfig.as_bytes())
        .and_then(|()| builder.into_inner());
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let written = tar.and_then(|tar| gzip.write_all(&tar));
    match written.and_then(|()| gzip.finish()) {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::warn!(%error, "could not build the simulated kubeconfig archive");
            Vec::new()
        }
    }
}
