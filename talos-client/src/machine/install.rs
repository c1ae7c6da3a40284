//! Installing a new Talos image: the legacy `MachineService.Upgrade`, and the Talos 1.13+
//! `ImageService.Pull` + `LifecycleService.Upgrade` pair.

use futures::stream::BoxStream;

use crate::client::{NodeClient, image_api, lifecycle_api, machine_api, single};
use crate::error::Error;
use crate::methods;
use crate::proto::common::{ContainerDriver, ContainerdInstance};
use crate::proto::machine::{
    ImageServicePullRequest, InstallArtifactsSource, LifecycleServiceUpgradeRequest,
    UpgradeRequest, image_service_pull_layer_progress::Status as LayerStatus,
    image_service_pull_response::Response as PullResponse,
    lifecycle_service_install_progress::Response as InstallResponse,
    upgrade_request::RebootMode as LegacyRebootMode,
};
use crate::transport::{CallContext, Failover, request};

use super::final_stream::{Step, until_final};

/// Parameters of the legacy `MachineService.Upgrade` call (deprecated upstream since
/// Talos 1.13, still served through 1.17). The node pulls the image inside the call,
/// then installs and reboots by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyUpgrade {
    /// Installer image reference.
    pub image: String,
    /// Keep the ephemeral partition's data; also skips the etcd health checks.
    pub preserve: bool,
    /// Stage the upgrade to run at the next boot.
    pub stage: bool,
    /// Skip the etcd health checks on control-plane nodes.
    pub force: bool,
    /// Reboot with a full power cycle instead of kexec.
    pub powercycle: bool,
}

impl LegacyUpgrade {
    /// An upgrade to `image` with every option off.
    pub fn new(image: impl Into<String>) -> Self {
        Self {
            image: image.into(),
            preserve: false,
            stage: false,
            force: false,
            powercycle: false,
        }
    }
}

/// Which containerd instance an image is pulled into and installed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContainerdNamespace {
    /// The system namespace through CRI (talosctl's default, `--namespace system`).
    #[default]
    System,
    /// The system namespace through plain containerd (`--namespace inmem`).
    InMemory,
    /// The Kubernetes (CRI) namespace (`--namespace cri`).
    Cri,
}

impl ContainerdNamespace {
    fn instance(self) -> ContainerdInstance {
        use crate::proto::common::ContainerdNamespace as Namespace;
        let (driver, namespace) = match self {
            Self::System => (ContainerDriver::Cri, Namespace::NsSystem),
            Self::InMemory => (ContainerDriver::Containerd, Namespace::NsSystem),
            Self::Cri => (ContainerDriver::Cri, Namespace::NsCri),
        };
        ContainerdInstance {
            driver: driver.into(),
            namespace: namespace.into(),
        }
    }
}

/// One message of an image pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullProgress {
    /// Progress of one layer.
    Layer {
        /// The layer digest.
        layer_id: String,
        /// Download/extract state, when the node sent a known value.
        status: Option<LayerStatus>,
        /// Bytes done.
        offset: i64,
        /// Bytes in total.
        total: i64,
    },
    /// The pull finished; the image's resolved name (the last message).
    Pulled {
        /// The name to install from.
        name: String,
    },
}

impl NodeClient {
    /// Starts a legacy upgrade to `upgrade.image`; returns the actor id of the upgrade
    /// sequence. The node reboots by itself afterwards.
    ///
    /// # Errors
    ///
    /// [`Error::PermissionDenied`] without `os:admin`; [`Error::Api`] when the image
    /// cannot be pulled or validated, when etcd is unhealthy, or `FailedPrecondition`
    /// when another upgrade runs.
    pub async fn upgrade_legacy(&self, upgrade: &LegacyUpgrade) -> Result<String, Error> {
        let context = self.context(methods::UPGRADE);
        let message = UpgradeRequest {
            image: upgrade.image.clone(),
            preserve: upgrade.preserve,
            stage: upgrade.stage,
            force: upgrade.force,
            reboot_mode: if upgrade.powercycle {
                LegacyRebootMode::Powercycle.into()
            } else {
                LegacyRebootMode::Default.into()
            },
        };
        let response = self
            .call(&context, Failover::OnConnectFailure, |channel, node| {
                let message = message.clone();
                async move {
                    machine_api(channel)
                        .upgrade(request(message, node.as_ref()))
                        .await
                }
            })
            .await?;
        Ok(single(&context, response.messages)?.actor_id)
    }

    /// Pulls `image_ref` into `namespace` (Talos 1.13+). The stream yields layer progress
    /// and ends with [`PullProgress::Pulled`].
    ///
    /// # Errors
    ///
    /// [`Error::Api`] with `Unimplemented` on Talos < 1.13 (use
    /// [`NodeClient::upgrade_legacy`]); pull failures; a stream that ends without the
    /// pulled name yields [`Error::Protocol`].
    pub async fn pull_image(
        &self,
        namespace: ContainerdNamespace,
        image_ref: &str,
    ) -> Result<BoxStream<'static, Result<PullProgress, Error>>, Error> {
        let context = self.context(methods::IMAGE_PULL);
        let message = ImageServicePullRequest {
            containerd: Some(namespace.instance()),
            image_ref: image_ref.to_owned(),
        };
        let streaming = self
            .call(&context, Failover::OnConnectFailure, |channel, node| {
                let message = message.clone();
                async move {
                    image_api(channel)
                        .pull(request(message, node.as_ref()))
                        .await
                }
            })
            .await?;
        let responses = context.stream(streaming);
        let finished = context.protocol_error("the pull ended without the pulled image name");
        Ok(until_final(
            responses,
            finished,
            |response| match response.response {
                Some(PullResponse::Name(name)) => Step::Last(Ok(PullProgress::Pulled { name })),
                Some(PullResponse::PullProgress(progress)) => {
                    let layer = progress.progress.unwrap_or_default();
                    Step::Item(PullProgress::Layer {
                        layer_id: progress.layer_id,
                        status: LayerStatus::try_from(layer.status).ok(),
                        offset: layer.offset,
                        total: layer.total,
                    })
                }
                None => Step::Skip,
            },
        ))
    }

    /// Runs the installer from `image_name`, which must already be in `namespace`
    /// (Talos 1.13+). The stream yields the installer's output lines and ends cleanly on
    /// exit code 0. The node does not reboot; call [`NodeClient::reboot`] afterwards.
    ///
    /// # Errors
    ///
    /// The stream yields [`Error::OperationFailed`] for a non-zero exit code (the RPC
    /// itself succeeds), [`Error::Protocol`] when it ends without an exit code; opening
    /// fails with `FailedPrecondition` when another installation runs, or when the image
    /// is not in the containerd store.
    pub async fn lifecycle_upgrade(
        &self,
        namespace: ContainerdNamespace,
        image_name: &str,
    ) -> Result<BoxStream<'static, Result<String, Error>>, Error> {
        let context = self.context(methods::LIFECYCLE_UPGRADE);
        let message = LifecycleServiceUpgradeRequest {
            containerd: Some(namespace.instance()),
            source: Some(InstallArtifactsSource {
                image_name: image_name.to_owned(),
            }),
        };
        let streaming = self
            .call(&context, Failover::OnConnectFailure, |channel, node| {
                let message = message.clone();
                async move {
                    lifecycle_api(channel)
                        .upgrade(request(message, node.as_ref()))
                        .await
                }
            })
            .await?;
        let responses = context.stream(streaming);
        let finished = context.protocol_error("the installer output ended without an exit code");
        let failed = installer_failure(&context);
        Ok(until_final(
            responses,
            finished,
            move |response| match response.progress.and_then(|progress| progress.response) {
                Some(InstallResponse::Message(line)) => Step::Item(line),
                Some(InstallResponse::ExitCode(0)) => Step::End,
                Some(InstallResponse::ExitCode(code)) => Step::Last(Err(failed(code))),
                None => Step::Skip,
            },
        ))
    }
}

fn installer_failure(context: &CallContext) -> impl Fn(i32) -> Error + Send + 'static {
    let target = context.target.clone();
    move |code| Error::OperationFailed {
        target: target.clone(),
        operation: "installer".to_owned(),
        detail: format!("exited with code {code}; see the installer output for the cause"),
    }
}
