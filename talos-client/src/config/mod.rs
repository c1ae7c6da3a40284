//! talosconfig: the file talosctl reads, its contexts, endpoints, nodes and client identity.
//!
//! [`TalosConfig::load`] finds the file the way talosctl does ([`search_paths`]),
//! [`TalosConfig::context`] picks the current or a named [`Context`], and the context's
//! [`ClientIdentity`](crate::identity::ClientIdentity) provides the mTLS configuration.
//! Errors ([`ConfigError`]) name the file, the context and the field, never a value.

mod context;
mod endpoint;
mod error;
mod file_format;
mod search;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use context::Context;
pub use endpoint::{DEFAULT_PORT, Endpoint};
pub use error::{ConfigError, ConfigProblem, Location};
pub use search::{
    EnvLookup, ProcessEnv, SERVICE_ACCOUNT_PATH, TALOS_HOME_VAR, TALOSCONFIG_VAR, search_paths,
};

use file_format::ContextEntry;

/// Largest talosconfig file read (4 MiB; a context with its certificates is a few KiB), so a
/// wrong path (a device, a huge file) fails quickly instead of filling memory.
pub const MAX_TALOSCONFIG_BYTES: usize = 4 << 20;

/// A talosconfig: named contexts and the current one.
///
/// A context whose values are broken does not prevent using the others: its error is
/// returned when it is selected with [`TalosConfig::context`], and it is written back
/// unchanged by [`TalosConfig::to_yaml`].
///
/// # Caveats
///
/// Contexts authenticating with `auth` (Omni / SideroV1, basic auth) instead of a client
/// certificate are reported as unsupported. `proxy-url` is ignored (with a warning), and
/// the deprecated `target` is added to the endpoints, as talosctl does.
#[derive(Clone)]
pub struct TalosConfig {
    current: Option<String>,
    contexts: BTreeMap<String, ContextEntry>,
    source: Option<PathBuf>,
}

impl TalosConfig {
    /// A talosconfig holding one context, which is also the current one.
    pub fn new(context: Context) -> Self {
        let name = context.name().to_owned();
        Self {
            current: Some(name.clone()),
            contexts: BTreeMap::from([(name, ContextEntry::Usable(context))]),
            source: None,
        }
    }

    /// Loads the talosconfig talosctl would use: the first existing file of
    /// [`search_paths`] in the process environment.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NotFound`] when none exists, or the errors of [`TalosConfig::from_path`].
    ///
    /// # Usage
    ///
    /// ```no_run
    /// use talos_client::config::TalosConfig;
    ///
    /// # fn main() -> Result<(), talos_client::config::ConfigError> {
    /// let config = TalosConfig::load()?;
    /// let context = config.context(None)?;
    /// println!("{} → {:?} as {}", context.name(), context.endpoints(), context.identity().roles());
    /// # Ok(())
    /// # }
    /// ```
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from_env(&ProcessEnv)
    }

    /// Like [`TalosConfig::load`], reading variables and the home directory from `env`.
    ///
    /// # Errors
    ///
    /// As [`TalosConfig::load`].
    pub fn load_from_env(env: &impl EnvLookup) -> Result<Self, ConfigError> {
        let searched = search_paths(env);
        match searched
            .iter()
            .find(|path| path.try_exists().unwrap_or(false))
        {
            Some(path) => Self::from_path(path),
            None => Err(ConfigError::NotFound { searched }),
        }
    }

    /// Reads and parses the talosconfig at `path`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`] when the file cannot be read or is larger than
    /// [`MAX_TALOSCONFIG_BYTES`], [`ConfigError::Invalid`] when it
    /// is not a talosconfig (with the file named in the location).
    pub fn from_path(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::File::open(path)
            .and_then(|file| {
                sdk_support::limits::read_to_string_capped(file, MAX_TALOSCONFIG_BYTES)
            })
            .map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        let mut config = Self::from_yaml(&text).map_err(|err| err.in_file(Some(path)))?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses talosconfig YAML text.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] when the text is not YAML or not shaped like a talosconfig.
    /// Problems inside one context are reported by [`TalosConfig::context`] instead.
    pub fn from_yaml(text: &str) -> Result<Self, ConfigError> {
        let parsed = file_format::parse(text)?;
        Ok(Self {
            current: parsed.current,
            contexts: parsed.contexts,
            source: None,
        })
    }

    /// The context named `name`, or the current context when `name` is `None`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] when no context is selected, the named one does not exist,
    /// or one of its values is wrong (the location names file, context and field).
    pub fn context(&self, name: Option<&str>) -> Result<&Context, ConfigError> {
        let file = self.source.as_deref();
        let invalid = |problem| ConfigError::Invalid {
            at: Location::file(file),
            problem,
        };
        let name = name
            .or(self.current.as_deref())
            .ok_or_else(|| invalid(ConfigProblem::NoContextSelected))?;
        match self.contexts.get(name) {
            Some(ContextEntry::Usable(context)) => Ok(context),
            Some(ContextEntry::Unusable { at, problem, .. }) => Err(ConfigError::Invalid {
                at: at.clone().in_file(file),
                problem: problem.clone(),
            }),
            None => Err(invalid(ConfigProblem::ContextNotFound {
                name: name.to_owned(),
                available: self.context_names().map(str::to_owned).collect(),
            })),
        }
    }

    /// The name of the current context, if the file sets one.
    pub fn current_context_name(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// The names of all contexts, sorted.
    pub fn context_names(&self) -> impl Iterator<Item = &str> {
        self.contexts.keys().map(String::as_str)
    }

    /// The file this config was read from, if any.
    pub fn source_path(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// The config in talosctl's YAML format (`ca`, `crt` and `key` base64-encoded PEM).
    ///
    /// # Security
    ///
    /// The text contains the client private key: do not log it; write it with
    /// [`TalosConfig::write_to`], which restricts the file's permissions.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Serialize`] if a context kept verbatim cannot be re-serialized.
    pub fn to_yaml(&self) -> Result<String, ConfigError> {
        file_format::to_yaml(self.current.as_deref(), &self.contexts)
    }

    /// Writes the config to `path` with permissions `0600`, creating the parent directory
    /// (`0700`) when missing and replacing an existing file atomically (see
    /// [`sdk_support::private_file::write`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Write`] when the directory or file cannot be written.
    pub fn write_to(&self, path: &Path) -> Result<(), ConfigError> {
        let text = self.to_yaml()?;
        sdk_support::private_file::write(path, text.as_bytes()).map_err(|source| {
            ConfigError::Write {
                path: path.to_path_buf(),
                source,
            }
        })
    }
}

impl fmt::Debug for TalosConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TalosConfig")
            .field("current", &self.current)
            .field("contexts", &self.contexts.keys().collect::<Vec<_>>())
            .field("source", &self.source)
            .finish()
    }
}
