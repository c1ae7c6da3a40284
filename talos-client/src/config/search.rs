//! Where talosctl looks for its config file, computed from an injectable environment.

use std::ffi::OsString;
use std::path::PathBuf;

/// Environment variable naming the talosconfig file; searched first.
pub const TALOSCONFIG_VAR: &str = "TALOSCONFIG";
/// Environment variable naming the Talos home directory (default `~/.talos`).
pub const TALOS_HOME_VAR: &str = "TALOS_HOME";
/// Where Talos mounts a talosconfig for workloads granted API access; searched last.
pub const SERVICE_ACCOUNT_PATH: &str = "/var/run/secrets/talos.dev/config";

/// The parts of the process environment the talosconfig search reads.
///
/// [`ProcessEnv`] reads the real environment; tests pass their own implementation so that
/// loading never depends on the machine it runs on.
pub trait EnvLookup {
    /// The value of an environment variable, if set.
    fn var(&self, name: &str) -> Option<OsString>;
    /// The user's home directory, if known.
    fn home_dir(&self) -> Option<PathBuf>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvLookup for ProcessEnv {
    fn var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }

    fn home_dir(&self) -> Option<PathBuf> {
        dirs::home_dir()
    }
}

/// The talosconfig paths talosctl considers, in order: `$TALOSCONFIG`, then
/// `$TALOS_HOME/config` (or `~/.talos/config`), then [`SERVICE_ACCOUNT_PATH`].
///
/// The first of them that exists is the one used. Unset or empty variables are skipped.
pub fn search_paths(env: &impl EnvLookup) -> Vec<PathBuf> {
    let non_empty = |name: &str| env.var(name).filter(|value| !value.is_empty());
    let mut paths = Vec::with_capacity(3);
    if let Some(explicit) = non_empty(TALOSCONFIG_VAR) {
        paths.push(PathBuf::from(explicit));
    }
    let talos_home = non_empty(TALOS_HOME_VAR)
        .map(PathBuf::from)
        .or_else(|| env.home_dir().map(|home| home.join(".talos")));
    if let Some(talos_home) = talos_home {
        paths.push(talos_home.join("config"));
    }
    paths.push(PathBuf::from(SERVICE_ACCOUNT_PATH));
    paths
}
