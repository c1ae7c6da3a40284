//! One talosconfig context: where to connect, which nodes to target, and as whom.

use super::endpoint::Endpoint;
use super::error::{ConfigError, ConfigProblem};
use crate::identity::ClientIdentity;

/// A talosconfig context: endpoints, default target nodes and the client identity.
#[derive(Debug, Clone)]
pub struct Context {
    name: String,
    endpoints: Vec<String>,
    nodes: Vec<String>,
    identity: ClientIdentity,
    cluster: Option<String>,
}

impl Context {
    /// A context named `name` connecting to `endpoints` (`host[:port]`; port 50000 when
    /// absent) and targeting `nodes` by default.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for the field `endpoints` when there is no endpoint or one
    /// is not a valid `host[:port]`, or for `nodes` when a node is empty.
    pub fn new<E, N>(
        name: impl Into<String>,
        endpoints: impl IntoIterator<Item = E>,
        nodes: impl IntoIterator<Item = N>,
        identity: ClientIdentity,
    ) -> Result<Self, ConfigError>
    where
        E: AsRef<str>,
        N: AsRef<str>,
    {
        let name = name.into();
        let endpoints = endpoints
            .into_iter()
            .map(|endpoint| normalize_endpoint(endpoint.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| err.in_context(&name))?;
        if endpoints.is_empty() {
            return Err(
                ConfigError::in_field("endpoints", ConfigProblem::MissingField).in_context(&name),
            );
        }
        let nodes: Vec<String> = nodes
            .into_iter()
            .map(|node| node.as_ref().trim().to_owned())
            .collect();
        if nodes.iter().any(String::is_empty) {
            return Err(ConfigError::in_field(
                "nodes",
                ConfigProblem::WrongType {
                    expected: "a list of non-empty node addresses or names",
                },
            )
            .in_context(&name));
        }
        Ok(Self {
            name,
            endpoints,
            nodes,
            identity,
            cluster: None,
        })
    }

    /// The same context, recording the cluster name talosctl stores in `cluster`.
    pub fn with_cluster(mut self, cluster: impl Into<String>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }

    /// The context's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The endpoints to connect to, each `host:port` (IPv6 hosts in brackets).
    /// [`Endpoint::parse`] splits one into host and port.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// The nodes calls target by default (may be empty: then the endpoint answers itself).
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// The client identity (CA, certificate, key) used for mutual TLS.
    pub fn identity(&self) -> &ClientIdentity {
        &self.identity
    }

    /// The cluster name recorded in the context, if any.
    pub fn cluster(&self) -> Option<&str> {
        self.cluster.as_deref()
    }
}

fn normalize_endpoint(text: &str) -> Result<String, ConfigError> {
    Endpoint::parse(text)
        .map(|endpoint| endpoint.to_string())
        .map_err(|reason| {
            ConfigError::in_field(
                "endpoints",
                ConfigProblem::InvalidEndpoint {
                    endpoint: text.to_owned(),
                    reason,
                },
            )
        })
}
