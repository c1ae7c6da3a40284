//! Turns [`Credentials`] into a bearer token, caching and refreshing OAuth access tokens.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::credentials::Credentials;
use crate::error::{Error, Result};

/// Lifetime assumed when the token endpoint does not say (the documented one hour).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// How long before expiry a cached token is replaced, at most.
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Why no access token could be had, and how long the token endpoint asked to wait
/// (`Retry-After`) before asking again.
pub(crate) struct TokenRefused {
    pub(crate) error: Error,
    pub(crate) retry_after: Option<Duration>,
}

impl From<Error> for TokenRefused {
    fn from(error: Error) -> Self {
        TokenRefused {
            error,
            retry_after: None,
        }
    }
}

/// Supplies the bearer token for each request.
pub(crate) enum Authenticator {
    /// A fixed API access token.
    Static(SecretString),
    /// OAuth client credentials with a cached access token.
    OAuth(Box<OAuthTokenSource>),
}

impl Authenticator {
    pub(crate) fn new(credentials: Credentials, token_url: Url) -> Self {
        match credentials {
            Credentials::ApiKey(key) => Authenticator::Static(key),
            Credentials::OAuth {
                client_id,
                client_secret,
                scopes,
            } => Authenticator::OAuth(Box::new(OAuthTokenSource {
                token_url,
                client_id,
                client_secret,
                scopes,
                cached: Mutex::new(None),
            })),
        }
    }

    /// True for OAuth client credentials (whose keys must carry tags).
    pub(crate) fn is_oauth(&self) -> bool {
        matches!(self, Authenticator::OAuth(_))
    }

    /// The token to send now, fetching a fresh one if the cached one is (nearly) expired.
    pub(crate) async fn bearer(
        &self,
        http: &reqwest::Client,
    ) -> Result<SecretString, TokenRefused> {
        match self {
            Authenticator::Static(key) => Ok(key.clone()),
            Authenticator::OAuth(source) => source.token(http).await,
        }
    }

    /// Forgets `rejected` so the next [`Authenticator::bearer`] fetches a new token.
    /// Returns false when there is nothing to refresh (a static token).
    pub(crate) async fn invalidate(&self, rejected: &SecretString) -> bool {
        match self {
            Authenticator::Static(_) => false,
            Authenticator::OAuth(source) => {
                let mut cached = source.cached.lock().await;
                if cached
                    .as_ref()
                    .is_some_and(|c| c.token.expose_secret() == rejected.expose_secret())
                {
                    *cached = None;
                }
                true
            }
        }
    }
}

/// OAuth client-credentials token source. The mutex is held while a token is fetched, so
/// concurrent callers wait for one refresh instead of each starting their own.
pub(crate) struct OAuthTokenSource {
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scopes: Vec<String>,
    cached: Mutex<Option<CachedToken>>,
}

struct CachedToken {
    token: SecretString,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: SecretString,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

impl OAuthTokenSource {
    async fn token(&self, http: &reqwest::Client) -> Result<SecretString, TokenRefused> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.fetch(http).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<CachedToken, TokenRefused> {
        tracing::debug!(token_url = %self.token_url, "requesting oauth access token");
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", self.client_id.clone()),
            (
                "client_secret",
                self.client_secret.expose_secret().to_owned(),
            ),
        ];
        if !self.scopes.is_empty() {
            form.push(("scope", self.scopes.join(" ")));
        }
        let requested_at = Instant::now();
        let response = http
            .post(self.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| Error::OAuthToken {
                status: None,
                message: crate::transport::describe_transport_error(&e),
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|e| Error::OAuthToken {
            status: Some(status.as_u16()),
            message: crate::transport::describe_transport_error(&e),
        })?;
        if !status.is_success() {
            let parsed: TokenError = serde_json::from_slice(&body).unwrap_or_default();
            let message = parsed
                .message
                .or(parsed.error_description)
                .or(parsed.error)
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
            return Err(TokenRefused {
                error: Error::OAuthToken {
                    status: Some(status.as_u16()),
                    message,
                },
                retry_after: crate::transport::retry_after(&headers),
            });
        }
        let parsed: TokenResponse =
            serde_json::from_slice(&body).map_err(|e| Error::OAuthToken {
                status: Some(status.as_u16()),
                message: format!("token response is not understood: {e}"),
            })?;
        let lifetime = parsed
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        let margin = MAX_REFRESH_MARGIN.min(lifetime / 2);
        Ok(CachedToken {
            token: parsed.access_token,
            refresh_at: requested_at + lifetime - margin,
        })
    }
}
