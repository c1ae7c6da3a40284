//! The Image Factory HTTP client: schematics, versions, official extensions and overlays.

mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

pub use sdk_support::backoff::Backoff;
use transport::{Answer, Subject, exchange};

use crate::catalog::{
    ExtensionInfo, OverlayInfo, check_schematic_extensions, resolve_extension_name,
};
use crate::installer::normalize_version;
use crate::{Error, InstallerRef, Schematic, SchematicId, VersionDependentString};

/// The public Image Factory.
pub const DEFAULT_FACTORY_URL: &str = "https://factory.talos.dev";

/// The client's default retry policy: 3 retries, waits from 250 ms doubling up to 8 s, a
/// server's `Retry-After` honoured up to 8 s.
pub const DEFAULT_RETRY: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(8))
    .with_max_retries(3)
    .with_retry_after_cap(Duration::from_secs(8));

/// What to do when the factory's schematic ID differs from the offline ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnIdMismatch {
    /// Return the factory's ID with a [`CreateWarning::IdMismatch`] (default).
    #[default]
    Warn,
    /// Fail with [`Error::IdMismatch`].
    Error,
}

/// Something worth knowing about a successful create.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateWarning {
    /// The factory computed a different ID than this crate. The factory's ID is the one
    /// that names images; `version_dependent` lists strings whose quoting explains it.
    IdMismatch {
        /// The ID computed offline.
        offline: SchematicId,
        /// The ID the factory returned.
        server: SchematicId,
        /// Strings whose quoting differs between factory builds, if any.
        version_dependent: Vec<VersionDependentString>,
    },
}

/// The result of `POST /schematics`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreatedSchematic {
    /// The factory's ID (use this one).
    pub id: SchematicId,
    /// The ID computed offline before posting.
    pub offline_id: SchematicId,
    /// The canonical text the factory stored (factories ≥ v1.3.0 return it).
    pub canonical_yaml: Option<String>,
    /// Warnings, e.g. an ID mismatch under [`OnIdMismatch::Warn`].
    pub warnings: Vec<CreateWarning>,
}

/// Client for a Talos Image Factory.
///
/// Cheap to clone; clones share the connection pool and the per-version extension cache.
///
/// # Usage
///
/// ```no_run
/// use factory_client::{FactoryClient, Schematic};
///
/// # async fn run() -> Result<(), factory_client::Error> {
/// let factory = FactoryClient::new("https://factory.talos.dev")?;
/// let tailscale = factory.resolve_extension("v1.11.1", "tailscale").await?;
/// let schematic = Schematic::builder().extension(tailscale).build();
/// let created = factory.create_schematic_for_version(&schematic, "v1.11.1").await?;
/// let installer = factory.installer_image(&created.id, "v1.11.1", "metal", false)?;
/// println!("{installer}");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FactoryClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: Url,
    retry: Backoff,
    on_id_mismatch: OnIdMismatch,
    extensions: Mutex<HashMap<String, Arc<Vec<ExtensionInfo>>>>,
}

/// Configures a [`FactoryClient`].
#[derive(Debug, Clone)]
pub struct FactoryClientBuilder {
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    retry: Backoff,
    on_id_mismatch: OnIdMismatch,
    user_agent: String,
    allow_insecure_http: bool,
}

impl Default for FactoryClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_FACTORY_URL.to_owned(),
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: DEFAULT_RETRY,
            on_id_mismatch: OnIdMismatch::default(),
            user_agent: concat!("factory-client/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_insecure_http: false,
        }
    }
}

impl FactoryClientBuilder {
    /// Factory base URL (default [`DEFAULT_FACTORY_URL`]); a path prefix is kept.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Whole-request timeout, body included (default 60 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connection timeout (default 10 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Retry policy for 5xx answers and transport failures (default [`DEFAULT_RETRY`]);
    /// 4xx answers and TLS failures are never retried.
    #[must_use]
    pub fn retry(mut self, retry: Backoff) -> Self {
        self.retry = retry;
        self
    }

    /// Whether an ID mismatch on create is a warning or an error.
    #[must_use]
    pub fn on_id_mismatch(mut self, policy: OnIdMismatch) -> Self {
        self.on_id_mismatch = policy;
        self
    }

    /// Accept a plain `http://` base URL to a host other than loopback (test rigs only).
    /// Loopback hosts are always accepted.
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// `User-Agent` header.
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] for a URL that is not `http(s)://host[/prefix]`, or plain
    /// `http` to a host other than loopback without [`Self::allow_insecure_http`];
    /// [`Error::Transport`] if the TLS stack cannot be initialised.
    pub fn build(self) -> Result<FactoryClient, Error> {
        let base = parse_base_url(&self.base_url, self.allow_insecure_http)?;
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent)
            .build()
            .map_err(|err| Error::Transport {
                url: base.to_string(),
                message: err.to_string(),
                timed_out: false,
            })?;
        Ok(FactoryClient {
            inner: Arc::new(Inner {
                http,
                base,
                retry: self.retry,
                on_id_mismatch: self.on_id_mismatch,
                extensions: Mutex::new(HashMap::new()),
            }),
        })
    }
}

fn parse_base_url(text: &str, allow_insecure_http: bool) -> Result<Url, Error> {
    let invalid = |reason: &str| Error::InvalidUrl {
        input: text.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(text).map_err(|err| invalid(&err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("use an http:// or https:// URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("remove the query or fragment"));
    }
    let host = url.host_str().unwrap_or_default();
    sdk_support::cleartext::check(url.scheme(), host, allow_insecure_http)
        .map_err(|reason| invalid(&reason))?;
    Ok(url)
}

#[derive(Deserialize)]
struct CreateResponse {
    id: String,
    #[serde(default)]
    schematic: Option<String>,
}

impl FactoryClient {
    /// A client with default settings for `base_url`.
    ///
    /// # Errors
    ///
    /// See [`FactoryClientBuilder::build`].
    pub fn new(base_url: &str) -> Result<Self, Error> {
        Self::builder().base_url(base_url).build()
    }

    /// A builder with default settings for the public factory.
    pub fn builder() -> FactoryClientBuilder {
        FactoryClientBuilder::default()
    }

    /// The factory base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The registry host installer images are pulled from: the base URL's host and port.
    pub fn registry_host(&self) -> String {
        let base = &self.inner.base;
        match (base.host_str(), base.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        }
    }

    /// Posts a schematic (`POST /schematics`) and returns the factory's ID, compared with
    /// the offline ID. Posting is idempotent and must happen once before images or
    /// installers for the ID can be pulled.
    ///
    /// # Errors
    ///
    /// [`Error::SchematicRejected`] on 400 (with the factory's text), [`Error::IdMismatch`]
    /// under [`OnIdMismatch::Error`], transport and HTTP errors after retries.
    pub async fn create_schematic(&self, schematic: &Schematic) -> Result<CreatedSchematic, Error> {
        let canonical = schematic.to_canonical_yaml();
        let offline_id = SchematicId::of_canonical_text(&canonical);
        let subject = Subject {
            what: "schematic".to_owned(),
            is_schematic_post: true,
        };
        let answer = self
            .send(Method::POST, &["schematics"], Some(&canonical), &subject)
            .await?;
        let response: CreateResponse = decode_json(&answer)?;
        let id: SchematicId = response.id.parse().map_err(|_| Error::InvalidResponse {
            url: answer.url.to_string(),
            message: format!("{:?} is not a schematic ID", response.id),
        })?;
        let mut warnings = Vec::new();
        if id != offline_id {
            tracing::warn!(%id, %offline_id, "factory schematic ID differs from the offline ID");
            if self.inner.on_id_mismatch == OnIdMismatch::Error {
                return Err(Error::IdMismatch {
                    offline: offline_id,
                    server: id,
                });
            }
            let version_dependent = schematic.version_dependent_strings();
            warnings.push(CreateWarning::IdMismatch {
                offline: offline_id,
                server: id,
                version_dependent,
            });
        }
        Ok(CreatedSchematic {
            id,
            offline_id,
            canonical_yaml: response.schematic,
            warnings,
        })
    }

    /// Checks the schematic's extensions against the version's official list (aliases
    /// allowed) and then posts it, so a misspelt extension fails before anything is stored.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownExtension`] before posting; otherwise as
    /// [`create_schematic`](Self::create_schematic) and
    /// [`official_extensions`](Self::official_extensions).
    pub async fn create_schematic_for_version(
        &self,
        schematic: &Schematic,
        version: &str,
    ) -> Result<CreatedSchematic, Error> {
        let list = self.extension_list(version).await?;
        check_schematic_extensions(&list, version, schematic)?;
        self.create_schematic(schematic).await
    }

    /// Fetches a stored schematic (`GET /schematics/:id`, factory ≥ v0.9.0).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown ID (a just-created ID can briefly 404 on another
    /// replica; retry shortly), [`Error::InvalidResponse`] if the body is not a schematic.
    pub async fn get_schematic(&self, id: &SchematicId) -> Result<Schematic, Error> {
        let subject = Subject {
            what: format!("schematic {id}"),
            is_schematic_post: false,
        };
        let answer = self
            .send(
                Method::GET,
                &["schematics", &id.to_string()],
                None,
                &subject,
            )
            .await?;
        let text = String::from_utf8_lossy(&answer.body);
        Schematic::from_yaml(&text).map_err(|err| Error::InvalidResponse {
            url: answer.url.to_string(),
            message: format!("stored schematic does not parse: {err}"),
        })
    }

    /// Talos versions the factory builds (`GET /versions`), ascending, with `v` prefix.
    ///
    /// # Errors
    ///
    /// Transport and HTTP errors after retries; [`Error::InvalidResponse`] for a non-list body.
    pub async fn versions(&self) -> Result<Vec<String>, Error> {
        self.get_json(&["versions"], None, "versions list").await
    }

    /// Versions the factory marks broken and refuses to build (`GET /versions?broken=true`).
    ///
    /// # Errors
    ///
    /// As [`versions`](Self::versions).
    pub async fn broken_versions(&self) -> Result<Vec<String>, Error> {
        self.get_json(
            &["versions"],
            Some(("broken", "true")),
            "broken versions list",
        )
        .await
    }

    /// The official extensions for a Talos version (with or without `v`). Cached per
    /// version for the life of the client.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVersion`] before any request for a malformed version (the factory
    /// would answer 500), [`Error::NotFound`] for a version the factory does not know.
    pub async fn official_extensions(&self, version: &str) -> Result<Vec<ExtensionInfo>, Error> {
        Ok(self.extension_list(version).await?.as_ref().clone())
    }

    /// The official overlays for a Talos version (empty before Talos 1.7).
    ///
    /// # Errors
    ///
    /// As [`official_extensions`](Self::official_extensions).
    pub async fn official_overlays(&self, version: &str) -> Result<Vec<OverlayInfo>, Error> {
        let (version, _) = normalize_version(version)?;
        let what = format!("Talos version {version}");
        self.get_json(&["version", &version, "overlays", "official"], None, &what)
            .await
    }

    /// Resolves a friendly extension name for a version: exact name, unique repository
    /// short name (`tailscale` → `siderolabs/tailscale`), the alias table of renamed
    /// extensions, or an image reference.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownExtension`] (with suggestions), [`Error::AmbiguousExtension`], or
    /// the errors of [`official_extensions`](Self::official_extensions).
    pub async fn resolve_extension(&self, version: &str, name: &str) -> Result<String, Error> {
        let list = self.extension_list(version).await?;
        resolve_extension_name(&list, version, name)
    }

    /// The installer image for this factory's registry host, a schematic, a Talos version
    /// and a platform: `<platform>-installer` for Talos ≥ 1.10, `installer` before.
    ///
    /// # Errors
    ///
    /// See [`InstallerRef::for_platform`].
    pub fn installer_image(
        &self,
        id: &SchematicId,
        version: &str,
        platform: &str,
        secureboot: bool,
    ) -> Result<InstallerRef, Error> {
        InstallerRef::for_platform(&self.registry_host(), platform, id, version, secureboot)
    }

    async fn extension_list(&self, version: &str) -> Result<Arc<Vec<ExtensionInfo>>, Error> {
        let (version, _) = normalize_version(version)?;
        if let Some(list) = self.cached_extensions(&version) {
            return Ok(list);
        }
        let what = format!("Talos version {version}");
        let list: Vec<ExtensionInfo> = self
            .get_json(
                &["version", &version, "extensions", "official"],
                None,
                &what,
            )
            .await?;
        let list = Arc::new(list);
        if let Ok(mut cache) = self.inner.extensions.lock() {
            cache.insert(version, Arc::clone(&list));
        }
        Ok(list)
    }

    fn cached_extensions(&self, version: &str) -> Option<Arc<Vec<ExtensionInfo>>> {
        self.inner.extensions.lock().ok()?.get(version).cloned()
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: Option<(&str, &str)>,
        what: &str,
    ) -> Result<T, Error> {
        let subject = Subject {
            what: what.to_owned(),
            is_schematic_post: false,
        };
        let mut url = self.url(path);
        if let Some((key, value)) = query {
            url.query_pairs_mut().append_pair(key, value);
        }
        let answer = exchange(
            &self.inner.http,
            &self.inner.retry,
            Method::GET,
            url,
            None,
            &subject,
        )
        .await?;
        decode_json(&answer)
    }

    async fn send(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&str>,
        subject: &Subject,
    ) -> Result<Answer, Error> {
        exchange(
            &self.inner.http,
            &self.inner.retry,
            method,
            self.url(path),
            body,
            subject,
        )
        .await
    }

    /// The base URL with `path` segments appended (percent-encoded).
    fn url(&self, path: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path);
        }
        url
    }
}

/// Decodes a JSON body whatever its content type (the factory sends lists as text/plain).
fn decode_json<T: DeserializeOwned>(answer: &Answer) -> Result<T, Error> {
    serde_json::from_slice(&answer.body).map_err(|err| Error::InvalidResponse {
        url: answer.url.to_string(),
        message: format!("body is not the expected JSON: {err}"),
    })
}
