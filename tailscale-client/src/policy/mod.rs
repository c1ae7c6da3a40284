//! The tailnet policy file: get (HuJSON or JSON) with its ETag, validate, and save with
//! `If-Match` so a concurrent edit is never overwritten.
//!
//! [`Policy`] keeps the file's text as the user wrote it. The helpers in [`rules`] read it
//! and, when asked, add entries *into the text*: comments, blank lines, key order,
//! indentation and every untouched value are preserved byte-for-byte. New entries are
//! written as compact JSON on their own line with the indentation of their siblings (or
//! inline in a single-line container), with a trailing comma when the last existing entry
//! has one. What is not preserved: nothing is removed or rewritten, so a file read as
//! plain JSON stays plain JSON; a missing parent (e.g. `autoApprovers`) is added as one
//! compact line; keys inside new entries are in alphabetical order.

pub(crate) mod hujson;
pub mod rules;

use serde::Deserialize;
use serde_json::Value;

use crate::client::TailscaleClient;
use crate::error::{ApiFinding, Error, Result};
use crate::transport::{ApiRequest, Body, Endpoint, HUJSON, JSON};
use hujson::Document;

pub use hujson::HujsonError;

const GET: Endpoint = Endpoint {
    operation: "get policy file",
    scope: "policy_file:read",
};
const SET: Endpoint = Endpoint {
    operation: "set policy file",
    scope: "policy_file",
};
const VALIDATE: Endpoint = Endpoint {
    operation: "validate policy file",
    scope: "policy_file:read",
};

/// The representation to fetch the policy file in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyFormat {
    /// The file as stored, with comments (`Accept: application/hujson`).
    HuJson,
    /// Plain JSON without comments (`Accept: application/json`).
    Json,
}

/// A policy file: its text, its parsed value, and the ETag it was read with.
#[derive(Debug, Clone)]
pub struct Policy {
    document: Document,
    value: Value,
    etag: Option<String>,
}

impl Policy {
    /// Parses policy text (HuJSON or JSON). The result has no ETag, so saving it replaces
    /// the file unconditionally; use [`Policy::with_etag`] or fetch with
    /// [`PolicyFile::get`].
    ///
    /// # Errors
    /// [`Error::Hujson`] with line and column for invalid text, [`Error::InvalidInput`]
    /// when the top level is not an object.
    pub fn parse(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        let document = Document::parse(&text)?;
        let value = document.value()?;
        if !value.is_object() {
            return Err(Error::InvalidInput {
                field: "policy file",
                reason: "the top level must be an object".to_owned(),
            });
        }
        Ok(Policy {
            document,
            value,
            etag: None,
        })
    }

    /// The same policy, to be saved only if the file still has `etag`.
    pub fn with_etag(mut self, etag: impl Into<String>) -> Self {
        self.etag = Some(etag.into());
        self
    }

    /// The file text, exactly as read or as edited.
    pub fn text(&self) -> &str {
        self.document.text()
    }

    /// The parsed policy.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The ETag the file was read with, if any.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// Replaces the text with an edited version (keeping the ETag).
    pub(crate) fn replace_text(&mut self, text: String) -> Result<()> {
        let edited = Policy::parse(text)?;
        self.document = edited.document;
        self.value = edited.value;
        Ok(())
    }

    pub(crate) fn document(&self) -> &Document {
        &self.document
    }
}

/// What validating a policy found. The API answers 200 even when validation fails.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PolicyValidation {
    /// Summary such as `test(s) failed`; `None` when the policy passed.
    pub message: Option<String>,
    /// Errors and warnings per user.
    #[serde(deserialize_with = "crate::nullable::or_default")]
    pub data: Vec<ApiFinding>,
}

impl PolicyValidation {
    /// True when the policy is valid and its tests pass.
    pub fn passed(&self) -> bool {
        self.message.as_deref().is_none_or(str::is_empty)
    }
}

/// What [`PolicyFile::modify`] did.
#[derive(Debug, Clone)]
pub struct Modified {
    /// The policy as read before the (last) edit.
    pub before: Policy,
    /// The policy as saved; `None` when the edit changed nothing and nothing was written.
    pub saved: Option<Policy>,
    /// Reads it took (more than one when someone else saved in between).
    pub attempts: u32,
}

/// Policy file operations; from [`TailscaleClient::policy`].
#[derive(Debug, Clone, Copy)]
pub struct PolicyFile<'c> {
    client: &'c TailscaleClient,
}

impl TailscaleClient {
    /// Policy file operations.
    pub fn policy(&self) -> PolicyFile<'_> {
        PolicyFile { client: self }
    }
}

impl PolicyFile<'_> {
    fn path(&self, rest: &[&str]) -> Vec<String> {
        let mut path = vec![
            "tailnet".to_owned(),
            self.client.inner.tailnet.clone(),
            "acl".to_owned(),
        ];
        path.extend(rest.iter().map(|s| (*s).to_owned()));
        path
    }

    /// Fetches the policy file with its ETag.
    ///
    /// # Errors
    /// API errors; [`Error::Hujson`] if the file cannot be parsed.
    pub async fn get(&self, format: PolicyFormat) -> Result<Policy> {
        let accept = match format {
            PolicyFormat::HuJson => HUJSON,
            PolicyFormat::Json => JSON,
        };
        let response = self
            .client
            .inner
            .send(ApiRequest::get(GET, self.path(&[])).accept(accept))
            .await?;
        let policy = Policy::parse(response.text()?)?;
        Ok(match response.etag {
            Some(etag) => policy.with_etag(etag),
            None => policy,
        })
    }

    /// Validates `policy` (syntax, semantics and its `tests`) without changing anything.
    ///
    /// # Errors
    /// API errors; a failed validation is not an error but
    /// [`PolicyValidation::passed`] `== false`.
    pub async fn validate(&self, policy: &Policy) -> Result<PolicyValidation> {
        let request = ApiRequest::post_idempotent(VALIDATE, self.path(&["validate"]))
            .body(Body::HuJson(policy.text().to_owned()));
        let response = self.client.inner.send(request).await?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(PolicyValidation::default());
        }
        response.json()
    }

    /// Saves `policy` as the tailnet's policy file, comments included. With an ETag
    /// (from [`PolicyFile::get`]) the file is replaced only if nobody changed it since.
    ///
    /// # Errors
    /// [`Error::PolicyConflict`] (nothing written) when the file changed since it was
    /// read; [`Error::BadRequest`] with details when the policy is invalid or its tests
    /// fail.
    ///
    /// # Usage
    /// ```no_run
    /// # async fn demo(client: tailscale_client::TailscaleClient) -> Result<(), tailscale_client::Error> {
    /// use tailscale_client::PolicyFormat;
    /// let mut policy = client.policy().get(PolicyFormat::HuJson).await?;
    /// if policy.ensure_tag_owner("tag:talos", "autogroup:admin")? {
    ///     policy = client.policy().set(&policy).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn set(&self, policy: &Policy) -> Result<Policy> {
        let mut request = ApiRequest::new(SET, reqwest::Method::POST, self.path(&[]))
            .body(Body::HuJson(policy.text().to_owned()))
            .accept(JSON);
        if let Some(etag) = policy.etag() {
            request = request.if_match(etag);
        }
        let response = self.client.inner.send(request).await?;
        let saved = Policy {
            document: policy.document.clone(),
            value: policy.value.clone(),
            etag: None,
        };
        Ok(match response.etag {
            Some(etag) => saved.with_etag(etag),
            None => saved,
        })
    }

    /// Read-modify-write without losing anyone's edit: reads the policy file (HuJSON, with
    /// its ETag), lets `edit` change it (`Ok(false)`: nothing to change, nothing is written),
    /// validates the result, and saves it with `If-Match`. When someone else saved in between
    /// (412), it reads the file again and repeats the edit, up to `attempts` times.
    ///
    /// # Errors
    /// `edit`'s error (nothing saved); [`Error::InvalidInput`] when the edited policy does
    /// not validate (nothing saved); [`Error::PolicyConflict`] when the file kept changing
    /// for every attempt (nothing overwritten); API errors.
    ///
    /// # Usage
    /// ```no_run
    /// # async fn demo(client: tailscale_client::TailscaleClient) -> Result<(), tailscale_client::Error> {
    /// let modified = client
    ///     .policy()
    ///     .modify(3, |policy| policy.ensure_tag_owner("tag:k8s", "autogroup:admin"))
    ///     .await?;
    /// println!("saved: {}", modified.saved.is_some());
    /// # Ok(()) }
    /// ```
    pub async fn modify(
        &self,
        attempts: u32,
        mut edit: impl FnMut(&mut Policy) -> Result<bool>,
    ) -> Result<Modified> {
        let mut last_conflict = None;
        for attempt in 1..=attempts.max(1) {
            let mut policy = self.get(PolicyFormat::HuJson).await?;
            let before = policy.clone();
            if !edit(&mut policy)? {
                return Ok(Modified {
                    before,
                    saved: None,
                    attempts: attempt,
                });
            }
            let validation = self.validate(&policy).await?;
            if !validation.passed() {
                let message = validation
                    .message
                    .unwrap_or_else(|| "validation failed".to_owned());
                return Err(Error::InvalidInput {
                    field: "policy file",
                    reason: format!(
                        "the edited policy does not validate ({message}); nothing was saved, fix the policy file by hand"
                    ),
                });
            }
            match self.set(&policy).await {
                Ok(saved) => {
                    return Ok(Modified {
                        before,
                        saved: Some(saved),
                        attempts: attempt,
                    });
                }
                Err(error) if error.is_conflict() => {
                    tracing::info!(
                        attempt,
                        "the policy file changed while it was edited; reading it again"
                    );
                    last_conflict = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
        Err(last_conflict.unwrap_or_else(|| Error::PolicyConflict {
            message: "the policy file kept changing".to_owned(),
        }))
    }

    /// Checks, against the current policy file, that auth keys with `tags` can be created
    /// by a credential owning `owner` (e.g. the OAuth client's tag), so key creation does
    /// not fail halfway through a rollout. See [`Policy::unowned_tags`].
    ///
    /// # Errors
    /// [`Error::TagsNotOwned`] listing the tags to add to `tagOwners`; API errors.
    pub async fn check_key_tags<S: AsRef<str>>(
        &self,
        tags: &[S],
        owner: Option<&str>,
    ) -> Result<()> {
        let policy = self.get(PolicyFormat::HuJson).await?;
        let unowned = policy.unowned_tags(tags, owner);
        if unowned.is_empty() {
            Ok(())
        } else {
            Err(Error::TagsNotOwned { tags: unowned })
        }
    }
}
