//! `machine.ImageService.Pull` (Talos 1.13+): pulls an installer image into a containerd store.

use talos_client::methods;
use talos_client::proto::machine::image_service_pull_layer_progress::Status as LayerStatus;
use talos_client::proto::machine::image_service_pull_response::Response as PullResponse;
use talos_client::proto::machine::image_service_server::ImageService;
use talos_client::proto::machine::{
    ImageServicePullLayerProgress, ImageServicePullProgress, ImageServicePullRequest,
    ImageServicePullResponse,
};
use tonic::{Request, Response, Status};

use super::{Apid, Call};
use crate::Faults;
use crate::talos::images;
use crate::talos::rbac::Access;
use crate::talos::streams::{GrpcStream, finite, produced};
use crate::talos::version::has_lifecycle_api;

/// The containerd instance of a request as (driver, namespace).
pub(super) fn containerd_key(
    instance: Option<talos_client::proto::common::ContainerdInstance>,
) -> (i32, i32) {
    instance.map_or((0, 0), |c| (c.driver, c.namespace))
}

/// Older nodes (and builds without the services, a fault) do not have the service at all.
pub(super) fn require_lifecycle_api(
    faults: &Faults,
    call: &Call,
    service: &str,
) -> Result<(), Status> {
    let missing = faults.is_lifecycle_api_missing(&call.node.spec.hostname);
    if has_lifecycle_api(&call.version()) && !missing {
        Ok(())
    } else {
        Err(Status::unimplemented(format!("unknown service {service}")))
    }
}

fn progress(layer: &str, status: LayerStatus, offset: i64, total: i64) -> ImageServicePullResponse {
    ImageServicePullResponse {
        response: Some(PullResponse::PullProgress(ImageServicePullProgress {
            layer_id: layer.to_owned(),
            progress: Some(ImageServicePullLayerProgress {
                status: status.into(),
                elapsed: Some(prost_types::Duration {
                    seconds: 1,
                    nanos: 0,
                }),
                offset,
                total,
            }),
        })),
    }
}

#[tonic::async_trait]
impl ImageService for Apid {
    type PullStream = GrpcStream<ImageServicePullResponse>;

    async fn pull(
        &self,
        request: Request<ImageServicePullRequest>,
    ) -> Result<Response<Self::PullStream>, Status> {
        let call = self.accept(&request, methods::IMAGE_PULL, Access::Operate)?;
        let faults = &self.cluster.ctx.faults;
        require_lifecycle_api(faults, &call, "machine.ImageService")?;
        let message = request.into_inner();
        images::resolve(&self.cluster.ctx, &message.image_ref).map_err(|e| {
            Status::not_found(format!("failed to pull image {:?}: {e}", message.image_ref))
        })?;
        let layer = "sha256:5a1c0de5";
        let started = progress(layer, LayerStatus::Downloading, 0, 104_857_600);
        if faults.is_image_pull_stalling(&call.node.spec.hostname) {
            let boot = call.node.read(|s| s.boot.clone());
            return Ok(Response::new(produced(boot, move |tx| async move {
                if tx.send(Ok(started)).await.is_ok() {
                    // The registry stopped sending: nothing more until the caller gives up.
                    tx.closed().await;
                }
            })));
        }
        let (driver, namespace) = containerd_key(message.containerd);
        call.node.update(|state| {
            state
                .pulled_images
                .insert((driver, namespace, message.image_ref.clone()))
        });
        Ok(Response::new(finite(vec![
            started,
            progress(
                layer,
                LayerStatus::DownloadComplete,
                104_857_600,
                104_857_600,
            ),
            progress(
                layer,
                LayerStatus::ExtractComplete,
                104_857_600,
                104_857_600,
            ),
            ImageServicePullResponse {
                response: Some(PullResponse::Name(message.image_ref)),
            },
        ])))
    }
}
