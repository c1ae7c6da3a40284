//! What a node's `tailscale up` sends to the control plane, and how a login fails.

use secrecy::{ExposeSecret, SecretString};

/// A node logging in to the tailnet (`tailscale up --authkey=… --advertise-routes=…`).
#[derive(Debug, Clone)]
pub struct Registration {
    /// The machine's hostname (`TS_HOSTNAME` or the OS hostname).
    pub hostname: String,
    auth_key: SecretString,
    /// Routes from `TS_ROUTES`.
    pub advertise_routes: Vec<String>,
    /// Tags from `--advertise-tags` in `TS_EXTRA_ARGS`.
    pub advertise_tags: Vec<String>,
    /// The device this node is already logged in as (tailscaled state persisted in `/var/lib/tailscale`).
    pub known_device: Option<String>,
}

impl Registration {
    /// A login of `hostname` with `auth_key` and nothing else.
    pub fn new(hostname: impl Into<String>, auth_key: SecretString) -> Self {
        Self {
            hostname: hostname.into(),
            auth_key,
            advertise_routes: Vec::new(),
            advertise_tags: Vec::new(),
            known_device: None,
        }
    }

    pub(crate) fn auth_key(&self) -> &str {
        self.auth_key.expose_secret()
    }

    /// The same login with another auth key.
    pub(crate) fn with_auth_key(&self, auth_key: SecretString) -> Self {
        Self {
            auth_key,
            ..self.clone()
        }
    }
}

/// A failed login, with the control plane's message as `tailscale up` prints it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RegistrationError {
    message: String,
}

impl RegistrationError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// An unknown, expired, revoked or used-up key (Tailscale says the same for all of them).
    pub(crate) fn key_does_not_exist() -> Self {
        Self {
            message: "invalid key: API key does not exist".to_owned(),
        }
    }

    pub(crate) fn tags_not_permitted(tags: &[String]) -> Self {
        Self {
            message: format!(
                "requested tags [{}] are invalid or not permitted",
                tags.join(" ")
            ),
        }
    }

    /// The backend message, e.g. `invalid key: API key does not exist`.
    pub fn message(&self) -> &str {
        &self.message
    }
}
