//! Which roles each Talos API method needs, as data, for pre-flight checks and error messages.

use super::role::Role;

/// Roles that may call read-only methods.
static READ: &[Role] = &[Role::Admin, Role::Operator, Role::Reader];
/// Roles that may call etcd read methods.
static ETCD_READ: &[Role] = &[Role::Admin, Role::Operator, Role::Reader, Role::EtcdBackup];
/// Roles that may call operational methods (reboot, restart, pull).
static OPERATE: &[Role] = &[Role::Admin, Role::Operator];
/// Roles that may call admin-only methods; also what Talos requires for unlisted methods.
static ADMIN: &[Role] = &[Role::Admin];

/// Method paths and the roles Talos accepts for them (machined's authorization rules).
///
/// `ApplyConfiguration` also admits `os:reader`, but only in maintenance mode, which this
/// client never talks to, so it is listed as admin-only.
static METHOD_ROLES: &[(&str, &[Role])] = &[
    ("/cluster.ClusterService/HealthCheck", READ),
    ("/machine.ImageService/List", READ),
    ("/machine.ImageService/Pull", OPERATE),
    ("/machine.ImageService/Import", ADMIN),
    ("/machine.ImageService/Remove", ADMIN),
    ("/machine.LifecycleService/Install", ADMIN),
    ("/machine.LifecycleService/Upgrade", ADMIN),
    ("/machine.MachineService/ApplyConfiguration", ADMIN),
    ("/machine.MachineService/Containers", READ),
    ("/machine.MachineService/CPUInfo", READ),
    ("/machine.MachineService/DiskStats", READ),
    ("/machine.MachineService/DiskUsage", READ),
    ("/machine.MachineService/Dmesg", READ),
    ("/machine.MachineService/EtcdAlarmList", ETCD_READ),
    ("/machine.MachineService/EtcdMemberList", ETCD_READ),
    ("/machine.MachineService/EtcdStatus", ETCD_READ),
    (
        "/machine.MachineService/EtcdSnapshot",
        &[Role::Admin, Role::Operator, Role::EtcdBackup],
    ),
    ("/machine.MachineService/EtcdDefragment", OPERATE),
    ("/machine.MachineService/Events", READ),
    ("/machine.MachineService/Hostname", READ),
    ("/machine.MachineService/Kubeconfig", ADMIN),
    ("/machine.MachineService/List", READ),
    ("/machine.MachineService/LoadAvg", READ),
    ("/machine.MachineService/Logs", READ),
    ("/machine.MachineService/LogsContainers", READ),
    ("/machine.MachineService/Memory", READ),
    ("/machine.MachineService/Mounts", READ),
    ("/machine.MachineService/NetworkDeviceStats", READ),
    ("/machine.MachineService/Netstat", READ),
    ("/machine.MachineService/Processes", READ),
    ("/machine.MachineService/Read", ADMIN),
    ("/machine.MachineService/Reboot", OPERATE),
    ("/machine.MachineService/Restart", OPERATE),
    ("/machine.MachineService/Rollback", ADMIN),
    ("/machine.MachineService/ServiceList", READ),
    ("/machine.MachineService/ServiceRestart", OPERATE),
    ("/machine.MachineService/ServiceStart", OPERATE),
    ("/machine.MachineService/ServiceStop", OPERATE),
    ("/machine.MachineService/Shutdown", OPERATE),
    ("/machine.MachineService/Stats", READ),
    ("/machine.MachineService/SystemStat", READ),
    ("/machine.MachineService/Upgrade", ADMIN),
    ("/machine.MachineService/Version", READ),
    ("/cosi.resource.State/Get", READ),
    ("/cosi.resource.State/List", READ),
    ("/cosi.resource.State/Watch", READ),
];

/// Resource types whose contents are sensitive: reading them needs `os:admin` even
/// though the COSI read methods admit readers.
static SENSITIVE_RESOURCE_TYPES: &[&str] = &[
    "MachineConfigs.config.talos.dev",
    "ExtensionServiceConfigs.runtime.talos.dev",
];

/// The roles Talos accepts for a gRPC method path such as `/machine.MachineService/Reboot`.
///
/// A caller is allowed when its certificate holds any one of them
/// ([`Roles::permits`](super::Roles::permits)). Methods Talos does not list need `os:admin`,
/// and so do unknown paths here.
///
/// ```
/// use talos_client::identity::{required_roles, Role};
///
/// assert_eq!(required_roles("/machine.MachineService/Upgrade"), &[Role::Admin]);
/// assert!(required_roles("/machine.MachineService/Version").contains(&Role::Reader));
/// ```
pub fn required_roles(method_path: &str) -> &'static [Role] {
    METHOD_ROLES
        .iter()
        .find(|(path, _)| *path == method_path)
        .map_or(ADMIN, |(_, roles)| roles)
}

/// The roles Talos accepts for reading (get, list, watch) a COSI resource type such as
/// `MachineConfigs.config.talos.dev`.
///
/// # Caveats
///
/// Only the sensitive types this SDK reads (machine configs, extension service configs)
/// and the `secrets.talos.dev` namespace of types are known to need admin; for any other
/// type this returns the COSI read roles, and the node has the final word.
pub fn required_roles_to_read(resource_type: &str) -> &'static [Role] {
    let sensitive = SENSITIVE_RESOURCE_TYPES.contains(&resource_type)
        || resource_type.ends_with(".secrets.talos.dev");
    if sensitive { ADMIN } else { READ }
}
