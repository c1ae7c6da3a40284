//! Options of the upgrade and reboot helpers.

use std::time::Duration;

use crate::machine::{ContainerdNamespace, RebootMode};

/// How long and how patiently to wait for a node to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Limit for waiting from the action until the node is back (talosctl default:
    /// 30 min). The upgrade helper also bounds the image pull and the installer by it.
    pub timeout: Duration,
    /// First delay before reconnecting to an unreachable node; doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Largest delay between reconnection attempts.
    pub max_backoff: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30 * 60),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Options of [`upgrade`](super::upgrade).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeOptions {
    /// Installer image reference.
    pub image: String,
    /// containerd instance for pull and install (1.13+ path).
    pub namespace: ContainerdNamespace,
    /// How to reboot after installing.
    pub reboot_mode: RebootMode,
    /// Reboot after installing (1.13+ path; the legacy path always reboots). Without
    /// reboot the helper returns right after the installer.
    pub reboot: bool,
    /// Always use the legacy `MachineService.Upgrade`.
    pub force_legacy: bool,
    /// Legacy path: keep ephemeral data (also skips etcd checks).
    pub preserve: bool,
    /// Legacy path: stage the upgrade for the next boot.
    pub stage: bool,
    /// Legacy path: skip etcd health checks.
    pub force: bool,
    /// Waiting for the node to come back.
    pub wait: WaitOptions,
}

impl UpgradeOptions {
    /// Upgrade to `image` with talosctl's defaults.
    pub fn new(image: impl Into<String>) -> Self {
        Self {
            image: image.into(),
            namespace: ContainerdNamespace::System,
            reboot_mode: RebootMode::Default,
            reboot: true,
            force_legacy: false,
            preserve: false,
            stage: false,
            force: false,
            wait: WaitOptions::default(),
        }
    }
}

/// Options of [`reboot`](super::reboot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RebootOptions {
    /// How to reboot.
    pub mode: RebootMode,
    /// Waiting for the node to come back.
    pub wait: WaitOptions,
}
