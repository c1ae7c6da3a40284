//! `KernelParamStatuses.runtime.talos.dev`: sysctls Talos manages.

use super::resource_kind;
use crate::proto::talos::resource::definitions::runtime::KernelParamStatusSpec;

resource_kind!(
    /// Current and default value of a managed sysctl; ids are `proc.sys.` plus the dotted
    /// key, for example `proc.sys.net.ipv4.ip_forward`.
    KernelParamStatus,
    "KernelParamStatuses.runtime.talos.dev",
    "runtime",
    KernelParamStatusSpec
);
