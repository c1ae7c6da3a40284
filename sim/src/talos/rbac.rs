//! Talos RBAC: which roles may call what, checked against the client certificate's roles.

use tonic::Status;

/// The role sets Talos allows per RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// admin, operator, reader (Version, ServiceList, Logs, Events, COSI reads, HealthCheck).
    Read,
    /// admin, operator, reader, etcd:backup (EtcdStatus, EtcdMemberList).
    EtcdRead,
    /// admin, operator (Reboot, ServiceRestart, ImageService.Pull).
    Operate,
    /// admin only (ApplyConfiguration, upgrades, Rollback, Read, Kubeconfig, sensitive COSI types).
    Admin,
}

impl Access {
    fn allowed(self) -> &'static [&'static str] {
        match self {
            Self::Read => &["os:admin", "os:operator", "os:reader"],
            Self::EtcdRead => &["os:admin", "os:operator", "os:reader", "os:etcd:backup"],
            Self::Operate => &["os:admin", "os:operator"],
            Self::Admin => &["os:admin"],
        }
    }
}

/// `PermissionDenied` unless one of `roles` grants `access`.
pub(crate) fn check(access: Access, roles: &[String]) -> Result<(), Status> {
    if roles
        .iter()
        .any(|role| access.allowed().contains(&role.as_str()))
    {
        Ok(())
    } else {
        Err(Status::permission_denied("not authorized"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn roles(list: &[&str]) -> Vec<String> {
        list.iter().map(|r| (*r).to_owned()).collect()
    }

    #[test]
    fn readers_read_but_do_not_operate_or_administer() {
        let reader = roles(&["os:reader"]);
        assert!(check(Access::Read, &reader).is_ok());
        assert!(check(Access::Operate, &reader).is_err());
        assert_eq!(
            check(Access::Admin, &reader).unwrap_err().code(),
            tonic::Code::PermissionDenied
        );
    }

    #[test]
    fn etcd_backup_reads_etcd_only() {
        let backup = roles(&["os:etcd:backup"]);
        assert!(check(Access::EtcdRead, &backup).is_ok());
        assert!(check(Access::Read, &backup).is_err());
    }
}
