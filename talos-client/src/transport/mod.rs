//! Connections to Talos endpoints: one tonic channel per endpoint over rustls mutual TLS,
//! per-call `node` routing, timeouts, and failover between endpoints.

mod connector;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::transport::{Channel, Endpoint};

use connector::TlsConnector;

use crate::config::Endpoint as EndpointAddress;
use crate::error::{CallTarget, Code, Error};
use crate::identity::{Role, Roles};

/// Largest message accepted from a node (Talos' own gRPC limit).
pub(crate) const MAX_MESSAGE_SIZE: usize = 32 * 1024 * 1024;

/// Connection tuning shared by every endpoint of a client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TransportOptions {
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) keepalive_interval: Duration,
    pub(crate) keepalive_timeout: Duration,
}

/// When a failed call is retried on the next endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failover {
    /// Only when the endpoint could not be connected to; the request was never sent.
    /// Used for calls that change state.
    OnConnectFailure,
    /// Also when an established endpoint answers `Unavailable`. Used for reads.
    OnUnavailable,
}

impl Failover {
    /// True when a call that failed with `status` may be retried on another endpoint.
    fn applies_to(self, status: &tonic::Status) -> bool {
        never_connected(status)
            || self == Self::OnUnavailable
                && (status.code() == tonic::Code::Unavailable || connection_lost(status))
    }
}

/// Everything needed to turn a failed call into a helpful [`Error`].
#[derive(Debug, Clone)]
pub(crate) struct CallContext {
    pub(crate) target: CallTarget,
    pub(crate) required: &'static [Role],
    pub(crate) roles: Roles,
}

impl CallContext {
    /// Maps a gRPC status to the crate error, naming roles on `PermissionDenied`.
    ///
    /// A status tonic made from a broken connection ([`connection_lost`]) is reported as
    /// `Unavailable`: the node went away, as it does when rebooting. A `PermissionDenied`
    /// although the certificate holds a needed role is not a role problem (Talos also
    /// answers it for resource types it does not know): it keeps the node's message.
    pub(crate) fn status_error(&self, status: &tonic::Status) -> Error {
        let code = if connection_lost(status) {
            Code::Unavailable
        } else {
            Code::from_tonic(status.code())
        };
        if code == Code::PermissionDenied && !self.roles.permits(self.required) {
            return Error::PermissionDenied {
                target: self.target.clone(),
                required: self.required.to_vec(),
                roles: self.roles.clone(),
            };
        }
        Error::Api {
            target: self.target.clone(),
            code,
            message: status.message().to_owned(),
        }
    }

    /// An error for a response that does not have the expected shape.
    pub(crate) fn protocol_error(&self, detail: impl Into<String>) -> Error {
        Error::Protocol {
            target: self.target.clone(),
            detail: detail.into(),
        }
    }

    /// Maps every item of a gRPC response stream, converting statuses to crate errors.
    pub(crate) fn stream<M: Send + 'static>(
        &self,
        streaming: tonic::Streaming<M>,
    ) -> BoxStream<'static, Result<M, Error>> {
        let context = self.clone();
        streaming
            .map(move |item| item.map_err(|status| context.status_error(&status)))
            .boxed()
    }
}

/// The set of endpoints of one client, each with its own lazily-connected channel.
pub(crate) struct Transport {
    slots: Vec<Slot>,
    preferred: AtomicUsize,
    options: TransportOptions,
}

struct Slot {
    address: EndpointAddress,
    connector: TlsConnector,
    channel: tokio::sync::Mutex<Option<Channel>>,
}

impl Transport {
    pub(crate) fn new(
        endpoints: &[String],
        tls: &Arc<rustls::ClientConfig>,
        resolve: &HashMap<String, SocketAddr>,
        options: TransportOptions,
    ) -> Result<Self, Error> {
        if endpoints.is_empty() {
            return Err(Error::NoEndpoints);
        }
        let slots = endpoints
            .iter()
            .map(|endpoint| {
                let address =
                    EndpointAddress::parse(endpoint).map_err(|reason| Error::InvalidArgument {
                        what: format!("endpoint \"{endpoint}\""),
                        reason: reason.to_owned(),
                    })?;
                let resolved = resolve.get(&address.host().to_ascii_lowercase()).copied();
                Ok(Slot {
                    connector: TlsConnector::new(address.clone(), resolved, tls.clone()),
                    address,
                    channel: tokio::sync::Mutex::new(None),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Self {
            slots,
            preferred: AtomicUsize::new(0),
            options,
        })
    }

    /// The endpoints, as `host:port`.
    pub(crate) fn endpoints(&self) -> Vec<String> {
        self.slots
            .iter()
            .map(|slot| slot.address.to_string())
            .collect()
    }

    /// Runs `call` against the preferred endpoint, failing over to the next ones per
    /// `failover`; each attempt is bounded by the request timeout.
    pub(crate) async fn call<R, F, Fut>(
        &self,
        context: &CallContext,
        failover: Failover,
        call: F,
    ) -> Result<R, Error>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<R>, tonic::Status>>,
    {
        let start = self.preferred.load(Ordering::Relaxed);
        let count = self.slots.len();
        let mut failures = Vec::new();
        for attempt in 0..count {
            let index = (start + attempt) % count;
            let slot = &self.slots[index];
            let channel = match slot.channel(&self.options).await {
                Ok(channel) => channel,
                Err(reason) => {
                    tracing::debug!(endpoint = %slot.address, %reason, "endpoint unreachable");
                    failures.push(format!("{}: {reason}", slot.address));
                    continue;
                }
            };
            let timeout = self.options.request_timeout;
            let outcome = match tokio::time::timeout(timeout, call(channel)).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    return Err(Error::Timeout {
                        what: context.target.to_string(),
                        after: timeout,
                    });
                }
            };
            match outcome {
                Ok(response) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(response.into_inner());
                }
                Err(status) if attempt + 1 < count && failover.applies_to(&status) => {
                    tracing::debug!(endpoint = %slot.address, message = status.message(), "endpoint unavailable, trying the next one");
                    failures.push(format!("{}: {}", slot.address, status.message()));
                }
                Err(status) => return Err(context.status_error(&status)),
            }
        }
        Err(Error::Connect { failures })
    }
}

impl Slot {
    /// The endpoint's channel, connecting it first if needed. Once connected, tonic
    /// reconnects it by itself after a connection loss.
    async fn channel(&self, options: &TransportOptions) -> Result<Channel, String> {
        let mut guard = self.channel.lock().await;
        if let Some(channel) = guard.as_ref() {
            return Ok(channel.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{}", self.address))
            .map_err(|err| error_chain(&err))?
            .connect_timeout(options.connect_timeout)
            .http2_keep_alive_interval(options.keepalive_interval)
            .keep_alive_timeout(options.keepalive_timeout)
            .keep_alive_while_idle(true);
        let channel = endpoint
            .connect_with_connector(self.connector.clone())
            .await
            .map_err(|err| error_chain(&err))?;
        *guard = Some(channel.clone());
        Ok(channel)
    }
}

/// Builds a request carrying `message` and, when routed, the single-valued `node` key.
pub(crate) fn request<M>(message: M, node: Option<&AsciiMetadataValue>) -> tonic::Request<M> {
    let mut request = tonic::Request::new(message);
    if let Some(node) = node {
        set_node(request.metadata_mut(), node);
    }
    request
}

fn set_node(metadata: &mut MetadataMap, node: &AsciiMetadataValue) {
    // `insert` replaces any existing value: apid rejects a multi-valued `node` key.
    metadata.insert("node", node.clone());
}

/// Validates a node name for the `node` metadata key: an IP address or host name, no port.
pub(crate) fn node_metadata(node: &str) -> Result<AsciiMetadataValue, Error> {
    let invalid = |reason: &str| Error::InvalidArgument {
        what: format!("node \"{node}\""),
        reason: reason.to_owned(),
    };
    if node.is_empty() {
        return Err(invalid(
            "it is empty; give the node's IP address or host name",
        ));
    }
    if node.parse::<std::net::SocketAddr>().is_ok()
        || node
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.contains(':') && port.parse::<u16>().is_ok())
    {
        return Err(invalid(
            "it has a port; name the node by IP address or host name only",
        ));
    }
    if node
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
    {
        return Err(invalid(
            "only one IP address or host name is allowed (letters, digits, '.', '-', '_', ':')",
        ));
    }
    node.parse()
        .map_err(|_| invalid("it is not valid in gRPC metadata"))
}

/// True when tonic itself failed the call because of the connection (the status carries
/// the transport error as its source) rather than the node answering with an error.
fn connection_lost(status: &tonic::Status) -> bool {
    std::error::Error::source(status).is_some()
        && matches!(
            status.code(),
            tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
        )
}

/// True when the endpoint could not be (re)connected at all — refused, unreachable,
/// timed out or failed TLS — so the request was never sent and may go elsewhere.
fn never_connected(status: &tonic::Status) -> bool {
    use std::io::ErrorKind;
    let mut source = std::error::Error::source(status);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::TimedOut
                    | ErrorKind::InvalidData
            );
        }
        source = cause.source();
    }
    false
}

/// Renders an error and its sources on one line (tonic's top-level messages are terse).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn node_names_are_single_hosts_without_port() {
        assert!(node_metadata("10.0.0.2").is_ok());
        assert!(node_metadata("fd00::2").is_ok());
        assert!(node_metadata("worker-1.lan").is_ok());
        for bad in ["", "10.0.0.2:50000", "a,b", "a b", "cp-1:50000"] {
            assert!(node_metadata(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn node_metadata_replaces_instead_of_appending() {
        let mut metadata = MetadataMap::new();
        set_node(&mut metadata, &node_metadata("10.0.0.2").unwrap());
        set_node(&mut metadata, &node_metadata("10.0.0.3").unwrap());
        let values: Vec<_> = metadata.get_all("node").iter().collect();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0], "10.0.0.3");
    }
}
