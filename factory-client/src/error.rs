//! The crate's error type: what went wrong and what the caller can do next.

use crate::schematic::{SchematicError, SchematicId};

/// Everything that can fail in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The schematic text is invalid (checked offline, before any request).
    #[error("invalid schematic: {0}")]
    InvalidSchematic(#[source] SchematicError),

    /// The factory answered 400 to a schematic; `message` is the factory's text.
    #[error("factory rejected the schematic: {message}; fix the schematic and post it again")]
    SchematicRejected {
        /// The factory's plain-text error body.
        message: String,
    },

    /// The factory answered 400 to another request (bad version, path or name).
    #[error(
        "factory rejected the request: {message}; check the Talos version, platform and names in the request"
    )]
    BadRequest {
        /// The factory's plain-text error body.
        message: String,
    },

    /// The factory answered 404: unknown schematic ID or Talos version.
    #[error(
        "{what} not found on the factory: {message}; check the ID or version, and post the schematic first if it is new"
    )]
    NotFound {
        /// What was looked up, e.g. `schematic 3765…` or `Talos version v1.99.0`.
        what: String,
        /// The factory's plain-text error body.
        message: String,
    },

    /// The factory answered another error status (5xx after retries, 401/403, ...).
    #[error("factory answered HTTP {status} for {url}: {message}; {}", http_hint(*.status))]
    Http {
        /// HTTP status code.
        status: u16,
        /// Request URL.
        url: String,
        /// The factory's plain-text error body (at most 8 KiB).
        message: String,
    },

    /// The request did not complete: connection failure or timeout (after retries).
    #[error(
        "could not reach the factory at {url}: {message}; check the URL and network, then retry"
    )]
    Transport {
        /// Request URL.
        url: String,
        /// What failed.
        message: String,
        /// Whether it was a timeout.
        timed_out: bool,
    },

    /// The TLS handshake with the factory failed (an untrusted, expired or mismatched
    /// certificate, or a server that does not speak TLS); retrying will not help.
    #[error(
        "tls with the factory at {url} failed: {message}; check the URL and that the factory's certificate is valid for that host and trusted by this system"
    )]
    Tls {
        /// Request URL.
        url: String,
        /// What failed.
        message: String,
    },

    /// The factory answered with a body this crate could not read.
    #[error(
        "unexpected response from the factory at {url}: {message}; check that the URL points at an Image Factory"
    )]
    InvalidResponse {
        /// Request URL.
        url: String,
        /// What was wrong with the body.
        message: String,
    },

    /// The factory's ID differs from the offline ID (when mismatches are treated as errors).
    #[error(
        "factory returned schematic ID {server} but the offline ID is {offline}; the factory's YAML rules differ from this crate's, use the factory's ID"
    )]
    IdMismatch {
        /// The ID computed offline.
        offline: SchematicId,
        /// The ID the factory returned.
        server: SchematicId,
    },

    /// An extension name is not in the Talos version's official extension list.
    #[error("extension {name:?} is not available for Talos {version}{}", suggestion_text(.suggestions))]
    UnknownExtension {
        /// The name as given.
        name: String,
        /// The Talos version.
        version: String,
        /// Similar names from the version's list.
        suggestions: Vec<String>,
    },

    /// A short extension name matches several extensions.
    #[error("extension name {name:?} is ambiguous for Talos {version}: {}; use the full name", .candidates.join(", "))]
    AmbiguousExtension {
        /// The name as given.
        name: String,
        /// The Talos version.
        version: String,
        /// The matching full names.
        candidates: Vec<String>,
    },

    /// Text that should be a schematic ID is not 64 lowercase hex digits.
    #[error("{input:?} is not a schematic ID; expected 64 lowercase hex digits")]
    InvalidSchematicId {
        /// The text given (truncated).
        input: String,
    },

    /// Text that should be a Talos version is not `vX.Y.Z[-pre]`.
    #[error("{input:?} is not a Talos version; expected e.g. v1.11.1")]
    InvalidVersion {
        /// The text given.
        input: String,
    },

    /// Text that should be an installer image reference is not one.
    #[error(
        "{input:?} is not a factory installer reference: {reason}; expected HOST/[PLATFORM-]installer[-secureboot]/SCHEMATIC_ID:VERSION"
    )]
    InvalidInstallerRef {
        /// The text given.
        input: String,
        /// What is wrong.
        reason: String,
    },

    /// The factory base URL is unusable.
    #[error("invalid factory URL {input:?}: {reason}")]
    InvalidUrl {
        /// The text given.
        input: String,
        /// What is wrong.
        reason: String,
    },
}

/// What to do about an HTTP status the client has no dedicated variant for.
fn http_hint(status: u16) -> &'static str {
    match status {
        500.. => "the factory is failing; retry later",
        401..=403 => {
            "this factory needs an Enterprise login or feature; use a factory that serves anonymous requests, such as factory.talos.dev"
        }
        _ => "check the factory URL",
    }
}

fn suggestion_text(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        "; list the version's extensions to find the right name".to_owned()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    }
}

impl Error {
    /// Whether the thing looked up does not exist (404, unknown extension).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. } | Self::UnknownExtension { .. })
    }

    /// Whether retrying the same call later may succeed (5xx, timeouts, connection errors);
    /// TLS and certificate failures are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Http { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Whether the schematic itself is at fault (offline check or factory 400).
    pub fn is_invalid_schematic(&self) -> bool {
        matches!(
            self,
            Self::InvalidSchematic(_)
                | Self::SchematicRejected { .. }
                | Self::UnknownExtension { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16) -> String {
        Error::Http {
            status,
            url: "https://factory.example/versions".to_owned(),
            message: "nope".to_owned(),
        }
        .to_string()
    }

    #[test]
    fn http_errors_say_what_to_do_for_their_status() {
        assert!(http(503).ends_with("the factory is failing; retry later"));
        assert!(http(403).contains("use a factory that serves anonymous requests"));
        assert!(http(405).ends_with("check the factory URL"));
    }
}
