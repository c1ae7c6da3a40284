//! Auth keys: creation rules, lifecycle (expiry, single use, revocation) and their JSON form.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::time::Instant;

use super::api_error::ApiError;
use super::ids;
use super::policy::PolicyRules;
use crate::clock::{SimClock, rfc3339};

/// The longest auth key lifetime Tailscale offers, and the default.
pub(crate) const MAX_KEY_LIFETIME: Duration = Duration::from_secs(90 * 24 * 60 * 60);
const MAX_DESCRIPTION_LEN: usize = 50;

/// The body of `POST /tailnet/{t}/keys`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateKeyRequest {
    key_type: Option<String>,
    capabilities: Option<Capabilities>,
    expiry_seconds: Option<i64>,
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Capabilities {
    devices: Option<DeviceCapabilities>,
}

#[derive(Debug, Deserialize, Default)]
struct DeviceCapabilities {
    #[serde(default)]
    create: CreateCapabilities,
}

#[derive(Debug, Deserialize, Default, Clone)]
struct CreateCapabilities {
    #[serde(default)]
    reusable: bool,
    #[serde(default)]
    ephemeral: bool,
    #[serde(default)]
    preauthorized: bool,
    #[serde(default)]
    tags: Vec<String>,
}

impl CreateKeyRequest {
    /// The single-use key `tailscale up` mints itself when given an OAuth client secret.
    pub(crate) fn for_oauth_login(tags: &[String], ephemeral: bool, preauthorized: bool) -> Self {
        Self {
            key_type: Some("auth".to_owned()),
            capabilities: Some(Capabilities {
                devices: Some(DeviceCapabilities {
                    create: CreateCapabilities {
                        reusable: false,
                        ephemeral,
                        preauthorized,
                        tags: tags.to_vec(),
                    },
                }),
            }),
            expiry_seconds: None,
            description: Some("minted by tailscale up".to_owned()),
        }
    }
}

/// Why an auth key cannot register a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyUnusable {
    Expired,
    Revoked,
    Consumed,
}

/// An auth key stored by the tailnet.
#[derive(Debug, Clone)]
pub(crate) struct AuthKey {
    pub(crate) id: String,
    secret: String,
    created: OffsetDateTime,
    expires: OffsetDateTime,
    expires_at: Instant,
    expiry_seconds: i64,
    description: String,
    capabilities: CreateCapabilities,
    revoked: Option<OffsetDateTime>,
    consumed: bool,
    user_id: String,
}

/// Who is calling the API: a tailnet admin's API token, or an OAuth client with tags.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    Admin,
    OAuthClient { tags: Vec<String> },
}

impl AuthKey {
    /// Validates a creation request the way the API does and mints the key.
    pub(crate) fn create(
        request: CreateKeyRequest,
        caller: &Caller,
        rules: &PolicyRules,
        clock: &SimClock,
    ) -> Result<Self, ApiError> {
        match request.key_type.as_deref() {
            None | Some("auth") => {}
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "key type {other:?} is not supported by the simulated tailnet; use \"auth\""
                )));
            }
        }
        let capabilities = request
            .capabilities
            .and_then(|c| c.devices)
            .ok_or_else(|| ApiError::bad_request("capabilities.devices is required for auth keys"))?
            .create;
        let lifetime = expiry(request.expiry_seconds)?;
        let description = request.description.unwrap_or_default();
        validate_description(&description)?;
        let caller_tags = match caller {
            Caller::Admin => None,
            Caller::OAuthClient { tags } => {
                if capabilities.tags.is_empty() {
                    return Err(ApiError::bad_request(
                        "tags are required when creating auth keys with an OAuth client",
                    ));
                }
                Some(tags.as_slice())
            }
        };
        let unpermitted = rules.unpermitted_tags(&capabilities.tags, caller_tags);
        if !unpermitted.is_empty() {
            return Err(ApiError::tags_not_permitted(&unpermitted));
        }
        let id = ids::key_id();
        let secret = format!("tskey-auth-{id}-{}", ids::random_token(32));
        let created = clock.now();
        Ok(Self {
            secret,
            created,
            expires: created + lifetime,
            expires_at: clock.instant() + lifetime,
            expiry_seconds: i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX),
            description,
            capabilities,
            revoked: None,
            consumed: false,
            user_id: match caller {
                Caller::Admin => ids::user_id(),
                Caller::OAuthClient { .. } => String::new(),
            },
            id,
        })
    }

    /// The secret (`tskey-auth-…`).
    pub(crate) fn secret(&self) -> &str {
        &self.secret
    }

    /// Whether `secret` is this key's secret.
    pub(crate) fn has_secret(&self, secret: &str) -> bool {
        self.secret == secret
    }

    /// Why the key cannot be used now, if it cannot.
    pub(crate) fn unusable(&self, now: Instant) -> Option<KeyUnusable> {
        if self.revoked.is_some() {
            Some(KeyUnusable::Revoked)
        } else if self.consumed {
            Some(KeyUnusable::Consumed)
        } else if now >= self.expires_at {
            Some(KeyUnusable::Expired)
        } else {
            None
        }
    }

    /// Marks a single-use key as used by a registration.
    pub(crate) fn record_use(&mut self) {
        if !self.capabilities.reusable {
            self.consumed = true;
        }
    }

    /// Revokes the key (`DELETE /keys/{id}`).
    pub(crate) fn revoke(&mut self, at: OffsetDateTime) {
        self.revoked.get_or_insert(at);
    }

    /// Whether `GET /keys/{id}` still finds the key: consumed single-use keys are gone.
    pub(crate) fn is_listed(&self) -> bool {
        !self.consumed
    }

    pub(crate) fn tags(&self) -> &[String] {
        &self.capabilities.tags
    }

    pub(crate) fn is_ephemeral(&self) -> bool {
        self.capabilities.ephemeral
    }

    pub(crate) fn is_preauthorized(&self) -> bool {
        self.capabilities.preauthorized
    }

    /// The API's `Key` object; the secret only when `with_secret` (the create response).
    pub(crate) fn to_json(&self, now: Instant, with_secret: bool) -> Value {
        let create = &self.capabilities;
        let mut key = json!({
            "id": self.id,
            "keyType": "auth",
            "created": rfc3339(self.created),
            "updated": rfc3339(self.created),
            "expires": rfc3339(self.expires),
            "expirySeconds": self.expiry_seconds,
            "capabilities": { "devices": { "create": {
                "reusable": create.reusable,
                "ephemeral": create.ephemeral,
                "preauthorized": create.preauthorized,
                "tags": create.tags,
            } } },
            "description": self.description,
            "invalid": self.unusable(now).is_some(),
            "userId": self.user_id,
        });
        if let Some(map) = key.as_object_mut() {
            if with_secret {
                map.insert("key".to_owned(), json!(self.secret));
            }
            if let Some(revoked) = self.revoked {
                map.insert("revoked".to_owned(), json!(rfc3339(revoked)));
            }
        }
        key
    }
}

fn expiry(seconds: Option<i64>) -> Result<Duration, ApiError> {
    match seconds {
        None | Some(0) => Ok(MAX_KEY_LIFETIME),
        Some(s) if s < 0 => Err(ApiError::bad_request("expirySeconds must not be negative")),
        Some(s) => {
            let lifetime = Duration::from_secs(s.unsigned_abs());
            if lifetime > MAX_KEY_LIFETIME {
                return Err(ApiError::bad_request(
                    "expirySeconds must be at most 90 days (7776000 seconds)",
                ));
            }
            Ok(lifetime)
        }
    }
}

fn validate_description(description: &str) -> Result<(), ApiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == ' ';
    if description.chars().count() > MAX_DESCRIPTION_LEN || !description.chars().all(allowed) {
        return Err(ApiError::bad_request(
            "description must be at most 50 characters of letters, digits, hyphens and spaces",
        ));
    }
    Ok(())
}
