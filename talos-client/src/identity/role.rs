//! Talos RBAC roles and the role set a client certificate carries.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// A Talos API role, as carried in a client certificate's Subject Organization.
///
/// Parsing never fails: names Talos does not define become [`Role::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// `os:admin`: every API, including configuration and upgrades.
    Admin,
    /// `os:operator`: read access plus reboot, service restart and image pull.
    Operator,
    /// `os:reader`: read-only access to non-sensitive APIs and resources.
    Reader,
    /// `os:etcd:backup`: etcd status, member list and snapshots.
    EtcdBackup,
    /// `os:image:verifier`: image signature verification.
    ImageVerifier,
    /// `os:meta:writer`: writes to the META partition.
    MetaWriter,
    /// `os:impersonator`: may act for other identities (used by proxies).
    Impersonator,
    /// Any other Organization value, kept verbatim.
    Other(String),
}

impl Role {
    /// The role's name as it appears in certificates, for example `"os:admin"`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Admin => "os:admin",
            Self::Operator => "os:operator",
            Self::Reader => "os:reader",
            Self::EtcdBackup => "os:etcd:backup",
            Self::ImageVerifier => "os:image:verifier",
            Self::MetaWriter => "os:meta:writer",
            Self::Impersonator => "os:impersonator",
            Self::Other(name) => name,
        }
    }
}

impl From<&str> for Role {
    fn from(name: &str) -> Self {
        match name {
            "os:admin" => Self::Admin,
            "os:operator" => Self::Operator,
            "os:reader" => Self::Reader,
            "os:etcd:backup" => Self::EtcdBackup,
            "os:image:verifier" => Self::ImageVerifier,
            "os:meta:writer" => Self::MetaWriter,
            "os:impersonator" => Self::Impersonator,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl FromStr for Role {
    type Err = Infallible;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(name))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The roles of one client certificate, in certificate order, without duplicates.
///
/// `Display` lists them comma-separated (`os:admin, os:reader`), or `no roles`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles(Vec<Role>);

impl Roles {
    /// True when the set holds `role`.
    pub fn contains(&self, role: &Role) -> bool {
        self.0.contains(role)
    }

    /// True when the set holds at least one of `allowed` (how Talos authorizes a call).
    ///
    /// ```
    /// use talos_client::identity::{Role, Roles};
    ///
    /// let roles: Roles = [Role::Reader].into_iter().collect();
    /// assert!(roles.permits(&[Role::Admin, Role::Reader]));
    /// assert!(!roles.permits(&[Role::Admin]));
    /// ```
    pub fn permits(&self, allowed: &[Role]) -> bool {
        allowed.iter().any(|role| self.contains(role))
    }

    /// The roles, in certificate order.
    pub fn iter(&self) -> std::slice::Iter<'_, Role> {
        self.0.iter()
    }

    /// True when the certificate carries no role at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Role> for Roles {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        let mut roles = Vec::new();
        for role in iter {
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        Self(roles)
    }
}

impl<'a> IntoIterator for &'a Roles {
    type Item = &'a Role;
    type IntoIter = std::slice::Iter<'a, Role>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no roles");
        }
        let names: Vec<&str> = self.0.iter().map(Role::as_str).collect();
        f.write_str(&names.join(", "))
    }
}
