//! Role names, role sets and the per-method role table.
#![allow(clippy::unwrap_used)]

use talos_client::identity::{Role, Roles, required_roles, required_roles_to_read};

#[test]
fn role_names_round_trip() {
    let names = [
        "os:admin",
        "os:operator",
        "os:reader",
        "os:etcd:backup",
        "os:image:verifier",
        "os:meta:writer",
        "os:impersonator",
        "custom:thing",
    ];
    for name in names {
        let role: Role = name.parse().unwrap();
        assert_eq!(role.as_str(), name);
        assert_eq!(role.to_string(), name);
    }
    assert_eq!("os:etcd:backup".parse::<Role>().unwrap(), Role::EtcdBackup);
    assert_eq!(
        "admin".parse::<Role>().unwrap(),
        Role::Other("admin".to_owned())
    );
}

#[test]
fn roles_are_deduplicated_and_displayed_in_order() {
    let roles: Roles = [Role::Admin, Role::Reader, Role::Admin]
        .into_iter()
        .collect();
    assert_eq!(roles.to_string(), "os:admin, os:reader");
    assert_eq!(Roles::default().to_string(), "no roles");
}

#[test]
fn reader_is_not_permitted_admin_only_methods() {
    let reader: Roles = [Role::Reader].into_iter().collect();
    for method in [
        "/machine.MachineService/ApplyConfiguration",
        "/machine.MachineService/Upgrade",
        "/machine.LifecycleService/Upgrade",
        "/machine.MachineService/Read",
        "/machine.MachineService/Rollback",
        "/machine.MachineService/Kubeconfig",
    ] {
        assert!(!reader.permits(required_roles(method)), "{method}");
        assert_eq!(required_roles(method), &[Role::Admin], "{method}");
    }
}

#[test]
fn operator_may_reboot_restart_and_pull_but_not_upgrade() {
    let operator: Roles = [Role::Operator].into_iter().collect();
    assert!(operator.permits(required_roles("/machine.MachineService/Reboot")));
    assert!(operator.permits(required_roles("/machine.MachineService/ServiceRestart")));
    assert!(operator.permits(required_roles("/machine.ImageService/Pull")));
    assert!(!operator.permits(required_roles("/machine.LifecycleService/Upgrade")));
}

#[test]
fn read_methods_admit_readers_and_etcd_reads_admit_backup() {
    let reader: Roles = [Role::Reader].into_iter().collect();
    let backup: Roles = [Role::EtcdBackup].into_iter().collect();
    for method in [
        "/machine.MachineService/Version",
        "/machine.MachineService/Events",
        "/machine.MachineService/Logs",
        "/cluster.ClusterService/HealthCheck",
        "/cosi.resource.State/Watch",
    ] {
        assert!(reader.permits(required_roles(method)), "{method}");
    }
    assert!(backup.permits(required_roles("/machine.MachineService/EtcdMemberList")));
    assert!(!backup.permits(required_roles("/machine.MachineService/Version")));
}

#[test]
fn unknown_methods_need_admin_like_talos_fallback() {
    assert_eq!(
        required_roles("/machine.MachineService/SomethingNew"),
        &[Role::Admin]
    );
}

#[test]
fn sensitive_resources_need_admin_to_read() {
    let reader: Roles = [Role::Reader].into_iter().collect();
    assert!(!reader.permits(required_roles_to_read("MachineConfigs.config.talos.dev")));
    assert!(!reader.permits(required_roles_to_read(
        "ExtensionServiceConfigs.runtime.talos.dev"
    )));
    assert!(!reader.permits(required_roles_to_read("OSRootSecrets.secrets.talos.dev")));
    assert!(reader.permits(required_roles_to_read(
        "ExtensionStatuses.runtime.talos.dev"
    )));
}
