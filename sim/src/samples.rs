//! Sample repositories shaped like the simulated cluster, for demos and tests.
//!
//! [`write_talhelper_repository`] writes a home-ops style talhelper repository (Taskfile
//! layout, `talos/talconfig.yaml` with comments, anchors and `${talosVersion}`,
//! `talos/talenv.yaml` with renovate comments, global and controller patches) that declares
//! exactly what the default sim runs: `k8s-1..3` at `10.5.0.2..4`, Talos
//! [`DEFAULT_TALOS_VERSION`](crate::DEFAULT_TALOS_VERSION) with
//! [`DEFAULT_EXTENSIONS`](crate::DEFAULT_EXTENSIONS) through `talosImageURL`.

use std::path::Path;

/// The files of the talhelper sample: path inside the repository, contents.
pub const TALHELPER_REPOSITORY: &[(&str, &str)] = &[
    (
        "Taskfile.yaml",
        include_str!("../samples/talhelper/Taskfile.yaml"),
    ),
    (
        ".taskfiles/talos/Taskfile.yaml",
        include_str!("../samples/talhelper/.taskfiles/talos/Taskfile.yaml"),
    ),
    (
        ".sops.yaml",
        include_str!("../samples/talhelper/.sops.yaml"),
    ),
    (
        ".gitignore",
        include_str!("../samples/talhelper/.gitignore"),
    ),
    (
        "talos/talconfig.yaml",
        include_str!("../samples/talhelper/talos/talconfig.yaml"),
    ),
    (
        "talos/talenv.yaml",
        include_str!("../samples/talhelper/talos/talenv.yaml"),
    ),
    (
        "talos/patches/global/machine-kubelet.yaml",
        include_str!("../samples/talhelper/talos/patches/global/machine-kubelet.yaml"),
    ),
    (
        "talos/patches/global/machine-sysctls.yaml",
        include_str!("../samples/talhelper/talos/patches/global/machine-sysctls.yaml"),
    ),
    (
        "talos/patches/controller/cluster.yaml",
        include_str!("../samples/talhelper/talos/patches/controller/cluster.yaml"),
    ),
];

/// Writes the talhelper sample repository into `dir` (created when missing).
///
/// # Errors
/// The I/O error of the first file that cannot be written.
pub fn write_talhelper_repository(dir: &Path) -> std::io::Result<()> {
    for (path, contents) in TALHELPER_REPOSITORY {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, contents)?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use factory_client::Schematic;

    use super::*;

    #[test]
    fn the_sample_declares_the_schematic_the_default_sim_runs() {
        let id = Schematic::builder()
            .extensions(crate::DEFAULT_EXTENSIONS.iter().map(|e| (*e).to_owned()))
            .build()
            .id()
            .to_string();
        let (_, talconfig) = TALHELPER_REPOSITORY
            .iter()
            .find(|(path, _)| *path == "talos/talconfig.yaml")
            .unwrap();
        let url = format!("talosImageURL: factory.talos.dev/installer/{id}\n");
        assert_eq!(talconfig.matches(&url).count(), 3, "expected {url}");
        let (_, talenv) = TALHELPER_REPOSITORY
            .iter()
            .find(|(path, _)| *path == "talos/talenv.yaml")
            .unwrap();
        let version = format!("talosVersion: {}\n", crate::DEFAULT_TALOS_VERSION);
        assert!(talenv.contains(&version));
    }

    #[test]
    fn the_sample_is_written_with_every_file() {
        let dir = tempfile::tempdir().unwrap();
        write_talhelper_repository(dir.path()).unwrap();
        for (path, contents) in TALHELPER_REPOSITORY {
            assert_eq!(
                std::fs::read_to_string(dir.path().join(path)).unwrap(),
                *contents
            );
        }
    }
}
