//! gRPC method paths of the calls this crate makes, for role pre-flight checks
//! ([`TalosClient::require_role`](crate::TalosClient::require_role)) and error reports.

/// `MachineService.Version`.
pub const VERSION: &str = "/machine.MachineService/Version";
/// `MachineService.ApplyConfiguration`.
pub const APPLY_CONFIGURATION: &str = "/machine.MachineService/ApplyConfiguration";
/// `MachineService.Upgrade` (legacy upgrade, deprecated upstream since Talos 1.13).
pub const UPGRADE: &str = "/machine.MachineService/Upgrade";
/// `MachineService.Reboot`.
pub const REBOOT: &str = "/machine.MachineService/Reboot";
/// `MachineService.Rollback`.
pub const ROLLBACK: &str = "/machine.MachineService/Rollback";
/// `MachineService.ServiceList`.
pub const SERVICE_LIST: &str = "/machine.MachineService/ServiceList";
/// `MachineService.ServiceRestart`.
pub const SERVICE_RESTART: &str = "/machine.MachineService/ServiceRestart";
/// `MachineService.Logs`.
pub const LOGS: &str = "/machine.MachineService/Logs";
/// `MachineService.Events`.
pub const EVENTS: &str = "/machine.MachineService/Events";
/// `MachineService.Read`.
pub const READ: &str = "/machine.MachineService/Read";
/// `MachineService.EtcdStatus`.
pub const ETCD_STATUS: &str = "/machine.MachineService/EtcdStatus";
/// `MachineService.EtcdMemberList`.
pub const ETCD_MEMBER_LIST: &str = "/machine.MachineService/EtcdMemberList";
/// `MachineService.Kubeconfig`.
pub const KUBECONFIG: &str = "/machine.MachineService/Kubeconfig";
/// `ImageService.Pull` (Talos 1.13+).
pub const IMAGE_PULL: &str = "/machine.ImageService/Pull";
/// `LifecycleService.Upgrade` (Talos 1.13+).
pub const LIFECYCLE_UPGRADE: &str = "/machine.LifecycleService/Upgrade";
/// `ClusterService.HealthCheck`.
pub const HEALTH_CHECK: &str = "/cluster.ClusterService/HealthCheck";
/// COSI `State.Get`.
pub const RESOURCE_GET: &str = "/cosi.resource.State/Get";
/// COSI `State.List`.
pub const RESOURCE_LIST: &str = "/cosi.resource.State/List";
/// COSI `State.Watch`.
pub const RESOURCE_WATCH: &str = "/cosi.resource.State/Watch";
