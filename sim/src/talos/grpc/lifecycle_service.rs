//! `machine.LifecycleService.Upgrade` (Talos 1.13+): runs the installer from a pulled image,
//! writes the next boot entry and does not reboot.

use talos_client::methods;
use talos_client::proto::machine::lifecycle_service_install_progress::Response as Progress;
use talos_client::proto::machine::lifecycle_service_server::LifecycleService;
use talos_client::proto::machine::{
    LifecycleServiceInstallProgress, LifecycleServiceUpgradeRequest,
    LifecycleServiceUpgradeResponse,
};
use tonic::{Request, Response, Status};

use super::Apid;
use super::image::{containerd_key, require_lifecycle_api};
use crate::talos::images;
use crate::talos::rbac::Access;
use crate::talos::streams::{GrpcStream, finite};

fn line(progress: Progress) -> LifecycleServiceUpgradeResponse {
    LifecycleServiceUpgradeResponse {
        progress: Some(LifecycleServiceInstallProgress {
            response: Some(progress),
        }),
    }
}

#[tonic::async_trait]
impl LifecycleService for Apid {
    type UpgradeStream = GrpcStream<LifecycleServiceUpgradeResponse>;

    async fn upgrade(
        &self,
        request: Request<LifecycleServiceUpgradeRequest>,
    ) -> Result<Response<Self::UpgradeStream>, Status> {
        let call = self.accept(&request, methods::LIFECYCLE_UPGRADE, Access::Admin)?;
        let faults = &self.cluster.ctx.faults;
        require_lifecycle_api(faults, &call, "machine.LifecycleService")?;
        let message = request.into_inner();
        let image = message.source.map(|s| s.image_name).unwrap_or_default();
        let (driver, namespace) = containerd_key(message.containerd);
        let pulled = call.node.read(|state| {
            state
                .pulled_images
                .contains(&(driver, namespace, image.clone()))
        });
        if !pulled {
            return Err(Status::not_found(format!(
                "installer image {image:?} not found in containerd store; pull it with ImageService.Pull first"
            )));
        }
        let entry = images::resolve(&self.cluster.ctx, &image).map_err(Status::not_found)?;
        let version = entry.version.clone();
        if let Some(exit_code) = faults.installer_exit_code(&call.node.spec.hostname) {
            return Ok(Response::new(finite(vec![
                line(Progress::Message(format!("running installer from {image}"))),
                line(Progress::Message(format!(
                    "installing Talos {version} to the next boot entry"
                ))),
                line(Progress::Message(
                    "error: failed to write the boot entry: no space left on device".to_owned(),
                )),
                line(Progress::ExitCode(exit_code)),
            ])));
        }
        call.node.update(|state| {
            if state.sequence.is_some() {
                return Err(Status::failed_precondition(
                    "another installation/upgrade is already in progress",
                ));
            }
            state.next_boot = Some(entry);
            Ok(())
        })?;
        Ok(Response::new(finite(vec![
            line(Progress::Message(format!("running installer from {image}"))),
            line(Progress::Message(format!(
                "installing Talos {version} to the next boot entry"
            ))),
            line(Progress::Message(
                "upgrade successful, the new version boots on the next reboot".to_owned(),
            )),
            line(Progress::ExitCode(0)),
        ])))
    }
}
