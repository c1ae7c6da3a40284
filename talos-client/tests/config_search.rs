//! talosconfig search order, exercised with a fake environment and temporary files.
#![allow(clippy::unwrap_used)]

mod identity_pki;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use identity_pki::TalosconfigValues;
use talos_client::config::{EnvLookup, SERVICE_ACCOUNT_PATH, TalosConfig, search_paths};

#[derive(Default)]
struct FakeEnv {
    vars: HashMap<&'static str, OsString>,
    home: Option<PathBuf>,
}

impl FakeEnv {
    fn var(mut self, name: &'static str, value: impl Into<OsString>) -> Self {
        self.vars.insert(name, value.into());
        self
    }

    fn home(mut self, home: &Path) -> Self {
        self.home = Some(home.to_path_buf());
        self
    }
}

impl EnvLookup for FakeEnv {
    fn var(&self, name: &str) -> Option<OsString> {
        self.vars.get(name).cloned()
    }

    fn home_dir(&self) -> Option<PathBuf> {
        self.home.clone()
    }
}

fn write_config(path: &Path, context: &str) {
    let values = TalosconfigValues::admin();
    let text = format!(
        "context: {context}\ncontexts:\n  {context}:\n{}",
        values.context_yaml("[10.0.0.2]")
    );
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn search_order_is_talosconfig_then_talos_home_then_service_account() {
    let env = FakeEnv::default()
        .var("TALOSCONFIG", "/explicit/config")
        .var("TALOS_HOME", "/talos-home")
        .home(Path::new("/home/me"));

    assert_eq!(
        search_paths(&env),
        [
            PathBuf::from("/explicit/config"),
            PathBuf::from("/talos-home/config"),
            PathBuf::from(SERVICE_ACCOUNT_PATH),
        ]
    );
}

#[test]
fn home_directory_is_used_without_talos_home_and_empty_variables_are_skipped() {
    let env = FakeEnv::default()
        .var("TALOSCONFIG", "")
        .var("TALOS_HOME", "")
        .home(Path::new("/home/me"));

    assert_eq!(
        search_paths(&env),
        [
            PathBuf::from("/home/me/.talos/config"),
            PathBuf::from(SERVICE_ACCOUNT_PATH)
        ]
    );
}

#[test]
fn load_uses_talosconfig_when_it_exists() {
    let dir = tempfile::tempdir().unwrap();
    let explicit = dir.path().join("explicit.yaml");
    write_config(&explicit, "explicit");
    write_config(&dir.path().join("home/.talos/config"), "home");
    let env = FakeEnv::default()
        .var("TALOSCONFIG", &explicit)
        .home(&dir.path().join("home"));

    let config = TalosConfig::load_from_env(&env).unwrap();

    assert_eq!(config.current_context_name(), Some("explicit"));
    assert_eq!(config.source_path(), Some(explicit.as_path()));
}

#[test]
fn load_falls_through_to_the_first_existing_file_like_talosctl() {
    let dir = tempfile::tempdir().unwrap();
    write_config(&dir.path().join("talos-home/config"), "from-talos-home");
    write_config(&dir.path().join("home/.talos/config"), "from-home");
    let env = FakeEnv::default()
        .var("TALOSCONFIG", dir.path().join("missing"))
        .var("TALOS_HOME", dir.path().join("talos-home"))
        .home(&dir.path().join("home"));

    let config = TalosConfig::load_from_env(&env).unwrap();

    assert_eq!(config.current_context_name(), Some("from-talos-home"));
}

#[test]
fn load_without_any_file_lists_every_searched_path() {
    let dir = tempfile::tempdir().unwrap();
    let env = FakeEnv::default().home(dir.path());

    let err = TalosConfig::load_from_env(&env).unwrap_err();

    assert!(err.is_not_found());
    let message = err.to_string();
    assert!(
        message.contains(&dir.path().join(".talos/config").display().to_string()),
        "{message}"
    );
    assert!(message.contains(SERVICE_ACCOUNT_PATH), "{message}");
    assert!(message.contains("TALOSCONFIG"), "{message}");
}
