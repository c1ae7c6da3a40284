//! Errors met while reading, checking or writing a talosconfig and its client identity.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::identity::{IdentityError, IdentityProblem};

/// Where in a talosconfig a problem was found: file, context and field, each when known.
///
/// Its `Display` renders the known parts as a prefix such as
/// `/home/me/.talos/config: context "prod": field "crt": `, so every [`ConfigError`]
/// message says exactly which value to fix. It never holds a value, only names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    file: Option<PathBuf>,
    context: Option<String>,
    field: Option<String>,
}

impl Location {
    /// A location naming only a field (for example `"crt"`).
    pub(crate) fn field(field: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::default()
        }
    }

    /// The file the problem is in, when known.
    pub fn file_path(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }

    /// The context the problem is in, when known.
    pub fn context_name(&self) -> Option<&str> {
        self.context.as_deref()
    }

    /// The field the problem is in, when known.
    pub fn field_name(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// A location naming only a file (for problems with the whole file).
    pub(crate) fn file(file: Option<&std::path::Path>) -> Self {
        Self::default().in_file(file)
    }

    /// Adds the file, unless one is already set.
    pub(crate) fn in_file(mut self, file: Option<&std::path::Path>) -> Self {
        if self.file.is_none() {
            self.file = file.map(std::path::Path::to_path_buf);
        }
        self
    }

    /// Adds the context, unless one is already set.
    pub(crate) fn in_context(mut self, context: &str) -> Self {
        if self.context.is_none() {
            self.context = Some(context.to_owned());
        }
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if let Some(context) = &self.context {
            write!(f, "context \"{context}\": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field \"{field}\": ")?;
        }
        Ok(())
    }
}

/// A talosconfig or client identity could not be loaded, checked or written.
///
/// Messages name the file, context and field involved ([`Location`]) and never contain
/// key material or other values from the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No talosconfig exists at any of the searched paths.
    #[error(
        "no talosconfig found (looked in {}); set TALOSCONFIG to its path or create one with `talosctl config`",
        display_paths(searched)
    )]
    NotFound {
        /// The paths searched, in order.
        searched: Vec<PathBuf>,
    },
    /// The talosconfig file exists but could not be read.
    #[error("{}: cannot read the talosconfig: {source}; check the path and its permissions", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The talosconfig file could not be written.
    #[error("{}: cannot write the talosconfig: {source}; check the directory is writable", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The talosconfig could not be serialized to YAML.
    #[error("cannot serialize the talosconfig to YAML: {detail}")]
    Serialize {
        /// The serializer's description.
        detail: String,
    },
    /// A value in the talosconfig or identity is wrong; `at` says which one.
    #[error("{at}{problem}")]
    Invalid {
        /// Where: file, context and field, as far as known.
        at: Location,
        /// What is wrong with it.
        problem: ConfigProblem,
    },
    /// rustls rejected the identity while building the TLS configuration.
    #[error("cannot build the TLS configuration: {detail}")]
    Tls {
        /// rustls' description.
        detail: String,
    },
}

/// What is wrong with a value in a talosconfig or client identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// The file is not valid YAML.
    #[error("not valid YAML: {detail}; fix the syntax")]
    Syntax {
        /// The parser's description, with line and column.
        detail: String,
    },
    /// The requested context does not exist.
    #[error(
        "context \"{name}\" not found; available contexts: {}",
        display_names(available)
    )]
    ContextNotFound {
        /// The context asked for.
        name: String,
        /// The contexts the file has.
        available: Vec<String>,
    },
    /// No context was named and the file has no current context.
    #[error(
        "no context selected and the file has no `context:`; name a context or set one with `talosctl config context NAME`"
    )]
    NoContextSelected,
    /// A required field is absent or empty.
    #[error("missing; add it (talosctl writes it when it creates the talosconfig)")]
    MissingField,
    /// A field has the wrong YAML type.
    #[error("expected {expected}")]
    WrongType {
        /// What was expected, for example "a list of strings".
        expected: &'static str,
    },
    /// A field is not valid base64.
    #[error("not valid base64 (byte {byte}); the value must be the base64 of the PEM text")]
    InvalidBase64 {
        /// Offset of the first invalid byte.
        byte: usize,
    },
    /// An endpoint cannot be used.
    #[error("invalid endpoint \"{endpoint}\": {reason}")]
    InvalidEndpoint {
        /// The endpoint as written.
        endpoint: String,
        /// Why it is invalid and what to write instead.
        reason: &'static str,
    },
    /// The context authenticates in a way this client does not implement.
    #[error(
        "uses {mechanism} authentication, which this client does not support; use a talosconfig with a client certificate (crt) and key"
    )]
    UnsupportedAuth {
        /// The mechanism, for example "siderov1".
        mechanism: String,
    },
    /// A value of the client identity (`ca`, `crt` or `key`) is wrong.
    #[error(transparent)]
    Identity(IdentityProblem),
}

impl ConfigError {
    /// True when no talosconfig was found at all (as opposed to one that is broken).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// What is wrong, for errors about a value in a talosconfig or identity.
    pub fn problem(&self) -> Option<&ConfigProblem> {
        match self {
            Self::Invalid { problem, .. } => Some(problem),
            _ => None,
        }
    }

    /// Where the problem is, for errors about a value in a talosconfig or identity.
    pub fn location(&self) -> Option<&Location> {
        match self {
            Self::Invalid { at, .. } => Some(at),
            _ => None,
        }
    }

    /// Adds the file to the location of an [`ConfigError::Invalid`] error.
    pub(crate) fn in_file(self, file: Option<&std::path::Path>) -> Self {
        match self {
            Self::Invalid { at, problem } => Self::Invalid {
                at: at.in_file(file),
                problem,
            },
            other => other,
        }
    }

    /// Adds the context to the location of an [`ConfigError::Invalid`] error.
    pub(crate) fn in_context(self, context: &str) -> Self {
        match self {
            Self::Invalid { at, problem } => Self::Invalid {
                at: at.in_context(context),
                problem,
            },
            other => other,
        }
    }

    /// An error about the field `field` (file and context are filled in later).
    pub(crate) fn in_field(field: impl Into<String>, problem: ConfigProblem) -> Self {
        Self::Invalid {
            at: Location::field(field),
            problem,
        }
    }
}

impl From<IdentityError> for ConfigError {
    /// An identity error located at its field (file and context are filled in later).
    fn from(err: IdentityError) -> Self {
        match err {
            IdentityError::Invalid { field, problem } => {
                Self::in_field(field, ConfigProblem::Identity(problem))
            }
            IdentityError::Tls { detail } => Self::Tls { detail },
        }
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

fn display_names(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
