//! The crate's error type: what went wrong, and what the caller can do about it.

use std::time::Duration;

use serde::Deserialize;

use crate::policy::hujson::HujsonError;

/// Everything a [`TailscaleClient`](crate::TailscaleClient) call can fail with.
///
/// Messages never contain secrets. Ask the predicates ([`Error::is_not_found`],
/// [`Error::is_retryable`], ...) rather than matching on status codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given to the client was rejected before anything was sent.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// Which input was rejected (e.g. `auth key description`).
        field: &'static str,
        /// Why, and what is allowed.
        reason: String,
    },

    /// No usable credentials were configured or found in the environment.
    #[error(
        "no usable tailscale credentials: {reason}; set TS_API_KEY, or TS_OAUTH_CLIENT_ID and TS_OAUTH_CLIENT_SECRET"
    )]
    MissingCredentials {
        /// What is missing or contradictory.
        reason: String,
    },

    /// The OAuth token endpoint refused to issue an access token.
    #[error(
        "oauth token request failed{}: {message}; check the oauth client id and secret and that the client still exists",
        status.map(|s| format!(" with status {s}")).unwrap_or_default()
    )]
    OAuthToken {
        /// HTTP status of the token endpoint, if it answered.
        status: Option<u16>,
        /// The endpoint's explanation.
        message: String,
    },

    /// HTTP 401: the credential is not valid (wrong, expired or revoked).
    #[error(
        "{operation} was rejected as unauthenticated (401): {message}; check that the api access token or oauth client secret is valid, not expired and not revoked"
    )]
    Unauthorized {
        /// The operation that failed (e.g. `list devices`).
        operation: &'static str,
        /// The API's message.
        message: String,
    },

    /// HTTP 403: the credential is valid but lacks a scope or role.
    #[error(
        "{operation} is not permitted (403): {message}; an oauth client needs the `{scope}` scope, an api access token must belong to an owner, admin, it admin or network admin"
    )]
    PermissionDenied {
        /// The operation that failed.
        operation: &'static str,
        /// The OAuth scope this operation requires.
        scope: &'static str,
        /// The API's message.
        message: String,
    },

    /// HTTP 404: the tailnet, device or key does not exist.
    #[error("{operation} found nothing (404): {message}; check the tailnet name and the id")]
    NotFound {
        /// The operation that failed.
        operation: &'static str,
        /// The API's message.
        message: String,
    },

    /// HTTP 400: the API rejected the request (invalid tags, invalid policy, ...).
    #[error(
        "{operation} was rejected (400): {message}{}; correct the request as the message says (tags must be defined in the policy file's tagOwners and owned by the caller)",
        findings_suffix(details)
    )]
    BadRequest {
        /// The operation that failed.
        operation: &'static str,
        /// The API's message, e.g. `requested tags [tag:x] are invalid or not permitted`.
        message: String,
        /// Per-user details (policy test failures), possibly empty.
        details: Vec<ApiFinding>,
    },

    /// HTTP 412: the policy file changed since it was read; nothing was written.
    #[error(
        "the policy file was changed by someone else (412): {message}; fetch it again, reapply the edit and save again"
    )]
    PolicyConflict {
        /// The API's message.
        message: String,
    },

    /// HTTP 429 persisted through every retry.
    #[error(
        "{operation} is still rate limited (429) after {attempts} attempts; wait a minute and retry"
    )]
    RateLimited {
        /// The operation that failed.
        operation: &'static str,
        /// How many requests were sent.
        attempts: u32,
    },

    /// A 5xx answer (other than 501) persisted through every retry.
    #[error(
        "{operation} failed with server error {status} after {attempts} attempts: {message}; retry later"
    )]
    Server {
        /// The operation that failed.
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// The API's message.
        message: String,
        /// How many requests were sent.
        attempts: u32,
    },

    /// Any other non-success answer (409, 501, ...).
    #[error(
        "{operation} failed with status {status}: {message}; the api refused this request for the object it names, so check that object (e.g. a device shared in from another tailnet cannot be deleted)"
    )]
    Api {
        /// The operation that failed.
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// The API's message.
        message: String,
    },

    /// The API could not be reached (DNS, TLS, connection, timeout).
    #[error(
        "{operation} could not reach the tailscale api: {reason}; check the base url and network connectivity"
    )]
    Transport {
        /// The operation that failed.
        operation: &'static str,
        /// The transport's explanation.
        reason: String,
    },

    /// A success answer could not be decoded.
    #[error(
        "{operation} returned a response that could not be decoded: {reason}; the api may have changed, please report it"
    )]
    Decode {
        /// The operation that failed.
        operation: &'static str,
        /// The decoder's explanation.
        reason: String,
    },

    /// The policy file text is not valid HuJSON.
    #[error(transparent)]
    Hujson(#[from] HujsonError),

    /// Auth key tags have no owner in the policy file, so key creation would fail.
    #[error(
        "tags {tags:?} have no owner in the policy file's tagOwners; add them (Policy::ensure_tag_owner) and save the policy before creating the key"
    )]
    TagsNotOwned {
        /// The tags without a suitable owner.
        tags: Vec<String>,
    },

    /// A wait did not see the expected state in time.
    #[error(
        "timed out after {waited:?} waiting for {what}; last seen: {last_seen}; check the node's tailscale service, or wait longer if it is still starting"
    )]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the wait lasted.
        waited: Duration,
        /// The last state observed, to help diagnose.
        last_seen: String,
    },
}

/// One entry of the `data` array of an API error or a policy validation answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiFinding {
    /// The user (or tag) the finding is about, if any.
    #[serde(default)]
    pub user: Option<String>,
    /// Errors for this user.
    #[serde(default, deserialize_with = "crate::nullable::or_default")]
    pub errors: Vec<String>,
    /// Warnings for this user.
    #[serde(default, deserialize_with = "crate::nullable::or_default")]
    pub warnings: Vec<String>,
}

fn findings_suffix(details: &[ApiFinding]) -> String {
    let lines: Vec<String> = details
        .iter()
        .flat_map(|d| {
            let who = d.user.clone().unwrap_or_default();
            d.errors.iter().map(move |e| format!("{who}: {e}"))
        })
        .collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!(" ({})", lines.join("; "))
    }
}

impl Error {
    /// True when the thing addressed does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// True when retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited { .. }
            | Error::Server { .. }
            | Error::Transport { .. }
            | Error::Timeout { .. } => true,
            Error::OAuthToken { status, .. } => {
                status.is_none_or(|s| s == 429 || (s >= 500 && s != 501))
            }
            _ => false,
        }
    }

    /// True when the credential is invalid or lacks a scope or role (401/403).
    pub fn is_permission_denied(&self) -> bool {
        matches!(
            self,
            Error::Unauthorized { .. } | Error::PermissionDenied { .. }
        )
    }

    /// True when a policy file save lost a race with another edit (412).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::PolicyConflict { .. })
    }

    /// The HTTP status behind this error, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { .. } => Some(401),
            Error::PermissionDenied { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::BadRequest { .. } => Some(400),
            Error::PolicyConflict { .. } => Some(412),
            Error::RateLimited { .. } => Some(429),
            Error::Server { status, .. } | Error::Api { status, .. } => Some(*status),
            Error::OAuthToken { status, .. } => *status,
            _ => None,
        }
    }
}

/// Convenience alias for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
