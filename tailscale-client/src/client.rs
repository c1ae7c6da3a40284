//! [`TailscaleClient`] and its builder: base URL, tailnet, credentials, timeouts, retries.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::auth::Authenticator;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use sdk_support::backoff::Backoff;

/// The public Tailscale API.
pub const DEFAULT_BASE_URL: &str = "https://api.tailscale.com";
/// The tailnet of the credential in use.
pub const DEFAULT_TAILNET: &str = "-";
/// Per-request timeout unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Client for the Tailscale admin API v2. Cheap to clone; clones share the connection pool
/// and the cached OAuth access token.
///
/// # Usage
/// ```no_run
/// use tailscale_client::{Credentials, TailscaleClient};
/// # async fn demo() -> Result<(), tailscale_client::Error> {
/// let client = TailscaleClient::builder()
///     .credentials(Credentials::from_env()?)
///     .build()?;
/// let devices = client.devices().list().hostname("talos-cp-1").send().await?;
/// println!("{} device(s)", devices.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TailscaleClient {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: Url,
    pub(crate) tailnet: String,
    pub(crate) auth: Authenticator,
    pub(crate) retry: Backoff,
    /// Whether waits abandon a poll still unanswered at their deadline (not on a paused
    /// test clock, see [`TailscaleClientBuilder::disable_timers`]).
    pub(crate) bound_polls: bool,
}

impl std::fmt::Debug for TailscaleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TailscaleClient")
            .field("base_url", &self.inner.base_url.as_str())
            .field("tailnet", &self.inner.tailnet)
            .finish_non_exhaustive()
    }
}

impl TailscaleClient {
    /// Starts configuring a client.
    pub fn builder() -> TailscaleClientBuilder {
        TailscaleClientBuilder::default()
    }

    /// The tailnet this client addresses (`-` = the credential's own).
    pub fn tailnet(&self) -> &str {
        &self.inner.tailnet
    }

    /// The base URL (without `/api/v2`).
    pub fn base_url(&self) -> &str {
        self.inner.base_url.as_str()
    }
}

/// Configures a [`TailscaleClient`].
#[derive(Debug, Default)]
pub struct TailscaleClientBuilder {
    base_url: Option<String>,
    tailnet: Option<String>,
    credentials: Option<Credentials>,
    timeout: Option<Duration>,
    retry: Option<Backoff>,
    user_agent: Option<String>,
    timers_disabled: bool,
    root_certificates: Vec<Vec<u8>>,
    allow_insecure_http: bool,
}

impl TailscaleClientBuilder {
    /// API base URL without `/api/v2` (default [`DEFAULT_BASE_URL`]); for a self-hosted
    /// control server, the simulator, or tests.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Accept a plain `http://` base URL to a host other than loopback (test rigs only: the
    /// credential then travels in cleartext). Loopback hosts are always accepted.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Tailnet ID or legacy name (default [`DEFAULT_TAILNET`]).
    pub fn tailnet(mut self, tailnet: impl Into<String>) -> Self {
        self.tailnet = Some(tailnet.into());
        self
    }

    /// The credential to authenticate with (required).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Timeout of each HTTP request (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Disables the per-request timeout, the expiry of idle pooled connections, and the
    /// abandoning of a poll still unanswered at a wait's deadline: the client's only
    /// timers besides retry waits and polling intervals.
    ///
    /// # Caveats
    /// Meant for tests on a paused tokio clock (`tokio::time::pause`): there a pending
    /// timer fires as soon as the runtime idles, e.g. while a mock server on another
    /// thread is answering, and a request would time out at once. Production code should
    /// keep the timeouts.
    pub fn disable_timers(mut self) -> Self {
        self.timers_disabled = true;
        self
    }

    /// Retry behaviour for 429 and 5xx answers (default [`Backoff::default`]: 4 retries,
    /// waits from 500 ms doubling up to 30 s with jitter, `Retry-After` honoured up to
    /// 60 s). Requests that are not idempotent (creating a key, saving the policy file
    /// with `If-Match`) are repeated only after a 429, which means the request was not
    /// processed.
    pub fn retry_policy(mut self, retry: Backoff) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Also trusts the CA certificate(s) in `pem` when verifying the server, e.g. for a
    /// self-hosted control server or a simulator with a private CA. The public web PKI
    /// stays trusted; verification is never turned off.
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// `User-Agent` header (default `tailscale-client-rs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::MissingCredentials`] without credentials, [`Error::InvalidInput`] for a
    /// base URL that is not an absolute `http(s)` URL (or plain `http` to a host other than
    /// loopback without [`Self::allow_insecure_http`]), an empty tailnet or a root
    /// certificate that is not PEM,
    /// [`Error::Transport`] if the HTTP stack cannot be initialised.
    pub fn build(self) -> Result<TailscaleClient> {
        let credentials = self.credentials.ok_or_else(|| Error::MissingCredentials {
            reason: "the builder was given no credentials".to_owned(),
        })?;
        let base_url = parse_base_url(
            self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL),
            self.allow_insecure_http,
        )?;
        let tailnet = self.tailnet.unwrap_or_else(|| DEFAULT_TAILNET.to_owned());
        if tailnet.trim().is_empty() {
            return Err(Error::InvalidInput {
                field: "tailnet",
                reason: "must not be empty; use \"-\" for the credential's own tailnet".to_owned(),
            });
        }
        let user_agent = self.user_agent.unwrap_or_else(|| {
            concat!("tailscale-client-rs/", env!("CARGO_PKG_VERSION")).to_owned()
        });
        let mut http = reqwest::Client::builder().user_agent(user_agent);
        for pem in &self.root_certificates {
            let certificates =
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| Error::InvalidInput {
                    field: "root certificate",
                    reason: format!("not a pem certificate: {e}"),
                })?;
            if certificates.is_empty() {
                return Err(Error::InvalidInput {
                    field: "root certificate",
                    reason: "no certificate found in the pem text".to_owned(),
                });
            }
            for certificate in certificates {
                http = http.add_root_certificate(certificate);
            }
        }
        http = if self.timers_disabled {
            http.pool_idle_timeout(None)
        } else {
            http.timeout(self.timeout.unwrap_or(DEFAULT_TIMEOUT))
        };
        let http = http.build().map_err(|e| Error::Transport {
            operation: "create http client",
            reason: crate::transport::describe_transport_error(&e),
        })?;
        let mut token_url = base_url.clone();
        if let Ok(mut segments) = token_url.path_segments_mut() {
            segments
                .pop_if_empty()
                .extend(["api", "v2", "oauth", "token"]);
        }
        Ok(TailscaleClient {
            inner: Arc::new(ClientInner {
                http,
                auth: Authenticator::new(credentials, token_url),
                base_url,
                tailnet,
                retry: self.retry.unwrap_or_default(),
                bound_polls: !self.timers_disabled,
            }),
        })
    }
}

fn parse_base_url(text: &str, allow_insecure_http: bool) -> Result<Url> {
    let url = Url::parse(text).map_err(|e| Error::InvalidInput {
        field: "base url",
        reason: format!("{text:?} is not a url: {e}"),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::InvalidInput {
            field: "base url",
            reason: format!("{text:?} must be an absolute http or https url"),
        });
    }
    sdk_support::cleartext::check(
        url.scheme(),
        url.host_str().unwrap_or_default(),
        allow_insecure_http,
    )
    .map_err(|reason| Error::InvalidInput {
        field: "base url",
        reason,
    })?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_are_the_public_api_and_the_dash_tailnet() {
        let client = TailscaleClient::builder()
            .credentials(Credentials::api_key("tskey-api-x"))
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "https://api.tailscale.com/");
        assert_eq!(client.tailnet(), "-");
    }

    #[test]
    fn missing_credentials_are_reported() {
        let err = TailscaleClient::builder().build().unwrap_err();
        assert!(matches!(err, Error::MissingCredentials { .. }));
    }

    #[test]
    fn a_root_certificate_that_is_not_pem_is_rejected() {
        let err = TailscaleClient::builder()
            .credentials(Credentials::api_key("tskey-api-x"))
            .root_certificate_pem(b"not a certificate".to_vec())
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("root certificate"), "{err}");
    }

    #[test]
    fn non_http_base_url_is_rejected() {
        let err = TailscaleClient::builder()
            .credentials(Credentials::api_key("tskey-api-x"))
            .base_url("ftp://example.com")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("http or https"), "{err}");
    }

    #[test]
    fn plain_http_is_refused_off_loopback_unless_allowed() {
        let build = |url: &str, allow: bool| {
            TailscaleClient::builder()
                .credentials(Credentials::api_key("tskey-api-x"))
                .base_url(url)
                .allow_insecure_http(allow)
                .build()
        };
        let err = build("http://api.example.com", false).unwrap_err();
        assert!(err.to_string().contains("cleartext"), "{err}");
        assert!(build("http://127.0.0.1:8080", false).is_ok());
        assert!(build("http://api.example.com", true).is_ok());
    }
}
