//! The apid-like gRPC endpoint: node routing, RBAC and the services' glue over node state.

mod cluster_service;
mod cosi;
mod image;
mod lifecycle_service;
mod machine;

use std::sync::Arc;

use talos_client::proto::cluster::cluster_service_server::ClusterServiceServer;
use talos_client::proto::cosi::resource::state_server::StateServer;
use talos_client::proto::machine::image_service_server::ImageServiceServer;
use talos_client::proto::machine::lifecycle_service_server::LifecycleServiceServer;
use talos_client::proto::machine::machine_service_server::MachineServiceServer;
use tonic::Status;

use super::call_log::ReceivedCall;
use super::cluster::TalosCluster;
use super::node::Node;
use super::rbac::{self, Access};
use super::version::TalosVersion;
use crate::mtls::peer_roles;

/// The decode limit apid uses (32 MiB).
const MAX_MESSAGE_SIZE: usize = 32 * 1024 * 1024;

/// The gRPC services of the simulated apid listening as endpoint number `endpoint`.
pub(crate) fn routes(cluster: &TalosCluster, endpoint: usize) -> tonic::service::Routes {
    services(Apid {
        cluster: cluster.clone(),
        endpoint,
        own_node: None,
    })
}

/// The gRPC services of `node`'s own apid (reached on its own address, e.g. over the
/// tailnet), listening as endpoint number `endpoint`: calls without `node` metadata are
/// answered by that node.
pub(crate) fn node_routes(
    cluster: &TalosCluster,
    node: Arc<Node>,
    endpoint: usize,
) -> tonic::service::Routes {
    services(Apid {
        cluster: cluster.clone(),
        endpoint,
        own_node: Some(node),
    })
}

fn services(apid: Apid) -> tonic::service::Routes {
    tonic::service::Routes::new(
        MachineServiceServer::new(apid.clone())
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE),
    )
    .add_service(ImageServiceServer::new(apid.clone()))
    .add_service(LifecycleServiceServer::new(apid.clone()))
    .add_service(ClusterServiceServer::new(apid.clone()))
    .add_service(
        StateServer::new(apid)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE),
    )
}

/// Implements every simulated service over the cluster.
#[derive(Debug, Clone)]
pub(crate) struct Apid {
    cluster: TalosCluster,
    /// Which of the sim's apid endpoints this is.
    endpoint: usize,
    /// The node this apid runs on, when it is a node's own endpoint.
    own_node: Option<Arc<Node>>,
}

/// The node a call is for, and what the caller may do.
pub(crate) struct Call {
    pub(crate) node: Arc<Node>,
    pub(crate) roles: Vec<String>,
}

impl Call {
    pub(crate) fn version(&self) -> TalosVersion {
        TalosVersion::new(&self.node.read(|s| s.installed.version.clone()))
    }
}

impl Apid {
    /// Routes a call to `method` like apid: records it, applies the endpoint faults, checks
    /// RBAC, then routes by `node` metadata.
    pub(crate) fn accept<T>(
        &self,
        request: &tonic::Request<T>,
        method: &str,
        access: Access,
    ) -> Result<Call, Status> {
        let ctx = &self.cluster.ctx;
        let roles = peer_roles(request);
        ctx.calls.record(ReceivedCall {
            endpoint: self.endpoint,
            method: method.to_owned(),
            node: request
                .metadata()
                .get_all("node")
                .iter()
                .map(|value| value.to_str().unwrap_or("<not ASCII>").to_owned())
                .collect(),
            roles: roles.clone(),
        });
        if ctx.faults.count_apid_call() {
            for connections in ctx.connections.get().into_iter().flatten() {
                connections.drop_all();
            }
            return Err(Status::unavailable("error reading from server: EOF"));
        }
        if ctx.faults.is_apid_endpoint_unavailable(self.endpoint) {
            return Err(Status::unavailable(
                "connection error: desc = \"transport: Error while dialing: dial unix /system/run/machined/machine.sock: connect: connection refused\"",
            ));
        }
        rbac::check(access, &roles)?;
        let node = self.target(request.metadata())?;
        if !node.read(|s| s.up) {
            return Err(Status::unavailable(format!(
                "connection error: desc = \"transport: Error while dialing: dial tcp {}:50000: connect: connection refused\"",
                node.spec.address
            )));
        }
        ctx.advances.node_called(&node.spec.hostname);
        Ok(Call { node, roles })
    }

    fn target(&self, metadata: &tonic::metadata::MetadataMap) -> Result<Arc<Node>, Status> {
        if metadata.get("nodes").is_some() {
            return Err(Status::invalid_argument(
                "one-2-many proxying (nodes metadata) is not simulated; send one call per node with the node key",
            ));
        }
        let values: Vec<_> = metadata.get_all("node").iter().collect();
        let target = match values.as_slice() {
            [] => {
                return self
                    .own_node
                    .clone()
                    .or_else(|| self.cluster.endpoint_node())
                    .ok_or_else(|| Status::unavailable("the simulated cluster has no nodes"));
            }
            [single] => single
                .to_str()
                .map_err(|_| Status::invalid_argument("invalid target: not ASCII"))?,
            _ => {
                return Err(Status::invalid_argument(
                    "node metadata must be single-valued",
                ));
            }
        };
        let has_port = target.parse::<std::net::IpAddr>().is_err() && target.contains(':');
        if has_port {
            return Err(Status::invalid_argument(format!(
                "invalid target {target:?}: give an address or hostname without a port"
            )));
        }
        self.cluster.find(target).ok_or_else(|| {
            Status::unavailable(format!(
                "connection error: desc = \"transport: Error while dialing: dial tcp: lookup {target}: no such host\""
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::OnceLock;
    use std::time::Duration;

    use tonic::metadata::{MetadataMap, MetadataValue};

    use super::*;
    use crate::Faults;
    use crate::clock::SimClock;
    use crate::factory::{FactoryOptions, ImageFactory};
    use crate::tailnet::{Tailnet, TailnetOptions};
    use crate::talos::spec::{NodeRole, NodeSpec};
    use crate::talos::{ClusterContext, ClusterSettings, Timings};

    fn apid() -> Apid {
        let faults = Faults::default();
        let clock = SimClock::start();
        let ctx = ClusterContext {
            factory: ImageFactory::new(FactoryOptions::default(), faults.clone()),
            tailnet: Tailnet::new(TailnetOptions::default(), clock, faults.clone()).unwrap(),
            faults,
            clock,
            timings: Timings::default(),
            reboot_jitter: Duration::ZERO,
            connections: OnceLock::new(),
            kube_access: OnceLock::new(),
            calls: Default::default(),
            advances: Default::default(),
        };
        let settings = ClusterSettings {
            cluster_name: "test".to_owned(),
            service_cidr: "10.43.0.0/16".to_owned(),
            pod_cidr: "10.42.0.0/16".to_owned(),
            control_plane_endpoint: "https://10.5.0.2:6443".to_owned(),
        };
        let specs = vec![
            NodeSpec::new("k8s-1", "10.5.0.2".parse().unwrap(), NodeRole::ControlPlane),
            NodeSpec::new("k8s-2", "10.5.0.3".parse().unwrap(), NodeRole::Worker),
        ];
        let cluster = TalosCluster::new(specs, ctx, &settings, "127.0.0.1:1").unwrap();
        Apid {
            cluster,
            endpoint: 0,
            own_node: None,
        }
    }

    fn metadata(key: &'static str, values: &[&'static str]) -> MetadataMap {
        let mut map = MetadataMap::new();
        for value in values {
            map.append(key, MetadataValue::from_static(value));
        }
        map
    }

    #[tokio::test]
    async fn node_metadata_routes_by_hostname_or_address_and_defaults_to_the_endpoint_node() {
        let apid = apid();
        let by_name = apid.target(&metadata("node", &["k8s-2"])).unwrap();
        let by_address = apid.target(&metadata("node", &["10.5.0.3"])).unwrap();
        assert!(Arc::ptr_eq(&by_name, &by_address));
        let default = apid.target(&MetadataMap::new()).unwrap();
        assert_eq!(default.spec.hostname, "k8s-1");
    }

    #[tokio::test]
    async fn several_node_values_are_invalid_and_unknown_nodes_unavailable() {
        let apid = apid();
        let several = apid
            .target(&metadata("node", &["k8s-1", "k8s-2"]))
            .unwrap_err();
        assert_eq!(several.code(), tonic::Code::InvalidArgument);
        assert_eq!(several.message(), "node metadata must be single-valued");
        let with_port = apid
            .target(&metadata("node", &["k8s-1:50000"]))
            .unwrap_err();
        assert_eq!(with_port.code(), tonic::Code::InvalidArgument);
        let unknown = apid.target(&metadata("node", &["k8s-9"])).unwrap_err();
        assert_eq!(unknown.code(), tonic::Code::Unavailable);
        let fan_out = apid.target(&metadata("nodes", &["k8s-1"])).unwrap_err();
        assert_eq!(fan_out.code(), tonic::Code::InvalidArgument);
    }
}
