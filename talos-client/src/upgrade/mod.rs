//! Upgrade and reboot helpers with talosctl's semantics: choose the upgrade path from the
//! node's version, run it, and return only once the node has rebooted (new boot ID) and
//! reports running and ready; [`install`] chooses the same path but returns without waiting.
//!
//! Waiting is event-driven: the node's event stream is opened before the action, and when
//! the node goes away (`Unavailable`, end of stream) it is reopened with a bounded,
//! growing backoff until the overall timeout.

mod options;
mod progress;
mod tracker;

use std::future::Future;

use futures::StreamExt;

pub use options::{RebootOptions, UpgradeOptions, WaitOptions};
pub use progress::{Progress, UpgradePath, WaitOutcome};
// The version gate is pure and lives in `crate::version`; kept here for existing callers.
pub use crate::version::supports_lifecycle_api;

use crate::client::NodeClient;
use crate::error::Error;
use crate::machine::{LegacyUpgrade, PullProgress};
use tracker::Tracker;

/// Upgrades the node to `options.image` and waits until it runs the new boot.
///
/// Talos `>1.13.0-alpha.2 <2.0.0`: `ImageService.Pull`, `LifecycleService.Upgrade`, then
/// `Reboot`. Older nodes, nodes answering `Unimplemented` to the pull, or
/// `options.force_legacy`: the legacy `MachineService.Upgrade` (the node reboots itself).
/// `progress` sees every step; a CLI can render it.
///
/// # Errors
///
/// [`Error::PermissionDenied`] without `os:admin` (checked by the node), API errors from
/// the pull or installer ([`Error::OperationFailed`] for a non-zero installer exit code),
/// [`Error::Timeout`] when the node is not back within `options.wait.timeout`, and
/// [`Error::OperationFailed`] when a sequence on the node reports an error.
///
/// # Usage
///
/// ```no_run
/// # async fn run(node: talos_client::NodeClient) -> Result<(), talos_client::Error> {
/// use talos_client::upgrade::{UpgradeOptions, upgrade};
///
/// let options = UpgradeOptions::new("factory.talos.dev/metal-installer/abc…:v1.13.2");
/// let outcome = upgrade(&node, &options, |progress| tracing::info!(?progress)).await?;
/// println!("rebooted: {:?} → {:?}", outcome.boot_id_before, outcome.boot_id_after);
/// # Ok(()) }
/// ```
pub async fn upgrade<F>(
    node: &NodeClient,
    options: &UpgradeOptions,
    mut progress: F,
) -> Result<WaitOutcome, Error>
where
    F: FnMut(&Progress) + Send,
{
    let version = node.version().await?.tag;
    match choose_route(node, &version, options, &mut progress).await? {
        Route::Lifecycle { image_name } => {
            lifecycle_path(node, &version, options, &image_name, progress).await
        }
        Route::Legacy => {
            let request = legacy_request(options);
            let tracker = Tracker::new(node, &version, &options.wait, &mut progress).await?;
            tracker
                .run(|| async { node.upgrade_legacy(&request).await.map(Some) })
                .await
        }
    }
}

/// Installs `options.image` and returns without waiting for any reboot: the path taken.
///
/// The path is chosen as by [`upgrade`]. [`UpgradePath::Lifecycle`]: the image was pulled
/// and the installer ran; the node has not rebooted (the caller reboots when it wants;
/// `options.reboot` is not used). [`UpgradePath::Legacy`]: the node accepted the legacy
/// `MachineService.Upgrade`, which runs the installer and reboots the node by itself; the
/// caller watches for the new boot (a new boot ID) on its own schedule.
///
/// # Errors
///
/// As [`upgrade`], without the wait's [`Error::Timeout`]: the pull and the installer are
/// still bounded by `options.wait.timeout`. An error on the legacy path after the request
/// may have been sent (`Unavailable`, a time limit) does not mean nothing happened: the
/// node may be upgrading and rebooting.
///
/// # Usage
///
/// ```no_run
/// # async fn run(node: talos_client::NodeClient) -> Result<(), talos_client::Error> {
/// use talos_client::upgrade::{UpgradeOptions, UpgradePath, install};
///
/// let options = UpgradeOptions::new("factory.talos.dev/metal-installer/abc…:v1.10.4");
/// match install(&node, &options, |progress| tracing::info!(?progress)).await? {
///     UpgradePath::Legacy => println!("installing; the node reboots by itself"),
///     UpgradePath::Lifecycle => println!("installed; reboot to run it"),
/// }
/// # Ok(()) }
/// ```
pub async fn install<F>(
    node: &NodeClient,
    options: &UpgradeOptions,
    mut progress: F,
) -> Result<UpgradePath, Error>
where
    F: FnMut(&Progress) + Send,
{
    let version = node.version().await?.tag;
    match choose_route(node, &version, options, &mut progress).await? {
        Route::Lifecycle { image_name } => {
            run_installer(node, options, &image_name, &mut progress).await?;
            Ok(UpgradePath::Lifecycle)
        }
        Route::Legacy => {
            let actor_id = node.upgrade_legacy(&legacy_request(options)).await?;
            progress(&Progress::ActionAccepted {
                actor_id: Some(actor_id),
            });
            Ok(UpgradePath::Legacy)
        }
    }
}

/// Where the installer runs.
enum Route {
    /// The 1.13+ lifecycle API, from the pulled image's name.
    Lifecycle { image_name: String },
    /// The legacy `MachineService.Upgrade`.
    Legacy,
}

/// Chooses the path from the node's version (its tag) and pulls the image on the
/// lifecycle path, falling back to the legacy call when the pull is unimplemented.
async fn choose_route<F>(
    node: &NodeClient,
    version: &str,
    options: &UpgradeOptions,
    progress: &mut F,
) -> Result<Route, Error>
where
    F: FnMut(&Progress) + Send,
{
    let use_lifecycle = !options.force_legacy && supports_lifecycle_api(version);
    if use_lifecycle {
        progress(&Progress::Path(UpgradePath::Lifecycle));
        let pulled = within(
            node,
            options.wait.timeout,
            "pulling the installer image",
            pull(node, options, progress),
        )
        .await;
        match pulled {
            Ok(image_name) => return Ok(Route::Lifecycle { image_name }),
            Err(error) if error.is_unimplemented() => {
                tracing::debug!("image pull unimplemented, falling back to the legacy upgrade");
            }
            Err(error) => return Err(error),
        }
    }
    progress(&Progress::Path(UpgradePath::Legacy));
    Ok(Route::Legacy)
}

/// The legacy `MachineService.Upgrade` request for `options`.
fn legacy_request(options: &UpgradeOptions) -> LegacyUpgrade {
    LegacyUpgrade {
        image: options.image.clone(),
        preserve: options.preserve,
        stage: options.stage,
        force: options.force,
        powercycle: options.reboot_mode == crate::machine::RebootMode::Powercycle,
    }
}

/// Reboots the node and waits until it runs a new boot and reports running and ready.
///
/// # Errors
///
/// [`Error::PermissionDenied`] without `os:admin`/`os:operator`, [`Error::Timeout`], and
/// [`Error::OperationFailed`] when a sequence reports an error.
pub async fn reboot<F>(
    node: &NodeClient,
    options: &RebootOptions,
    mut progress: F,
) -> Result<WaitOutcome, Error>
where
    F: FnMut(&Progress) + Send,
{
    let version = node.version().await?.tag;
    let tracker = Tracker::new(node, &version, &options.wait, &mut progress).await?;
    tracker
        .run(|| async { node.reboot(options.mode).await.map(Some) })
        .await
}

/// Pulls the installer image; returns the name to install from.
async fn pull<F>(
    node: &NodeClient,
    options: &UpgradeOptions,
    progress: &mut F,
) -> Result<String, Error>
where
    F: FnMut(&Progress) + Send,
{
    let mut stream = node.pull_image(options.namespace, &options.image).await?;
    while let Some(item) = stream.next().await {
        let item = item?;
        progress(&Progress::Pull(item.clone()));
        if let PullProgress::Pulled { name } = item {
            return Ok(name);
        }
    }
    // `pull_image` ends with `Pulled` or an error; an empty end cannot happen.
    Err(node
        .context(crate::methods::IMAGE_PULL)
        .protocol_error("the pull ended without the pulled image name"))
}

/// Runs the installer, then reboots (unless told not to) and waits.
async fn lifecycle_path<F>(
    node: &NodeClient,
    version: &str,
    options: &UpgradeOptions,
    image_name: &str,
    mut progress: F,
) -> Result<WaitOutcome, Error>
where
    F: FnMut(&Progress) + Send,
{
    run_installer(node, options, image_name, &mut progress).await?;
    if !options.reboot {
        return Ok(WaitOutcome::not_rebooted());
    }
    let tracker = Tracker::new(node, version, &options.wait, &mut progress).await?;
    tracker
        .run(|| async { node.reboot(options.reboot_mode).await.map(Some) })
        .await
}

/// Runs the lifecycle installer from the pulled image, within `options.wait.timeout`.
async fn run_installer<F>(
    node: &NodeClient,
    options: &UpgradeOptions,
    image_name: &str,
    progress: &mut F,
) -> Result<(), Error>
where
    F: FnMut(&Progress) + Send,
{
    let install = async {
        let mut installer = node
            .lifecycle_upgrade(options.namespace, image_name)
            .await?;
        while let Some(line) = installer.next().await {
            progress(&Progress::Installer(line?));
        }
        Ok(())
    };
    within(node, options.wait.timeout, "running the installer", install).await
}

/// Runs `work`, failing with [`Error::Timeout`] naming `what` and the node after `limit`.
async fn within<T>(
    node: &NodeClient,
    limit: std::time::Duration,
    what: &str,
    work: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
        Err(Error::Timeout {
            what: format!("{what} on node {}", node.node().unwrap_or("(endpoint)")),
            after: limit,
        })
    })
}
