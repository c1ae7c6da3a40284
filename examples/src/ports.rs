//! The rollout-core ports over a [`Target`]'s clients.

use std::sync::Arc;

use rollout_core::adapters::{FactoryAdapter, TailnetAdapter, TalosAdapter};
use rollout_core::driver::Ports;
use rollout_core::ports::TokioClock;

use crate::target::Target;

/// Ports for the driver: Talos, Image Factory, tailnet (devices with `tags`), tokio time.
/// No Kubernetes port: cordon and drain are skipped (Talos drains on the legacy path).
pub fn ports_for(target: &Target, device_tags: &[String]) -> Ports {
    Ports {
        talos: Arc::new(TalosAdapter::new(target.talos.clone())),
        factory: Arc::new(FactoryAdapter::new(target.factory.clone())),
        tailnet: Some(Arc::new(
            TailnetAdapter::new(target.tailnet.clone()).tags(device_tags.iter().cloned()),
        )),
        kube: None,
        clock: Arc::new(TokioClock),
    }
}
