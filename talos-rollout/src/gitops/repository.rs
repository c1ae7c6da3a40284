//! Finding a talhelper repository and reading it: `talconfig.yaml` (in `talos/` or the
//! given directory) and the `talenv.yaml` beside it, as text and as parsed values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

use crate::Error;

/// The talhelper configuration file.
pub const TALCONFIG: &str = "talconfig.yaml";
/// The plain (not sops-encrypted) env file talhelper reads first.
pub const TALENV: &str = "talenv.yaml";

/// A talhelper repository on disk.
///
/// # Usage
/// ```no_run
/// use talos_rollout::gitops::Repository;
///
/// let repo = Repository::open("home-ops")?; // finds home-ops/talos/talconfig.yaml
/// let snapshot = repo.load()?;
/// println!("{} nodes", snapshot.node_count());
/// # Ok::<(), talos_rollout::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Repository {
    talos_dir: PathBuf,
}

impl Repository {
    /// Finds `talconfig.yaml` in `dir/talos/` (the home-ops layout) or in `dir` itself, and
    /// checks that it can be read.
    ///
    /// # Errors
    /// [`Error::Repository`] when there is no talconfig or it is not usable
    /// (see [`load`](Self::load)).
    pub fn open(dir: impl AsRef<Path>) -> crate::Result<Self> {
        let dir = dir.as_ref();
        let found = [dir.join("talos"), dir.to_path_buf()]
            .into_iter()
            .find(|candidate| candidate.join(TALCONFIG).is_file());
        let Some(talos_dir) = found else {
            return Err(Error::repository(
                dir,
                "there is no talos/talconfig.yaml or talconfig.yaml here; point at the repository root or the directory holding talconfig.yaml",
            ));
        };
        let repository = Repository { talos_dir };
        repository.load()?;
        Ok(repository)
    }

    /// The directory holding `talconfig.yaml` (`@./` patch paths are relative to it).
    pub fn talos_dir(&self) -> &Path {
        &self.talos_dir
    }

    /// Path of `talconfig.yaml`.
    pub fn talconfig_path(&self) -> PathBuf {
        self.talos_dir.join(TALCONFIG)
    }

    /// Path of `talenv.yaml` (it may not exist).
    pub fn talenv_path(&self) -> PathBuf {
        self.talos_dir.join(TALENV)
    }

    /// Reads and parses the current files.
    ///
    /// # Errors
    /// [`Error::Repository`] when talconfig is unreadable, not YAML, sops-encrypted, has no
    /// `nodes` list, or a node lacks `hostname`/`ipAddress`; or when talenv exists but is not
    /// a flat YAML mapping.
    pub fn load(&self) -> crate::Result<Snapshot> {
        let path = self.talconfig_path();
        let talconfig = read(&path)?;
        let config = parse(&path, &talconfig)?;
        check_talconfig(&path, &config)?;
        let env_path = self.talenv_path();
        let talenv = env_path.is_file().then(|| read(&env_path)).transpose()?;
        let env = match &talenv {
            Some(text) => flat_env(&env_path, &parse(&env_path, text)?)?,
            None => BTreeMap::new(),
        };
        Ok(Snapshot {
            talconfig,
            talenv,
            config,
            env,
        })
    }

    /// Reads a file the talconfig references (`@./patches/...`).
    ///
    /// # Errors
    /// [`Error::Repository`] when it is missing or unreadable.
    pub(crate) fn read_reference(&self, reference: &str) -> crate::Result<String> {
        read(&self.resolve(reference))
    }

    /// The file an `@./path` reference names.
    pub(crate) fn resolve(&self, reference: &str) -> PathBuf {
        let relative = reference.trim_start_matches('@');
        let relative = relative.strip_prefix("./").unwrap_or(relative);
        self.talos_dir.join(relative)
    }
}

/// The repository's files as read at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `talconfig.yaml`, exactly.
    pub talconfig: String,
    /// `talenv.yaml`, exactly, when it exists.
    pub talenv: Option<String>,
    pub(crate) config: Value,
    pub(crate) env: BTreeMap<String, String>,
}

impl Snapshot {
    /// Number of entries in `nodes`.
    pub fn node_count(&self) -> usize {
        nodes(&self.config).len()
    }

    /// `value` with `${NAME}` or `$NAME` replaced from talenv when it is exactly one
    /// reference; `None` when it names something talenv does not define or mixes text and
    /// references (talhelper would substitute it from the environment at generate time).
    pub(crate) fn substitute(&self, value: &str) -> Option<String> {
        match reference_name(value) {
            Some(name) => self.env.get(name).cloned(),
            None if value.contains('$') => None,
            None => Some(value.to_owned()),
        }
    }
}

/// The variable `${NAME}` or `$NAME` names, when `value` is exactly one reference.
pub(crate) fn reference_name(value: &str) -> Option<&str> {
    let name = value
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .or_else(|| value.strip_prefix('$'))?;
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(name)
}

/// The `nodes` entries of a parsed talconfig.
pub(crate) fn nodes(config: &Value) -> &[Value] {
    config
        .get("nodes")
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

fn read(path: &Path) -> crate::Result<String> {
    std::fs::read_to_string(path).map_err(|error| {
        Error::repository(path, format!("{error}; check the path and its permissions"))
    })
}

fn parse(path: &Path, text: &str) -> crate::Result<Value> {
    serde_yaml_ng::from_str(text).map_err(|error| {
        Error::repository(
            path,
            format!("it is not valid YAML ({error}); fix it, then run again"),
        )
    })
}

fn check_talconfig(path: &Path, config: &Value) -> crate::Result<()> {
    if !config.is_mapping() {
        return Err(Error::repository(path, "it is not a YAML mapping"));
    }
    if config.get("sops").is_some() {
        return Err(Error::repository(
            path,
            "it is sops-encrypted; decrypt it (sops -d -i) before letting a tool edit it",
        ));
    }
    let Some(entries) = config.get("nodes").and_then(Value::as_sequence) else {
        return Err(Error::repository(
            path,
            "it has no nodes list; is this a talhelper talconfig?",
        ));
    };
    for (index, node) in entries.iter().enumerate() {
        for field in ["hostname", "ipAddress"] {
            if node.get(field).and_then(Value::as_str).is_none() {
                return Err(Error::repository(
                    path,
                    format!("nodes[{index}] has no {field}; talhelper requires it"),
                ));
            }
        }
    }
    Ok(())
}

fn flat_env(path: &Path, value: &Value) -> crate::Result<BTreeMap<String, String>> {
    let Some(mapping) = value.as_mapping() else {
        return Ok(BTreeMap::new());
    };
    let mut env = BTreeMap::new();
    for (key, value) in mapping {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            _ => {
                return Err(Error::repository(
                    path,
                    "talhelper env files are flat KEY: value mappings; move nested values out",
                ));
            }
        };
        if let Some(key) = key.as_str() {
            env.insert(key.to_owned(), text);
        }
    }
    Ok(env)
}
