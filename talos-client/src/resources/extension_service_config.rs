//! `ExtensionServiceConfigs` and `ExtensionServiceConfigStatuses` (runtime): the rendered
//! configuration of extension services and the version each service runs with.

use super::resource_kind;
use crate::proto::talos::resource::definitions::runtime::{
    ExtensionServiceConfigSpec, ExtensionServiceConfigStatusSpec,
};

resource_kind!(
    /// The configuration files and environment rendered for an extension service (id =
    /// service name, for example `tailscale`; sensitive: reading needs `os:admin`).
    ExtensionServiceConfig,
    "ExtensionServiceConfigs.runtime.talos.dev",
    "runtime",
    ExtensionServiceConfigSpec,
    sensitive
);

resource_kind!(
    /// The config version an extension service was last (re)started with (id = service
    /// name); it changes when the service is restarted for new configuration.
    ExtensionServiceConfigStatus,
    "ExtensionServiceConfigStatuses.runtime.talos.dev",
    "runtime",
    ExtensionServiceConfigStatusSpec
);
