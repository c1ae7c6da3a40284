//! A simulated Talos cluster behind one apid-like gRPC endpoint.
//!
//! Node state lives in the private `node` module and changes only through the lifecycle
//! (`lifecycle`: reboots, upgrades, boots), configuration (`config`) and extension services
//! (`extension_services`, running the programs in `containerboot` and `upsmon`); the gRPC services in `grpc` are thin glue that route by `node`
//! metadata, check RBAC and read or change that state. COSI resources are rendered from the
//! state on demand (`resources`). A boot ends in an orderly way or abruptly (`boot`), and
//! apid records every call it receives (`call_log`) and how long each node waited, once back
//! up, for the next call (`advance_log`). Start reading at [`TalosCluster`].

mod advance_log;
mod boot;
mod call_log;
mod cluster;
mod config;
mod containerboot;
mod events;
mod events_stream;
mod extension_services;
mod grpc;
mod images;
mod kubeconfig;
mod lifecycle;
mod logs;
mod node;
mod node_certificate;
mod rbac;
mod resources;
mod services;
mod spec;
mod streams;
mod upsmon;
mod version;

pub use call_log::ReceivedCall;
pub use cluster::{NodeBoots, NodeSnapshot, TalosCluster, Timings};
pub use spec::{NodeRole, NodeSpec};

pub(crate) use cluster::ClusterContext;
pub(crate) use config::ClusterSettings;
pub(crate) use grpc::{node_routes, routes};
pub(crate) use kubeconfig::KubeAccess;
pub(crate) use node_certificate::NodeCertificate;
