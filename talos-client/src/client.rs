//! [`TalosClient`] (one per set of endpoints and identity) and [`NodeClient`] (calls routed
//! to one node).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;

use crate::config::Context;
use crate::error::{CallTarget, Error};
use crate::identity::{ClientIdentity, Role, Roles, required_roles};
use crate::proto;
use crate::transport::{
    CallContext, Failover, MAX_MESSAGE_SIZE, Transport, TransportOptions, node_metadata,
};

/// A client for the Talos API of one cluster: its endpoints and client identity.
///
/// Connections are opened on first use, one per endpoint, and shared by every
/// [`NodeClient`] made from this client. Cloning is cheap.
///
/// # Usage
///
/// ```no_run
/// # async fn run() -> Result<(), talos_client::Error> {
/// let config = talos_client::config::TalosConfig::load()?;
/// let client = talos_client::TalosClient::connect(config.context(None)?)?;
/// let version = client.node("10.0.0.2").version().await?;
/// println!("{}", version.tag);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TalosClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    roles: Roles,
}

impl std::fmt::Debug for TalosClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TalosClient")
            .field("endpoints", &self.inner.transport.endpoints())
            .field("roles", &self.inner.roles.to_string())
            .finish()
    }
}

impl TalosClient {
    /// A client for a talosconfig context: its endpoints and identity, default timeouts.
    ///
    /// # Errors
    ///
    /// [`Error::NoEndpoints`] or [`Error::InvalidArgument`] for unusable endpoints,
    /// [`Error::Identity`] when the identity cannot form a TLS configuration.
    pub fn connect(context: &Context) -> Result<Self, Error> {
        Self::builder()
            .endpoints(context.endpoints().iter().cloned())
            .identity(context.identity().clone())
            .build()
    }

    /// A builder for endpoints, identity and timeouts.
    pub fn builder() -> TalosClientBuilder {
        TalosClientBuilder::default()
    }

    /// Calls routed to `node` (an IP address or host name, no port) through the endpoints,
    /// with the single-valued `node` metadata key.
    ///
    /// An invalid node name is reported by the first call made with it.
    pub fn node(&self, node: &str) -> NodeClient {
        NodeClient {
            inner: self.inner.clone(),
            node: Some(node.to_owned()),
        }
    }

    /// Calls answered by the endpoint node itself (no `node` metadata).
    pub fn endpoint_node(&self) -> NodeClient {
        NodeClient {
            inner: self.inner.clone(),
            node: None,
        }
    }

    /// The endpoints, as `host:port`.
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.transport.endpoints()
    }

    /// The roles of the client certificate.
    pub fn roles(&self) -> &Roles {
        &self.inner.roles
    }

    /// Checks locally, before calling, that the certificate holds a role Talos accepts for
    /// `method` (a path from [`methods`](crate::methods)).
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] naming the needed and the held roles.
    ///
    /// ```no_run
    /// # fn check(client: &talos_client::TalosClient) -> Result<(), talos_client::Error> {
    /// client.require_role(talos_client::methods::LIFECYCLE_UPGRADE)?;
    /// # Ok(()) }
    /// ```
    pub fn require_role(&self, method: &'static str) -> Result<(), Error> {
        let required = required_roles(method);
        if self.inner.roles.permits(required) {
            return Ok(());
        }
        Err(Error::PermissionDenied {
            target: CallTarget { method, node: None },
            required: required.to_vec(),
            roles: self.inner.roles.clone(),
        })
    }
}

/// Builds a [`TalosClient`].
#[derive(Debug, Clone)]
pub struct TalosClientBuilder {
    endpoints: Vec<String>,
    identity: Option<ClientIdentity>,
    resolve: HashMap<String, SocketAddr>,
    options: TransportOptions,
}

impl Default for TalosClientBuilder {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            identity: None,
            resolve: HashMap::new(),
            options: TransportOptions {
                connect_timeout: Duration::from_secs(20),
                request_timeout: Duration::from_secs(300),
                keepalive_interval: Duration::from_secs(10),
                keepalive_timeout: Duration::from_secs(5),
            },
        }
    }
}

impl TalosClientBuilder {
    /// Adds an endpoint: `host`, `host:port`, `ip` or `[ipv6]:port` (port 50000 by default).
    /// With several endpoints, calls fail over to the next one when an endpoint is unreachable.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoints.push(endpoint.into());
        self
    }

    /// Adds several endpoints (see [`TalosClientBuilder::endpoint`]).
    pub fn endpoints<I, S>(mut self, endpoints: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.endpoints.extend(endpoints.into_iter().map(Into::into));
        self
    }

    /// The client identity (CA, certificate, key) used for mutual TLS.
    pub fn identity(mut self, identity: ClientIdentity) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Connects endpoints whose host is `host` (a name or an IP address, no port) to
    /// `address` instead of resolving it, as `curl --resolve` does. The server certificate
    /// is still verified against `host`: a test or a proxy can reach a node under its
    /// tailnet name without weakening TLS.
    pub fn resolve(mut self, host: impl Into<String>, address: SocketAddr) -> Self {
        self.resolve
            .insert(host.into().to_ascii_lowercase(), address);
        self
    }

    /// Limit for establishing a connection (TCP + TLS + HTTP/2); default 20 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout = timeout;
        self
    }

    /// Limit for each unary call and for opening each stream; default 5 min (a legacy
    /// upgrade pulls the installer image inside the call).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.options.request_timeout = timeout;
        self
    }

    /// HTTP/2 keepalive ping interval and ack timeout; default 10 s / 5 s (as talosctl).
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.options.keepalive_interval = interval;
        self.options.keepalive_timeout = timeout;
        self
    }

    /// Builds the client. No connection is opened yet.
    ///
    /// # Errors
    ///
    /// [`Error::NoEndpoints`], [`Error::InvalidArgument`] for a malformed endpoint or a
    /// missing identity, [`Error::Identity`] when the identity cannot form a TLS configuration.
    pub fn build(self) -> Result<TalosClient, Error> {
        let identity = self.identity.ok_or_else(|| Error::InvalidArgument {
            what: "client builder".to_owned(),
            reason: "no client identity; call .identity() with the talosconfig's CA, certificate and key".to_owned(),
        })?;
        let tls = identity.tls_config()?;
        let transport = Transport::new(&self.endpoints, &tls, &self.resolve, self.options)?;
        Ok(TalosClient {
            inner: Arc::new(Inner {
                transport,
                roles: identity.roles().clone(),
            }),
        })
    }
}

/// Calls routed to one node (or to the endpoint itself); made by [`TalosClient::node`].
///
/// Cloning is cheap; clones share the connections.
#[derive(Clone)]
pub struct NodeClient {
    inner: Arc<Inner>,
    node: Option<String>,
}

impl std::fmt::Debug for NodeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeClient")
            .field("node", &self.node)
            .finish()
    }
}

impl NodeClient {
    /// The node calls are routed to, or `None` for the endpoint itself.
    pub fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }

    /// The roles of the client certificate.
    pub fn roles(&self) -> &Roles {
        &self.inner.roles
    }

    /// The error context of a call to `method`, needing the roles Talos lists for it.
    pub(crate) fn context(&self, method: &'static str) -> CallContext {
        self.context_requiring(method, required_roles(method))
    }

    /// The error context of a call to `method` needing `required` roles.
    pub(crate) fn context_requiring(
        &self,
        method: &'static str,
        required: &'static [Role],
    ) -> CallContext {
        CallContext {
            target: CallTarget {
                method,
                node: self.node.clone(),
            },
            required,
            roles: self.inner.roles.clone(),
        }
    }

    /// Runs one call with node routing, timeout and endpoint failover.
    ///
    /// `call` gets a channel and the `node` metadata value to put on its request.
    pub(crate) async fn call<R, F, Fut>(
        &self,
        context: &CallContext,
        failover: Failover,
        call: F,
    ) -> Result<R, Error>
    where
        F: Fn(Channel, Option<AsciiMetadataValue>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<R>, tonic::Status>>,
    {
        let node = self.node.as_deref().map(node_metadata).transpose()?;
        self.inner
            .transport
            .call(context, failover, |channel| call(channel, node.clone()))
            .await
    }
}

/// The machine API client on `channel`, with the 32 MiB decode limit.
pub(crate) fn machine_api(
    channel: Channel,
) -> proto::machine::machine_service_client::MachineServiceClient<Channel> {
    proto::machine::machine_service_client::MachineServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
}

/// The image API client on `channel`, with the 32 MiB decode limit.
pub(crate) fn image_api(
    channel: Channel,
) -> proto::machine::image_service_client::ImageServiceClient<Channel> {
    proto::machine::image_service_client::ImageServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
}

/// The lifecycle API client on `channel`, with the 32 MiB decode limit.
pub(crate) fn lifecycle_api(
    channel: Channel,
) -> proto::machine::lifecycle_service_client::LifecycleServiceClient<Channel> {
    proto::machine::lifecycle_service_client::LifecycleServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
}

/// The cluster API client on `channel`, with the 32 MiB decode limit.
pub(crate) fn cluster_api(
    channel: Channel,
) -> proto::cluster::cluster_service_client::ClusterServiceClient<Channel> {
    proto::cluster::cluster_service_client::ClusterServiceClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
}

/// The COSI state client on `channel`, with the 32 MiB decode limit.
pub(crate) fn state_api(
    channel: Channel,
) -> proto::cosi::resource::state_client::StateClient<Channel> {
    proto::cosi::resource::state_client::StateClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
}

/// The one entry of a unary `XxxResponse.messages` (a node answering for itself sends one).
pub(crate) fn single<T>(context: &CallContext, messages: Vec<T>) -> Result<T, Error> {
    messages
        .into_iter()
        .next()
        .ok_or_else(|| context.protocol_error("the response holds no message"))
}
