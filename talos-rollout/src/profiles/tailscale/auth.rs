//! How the tailscale extension authenticates: an auth key or an OAuth client.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// What kind of credential a `TS_AUTHKEY` value is, judged by its shape only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthKeyKind {
    /// `tskey-auth-…`: an auth key; it expires after at most 90 days.
    AuthKey,
    /// `tskey-client-…`: an OAuth client secret used as the key; `tailscale up` mints a key
    /// itself, by default ephemeral and not pre-authorized.
    OAuthClientSecret,
    /// `file:/path`: the key is read from a file inside the container.
    File,
}

/// The credential the node logs in with.
#[derive(Clone)]
#[non_exhaustive]
pub enum TailscaleAuth {
    /// `TS_AUTHKEY`, with what is known about the key (from the Tailscale API when it was minted).
    AuthKey {
        /// The key (`tskey-auth-…`, `tskey-client-…` or `file:…`).
        key: SecretString,
        /// True when the key was created ephemeral.
        ephemeral: bool,
    },
    /// `TS_CLIENT_ID` + `TS_CLIENT_SECRET` (containerboot ≥ 1.94): OAuth login, never expires.
    OAuthClient {
        /// The OAuth client id (not secret).
        client_id: String,
        /// The OAuth client secret.
        client_secret: SecretString,
    },
}

impl fmt::Debug for TailscaleAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TailscaleAuth::AuthKey { ephemeral, .. } => f
                .debug_struct("AuthKey")
                .field("key", &"<redacted>")
                .field("ephemeral", ephemeral)
                .finish(),
            TailscaleAuth::OAuthClient { client_id, .. } => f
                .debug_struct("OAuthClient")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
        }
    }
}

impl TailscaleAuth {
    /// An auth key that is not ephemeral (the right choice for infrastructure nodes).
    pub fn auth_key(key: SecretString) -> Self {
        TailscaleAuth::AuthKey {
            key,
            ephemeral: false,
        }
    }

    /// Classifies the key by its shape; never echoes the key in errors.
    ///
    /// # Errors
    /// [`rollout_core::Error::InvalidExtensionConfig`] when the key does not look like a Tailscale key.
    pub(crate) fn key_kind(key: &SecretString) -> rollout_core::Result<AuthKeyKind> {
        let key = key.expose_secret();
        let kind = if key.starts_with("file:") && key.len() > "file:".len() {
            AuthKeyKind::File
        } else if let Some(rest) = key.strip_prefix("tskey-auth-") {
            check_body(rest)?;
            AuthKeyKind::AuthKey
        } else if let Some(rest) = key.strip_prefix("tskey-client-") {
            check_body(rest)?;
            AuthKeyKind::OAuthClientSecret
        } else if key.starts_with("tskey-api-") {
            return Err(super::invalid(
                "TS_AUTHKEY holds an API access token (tskey-api-…); nodes need an auth key (tskey-auth-…), mint one with tailscale-client",
            ));
        } else {
            return Err(super::invalid(
                "TS_AUTHKEY does not look like a Tailscale auth key (expected tskey-auth-…, tskey-client-… or file:/path)",
            ));
        };
        Ok(kind)
    }
}

fn check_body(rest: &str) -> rollout_core::Result<()> {
    if rest.is_empty()
        || !rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '?' || c == '=' || c == '&')
    {
        return Err(super::invalid(
            "TS_AUTHKEY has a tskey- prefix but an empty or malformed body; copy the whole key without spaces or quotes",
        ));
    }
    Ok(())
}
