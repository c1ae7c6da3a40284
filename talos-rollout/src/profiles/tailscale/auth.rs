//! How the tailscale extension authenticates. Three modes (facts: `talos-api.md` §9):
//! a minted auth key (expires after at most 90 days), an OAuth client secret used as
//! `TS_AUTHKEY` with `?ephemeral=false&preauthorized=true` and the tags in `TS_EXTRA_ARGS`,
//! and workload identity federation (`TS_CLIENT_ID` + `TS_ID_TOKEN` or `TS_AUDIENCE`). The
//! last two leave nothing on the node that expires or needs rotating: containerboot mints a
//! fresh key at every login.

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
    /// An OAuth client secret as the auth key:
    /// `TS_AUTHKEY=tskey-client-…?ephemeral=false&preauthorized=true` and
    /// `--advertise-tags=…` in `TS_EXTRA_ARGS`. `tailscale up` exchanges the secret for a
    /// fresh key at every login; the client needs the `auth_keys` write scope and may assign
    /// only its own tags. Build it with [`TailscaleAuth::oauth_secret`].
    OAuthSecret {
        /// The bare client secret (`tskey-client-…`, no query).
        secret: SecretString,
        /// Tags the devices get (`tag:…`, at least one, each assignable by the client).
        tags: Vec<String>,
    },
    /// Workload identity federation: `TS_CLIENT_ID` plus an identity token (or the audience
    /// containerboot fetches one for on GitHub Actions, AWS or GCP), tags in
    /// `TS_EXTRA_ARGS`. Keys minted this way are single-use, and ephemeral and not
    /// pre-authorized unless the client ID carries `?ephemeral=false&preauthorized=true`,
    /// which the builder appends. Build it with [`TailscaleAuth::workload_identity`].
    WorkloadIdentity {
        /// The federated identity's client id (not secret).
        client_id: String,
        /// Where the identity token comes from.
        token: IdentityToken,
        /// Tags the devices get (`tag:…`, at least one).
        tags: Vec<String>,
    },
}

/// Where a workload-identity login gets its token.
#[derive(Clone)]
#[non_exhaustive]
pub enum IdentityToken {
    /// `TS_ID_TOKEN`: a token you supply. It is short-lived, so pair it with
    /// `TS_AUTH_ONCE=true` (the builder warns otherwise).
    IdToken(SecretString),
    /// `TS_AUDIENCE`: containerboot fetches a token for this audience from the cloud it runs
    /// on (GitHub Actions, AWS or GCP); a bare-metal node has none.
    Audience(String),
}

impl fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityToken::IdToken(_) => f.write_str("IdToken(<redacted>)"),
            IdentityToken::Audience(audience) => f.debug_tuple("Audience").field(audience).finish(),
        }
    }
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
            TailscaleAuth::OAuthSecret { tags, .. } => f
                .debug_struct("OAuthSecret")
                .field("secret", &"<redacted>")
                .field("tags", tags)
                .finish(),
            TailscaleAuth::WorkloadIdentity {
                client_id,
                token,
                tags,
            } => f
                .debug_struct("WorkloadIdentity")
                .field("client_id", client_id)
                .field("token", token)
                .field("tags", tags)
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

    /// An OAuth client secret (`tskey-client-…`, without a query) used as the auth key,
    /// for devices with `tags`; the builder appends `?ephemeral=false&preauthorized=true`.
    pub fn oauth_secret<S: Into<String>>(
        secret: SecretString,
        tags: impl IntoIterator<Item = S>,
    ) -> Self {
        TailscaleAuth::OAuthSecret {
            secret,
            tags: tags.into_iter().map(Into::into).collect(),
        }
    }

    /// Workload identity federation with the federated identity `client_id`, for devices
    /// with `tags`.
    pub fn workload_identity<S: Into<String>>(
        client_id: impl Into<String>,
        token: IdentityToken,
        tags: impl IntoIterator<Item = S>,
    ) -> Self {
        TailscaleAuth::WorkloadIdentity {
            client_id: client_id.into(),
            token,
            tags: tags.into_iter().map(Into::into).collect(),
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
