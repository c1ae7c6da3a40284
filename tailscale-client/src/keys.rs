//! Auth keys: create (validated client-side), list, get, delete.

use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;

use crate::client::TailscaleClient;
use crate::error::{Error, Result};
use crate::transport::{ApiRequest, Endpoint};

/// Longest lifetime the API accepts for an auth key.
pub const MAX_AUTH_KEY_EXPIRY: Duration = Duration::from_secs(90 * 24 * 3600);
/// Longest auth key description the API accepts, in characters.
pub const MAX_DESCRIPTION_LEN: usize = 50;

const CREATE: Endpoint = Endpoint {
    operation: "create auth key",
    scope: "auth_keys",
};
const LIST: Endpoint = Endpoint {
    operation: "list keys",
    scope: "auth_keys:read",
};
const GET: Endpoint = Endpoint {
    operation: "get key",
    scope: "auth_keys:read",
};
const DELETE: Endpoint = Endpoint {
    operation: "delete key",
    scope: "auth_keys",
};

/// A key as the API describes it (the `Key` schema), without its secret.
///
/// Every field is optional on the wire; missing ones decode to `None`/empty.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct AuthKey {
    /// Key id, e.g. `k123456CNTRL`.
    pub id: String,
    /// `auth`, `client`, `api` or `federated`.
    pub key_type: Option<String>,
    /// Free-text description.
    pub description: Option<String>,
    /// When the key was created.
    #[serde(with = "crate::lenient_time")]
    pub created: Option<OffsetDateTime>,
    /// When the key expires.
    #[serde(with = "crate::lenient_time")]
    pub expires: Option<OffsetDateTime>,
    /// When the key was revoked, if it was.
    #[serde(with = "crate::lenient_time")]
    pub revoked: Option<OffsetDateTime>,
    /// True for a revoked, deleted or expired key.
    pub invalid: bool,
    /// Lifetime in seconds (auth keys).
    pub expiry_seconds: Option<i64>,
    /// What devices registering with this key get (auth keys).
    pub capabilities: Option<KeyCapabilities>,
    /// Scopes (OAuth clients, federated identities).
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub scopes: Vec<String>,
    /// Tags (OAuth clients, federated identities).
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub tags: Vec<String>,
    /// Owning user; empty for keys created by trust credentials.
    pub user_id: Option<String>,
}

impl AuthKey {
    /// The device-creation capabilities, or the defaults when absent.
    pub fn device_create(&self) -> DeviceCreateCapabilities {
        self.capabilities
            .as_ref()
            .map(|c| c.devices.create.clone())
            .unwrap_or_default()
    }

    /// True when a node could still register with this key at `now`: not flagged invalid,
    /// not revoked, not expired.
    pub fn is_usable_at(&self, now: OffsetDateTime) -> bool {
        !self.invalid && self.revoked.is_none() && self.expires.is_none_or(|e| e > now)
    }
}

/// `capabilities` of an auth key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct KeyCapabilities {
    /// Device capabilities.
    pub devices: DeviceCapabilities,
}

/// `capabilities.devices` of an auth key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DeviceCapabilities {
    /// `capabilities.devices.create`.
    pub create: DeviceCreateCapabilities,
}

/// What a device registering with the key becomes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct DeviceCreateCapabilities {
    /// The key can register more than one device.
    pub reusable: bool,
    /// Devices are removed after they go offline.
    pub ephemeral: bool,
    /// Devices need no manual authorization.
    pub preauthorized: bool,
    /// Tags the devices get.
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub tags: Vec<String>,
}

/// A freshly created auth key and its secret, which the API returns only once.
#[derive(Debug)]
#[non_exhaustive]
pub struct CreatedAuthKey {
    /// The key's metadata.
    pub key: AuthKey,
    /// The secret (`tskey-auth-...`) for `TS_AUTHKEY`. Store it; it cannot be read again.
    pub secret: SecretString,
}

/// What a delete found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The object existed and was deleted.
    Deleted,
    /// The API answered 404: it was already gone.
    AlreadyGone,
}

/// Auth key operations; from [`TailscaleClient::keys`].
#[derive(Debug, Clone, Copy)]
pub struct Keys<'c> {
    client: &'c TailscaleClient,
}

impl TailscaleClient {
    /// Auth key operations.
    pub fn keys(&self) -> Keys<'_> {
        Keys { client: self }
    }
}

impl<'c> Keys<'c> {
    fn path(&self) -> Vec<String> {
        vec![
            "tailnet".to_owned(),
            self.client.inner.tailnet.clone(),
            "keys".to_owned(),
        ]
    }

    /// Starts building an auth key; finish with [`CreateAuthKey::send`].
    ///
    /// # Usage
    /// ```no_run
    /// # async fn demo(client: tailscale_client::TailscaleClient) -> Result<(), tailscale_client::Error> {
    /// use std::time::Duration;
    /// let created = client
    ///     .keys()
    ///     .create()
    ///     .reusable(true)
    ///     .preauthorized(true)
    ///     .tags(["tag:talos"])
    ///     .expiry(Duration::from_secs(7 * 24 * 3600))
    ///     .description("talos rollout")
    ///     .send()
    ///     .await?;
    /// println!("created key {}", created.key.id);
    /// # Ok(()) }
    /// ```
    pub fn create(&self) -> CreateAuthKey<'c> {
        CreateAuthKey {
            client: self.client,
            capabilities: DeviceCreateCapabilities::default(),
            expiry: None,
            description: None,
        }
    }

    /// Lists every key of the tailnet (`all=true`): auth keys, API access tokens and OAuth
    /// clients.
    ///
    /// # Errors
    /// API errors as [`Error`]; a credential without `auth_keys:read` gets
    /// [`Error::PermissionDenied`].
    pub async fn list(&self) -> Result<Vec<AuthKey>> {
        #[derive(Deserialize)]
        struct KeyList {
            #[serde(default, deserialize_with = "crate::nullable::or_default")]
            keys: Vec<AuthKey>,
        }
        let request = ApiRequest::get(LIST, self.path()).query("all", "true");
        let list: KeyList = self.client.inner.send(request).await?.json()?;
        Ok(list.keys)
    }

    /// Gets one key. A revoked or expired key is returned with `invalid: true`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the key does not exist (any more).
    pub async fn get(&self, key_id: &str) -> Result<AuthKey> {
        let mut path = self.path();
        path.push(key_id.to_owned());
        self.client
            .inner
            .send(ApiRequest::get(GET, path))
            .await?
            .json()
    }

    /// Deletes (revokes) a key; a key that is already gone is not an error.
    ///
    /// # Errors
    /// API errors other than 404.
    pub async fn delete(&self, key_id: &str) -> Result<Deleted> {
        let mut path = self.path();
        path.push(key_id.to_owned());
        match self
            .client
            .inner
            .send(ApiRequest::new(DELETE, Method::DELETE, path))
            .await
        {
            Ok(_) => Ok(Deleted::Deleted),
            Err(e) if e.is_not_found() => Ok(Deleted::AlreadyGone),
            Err(e) => Err(e),
        }
    }
}

/// Builder for a new auth key; from [`Keys::create`].
#[derive(Debug)]
#[must_use = "nothing is created until `.send().await`"]
pub struct CreateAuthKey<'c> {
    client: &'c TailscaleClient,
    capabilities: DeviceCreateCapabilities,
    expiry: Option<Duration>,
    description: Option<String>,
}

impl CreateAuthKey<'_> {
    /// The key can register more than one device (default false).
    pub fn reusable(mut self, yes: bool) -> Self {
        self.capabilities.reusable = yes;
        self
    }

    /// Devices are removed soon after going offline (default false).
    pub fn ephemeral(mut self, yes: bool) -> Self {
        self.capabilities.ephemeral = yes;
        self
    }

    /// Devices need no manual authorization (default false).
    pub fn preauthorized(mut self, yes: bool) -> Self {
        self.capabilities.preauthorized = yes;
        self
    }

    /// Tags the devices get (each `tag:<name>`; required with OAuth credentials).
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.capabilities.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Lifetime, whole seconds, at most 90 days (the API's default when not set).
    pub fn expiry(mut self, expiry: Duration) -> Self {
        self.expiry = Some(expiry);
        self
    }

    /// Description: at most 50 letters, digits, hyphens and spaces.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Validates the settings, then creates the key.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] (nothing sent) for an expiry of zero or over 90 days, a
    /// description that is too long or has other characters, a malformed tag, or no tags
    /// while authenticating with OAuth client credentials;
    /// [`Error::BadRequest`] when the API refuses the tags (define them in `tagOwners`,
    /// see [`Policy::unowned_tags`](crate::Policy::unowned_tags)).
    pub async fn send(self) -> Result<CreatedAuthKey> {
        let body = self.request_body()?;
        let path = vec![
            "tailnet".to_owned(),
            self.client.inner.tailnet.clone(),
            "keys".to_owned(),
        ];
        let request = ApiRequest::new(CREATE, Method::POST, path).json(body);
        let response = self.client.inner.send(request).await?;

        #[derive(Deserialize)]
        struct WithSecret {
            key: Option<SecretString>,
        }
        let secret = response.json::<WithSecret>()?.key.ok_or(Error::Decode {
            operation: CREATE.operation,
            reason: "the response has no `key` secret".to_owned(),
        })?;
        Ok(CreatedAuthKey {
            key: response.json()?,
            secret,
        })
    }

    fn request_body(&self) -> Result<serde_json::Value> {
        if self.capabilities.tags.is_empty() && self.client.inner.auth.is_oauth() {
            return Err(Error::InvalidInput {
                field: "auth key tags",
                reason: "keys created with oauth client credentials must carry tags; add the oauth client's tags (or tags they own)".to_owned(),
            });
        }
        for tag in &self.capabilities.tags {
            crate::tags::validate_tag(tag)?;
        }
        let mut body = json!({
            "keyType": "auth",
            "capabilities": { "devices": { "create": {
                "reusable": self.capabilities.reusable,
                "ephemeral": self.capabilities.ephemeral,
                "preauthorized": self.capabilities.preauthorized,
                "tags": self.capabilities.tags,
            } } },
        });
        if let Some(expiry) = self.expiry {
            body["expirySeconds"] = json!(validate_expiry(expiry)?);
        }
        if let Some(description) = &self.description {
            validate_description(description)?;
            body["description"] = json!(description);
        }
        Ok(body)
    }
}

fn validate_expiry(expiry: Duration) -> Result<u64> {
    if expiry > MAX_AUTH_KEY_EXPIRY {
        return Err(Error::InvalidInput {
            field: "auth key expiry",
            reason: format!(
                "{} seconds is longer than the 90 days ({} seconds) the api allows; use an oauth client to mint keys on demand",
                expiry.as_secs_f64(),
                MAX_AUTH_KEY_EXPIRY.as_secs()
            ),
        });
    }
    if expiry.as_secs() == 0 {
        return Err(Error::InvalidInput {
            field: "auth key expiry",
            reason: "must be at least one second".to_owned(),
        });
    }
    Ok(expiry.as_secs())
}

fn validate_description(description: &str) -> Result<()> {
    let count = description.chars().count();
    if count > MAX_DESCRIPTION_LEN {
        return Err(Error::InvalidInput {
            field: "auth key description",
            reason: format!("{count} characters, at most {MAX_DESCRIPTION_LEN} are allowed"),
        });
    }
    if let Some(bad) = description
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == ' '))
    {
        return Err(Error::InvalidInput {
            field: "auth key description",
            reason: format!("{bad:?} is not allowed; use letters, digits, hyphens and spaces"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ninety_days_is_allowed_and_one_second_more_is_not() {
        assert_eq!(validate_expiry(MAX_AUTH_KEY_EXPIRY).unwrap(), 7_776_000);
        let err = validate_expiry(MAX_AUTH_KEY_EXPIRY + Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("90 days"), "{err}");
    }

    #[test]
    fn zero_expiry_is_rejected() {
        assert!(validate_expiry(Duration::ZERO).is_err());
    }

    #[test]
    fn description_allows_letters_digits_hyphens_spaces() {
        validate_description("talos rollout-2026 v1").unwrap();
    }

    #[test]
    fn description_rejects_other_characters() {
        let err = validate_description("talos_rollout").unwrap_err();
        assert!(err.to_string().contains("'_'"), "{err}");
    }

    #[test]
    fn description_of_fifty_one_characters_is_rejected() {
        assert!(validate_description(&"a".repeat(50)).is_ok());
        assert!(validate_description(&"a".repeat(51)).is_err());
    }

    #[test]
    fn key_usability_follows_invalid_revoked_and_expiry() {
        let now = OffsetDateTime::now_utc();
        let mut key = AuthKey {
            expires: Some(now + time::Duration::days(1)),
            ..AuthKey::default()
        };
        assert!(key.is_usable_at(now));
        key.invalid = true;
        assert!(!key.is_usable_at(now));
        key.invalid = false;
        key.expires = Some(now - time::Duration::days(1));
        assert!(!key.is_usable_at(now));
    }
}
