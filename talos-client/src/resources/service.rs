//! `Services.v1alpha1.talos.dev`: running/healthy flags of each service.

use super::resource_kind;
use crate::proto::talos::resource::definitions::v1alpha1::ServiceSpec;

resource_kind!(
    /// Whether a service (id, for example `ext-tailscale`) runs and is healthy.
    Service,
    "Services.v1alpha1.talos.dev",
    "runtime",
    ServiceSpec
);
