//! What the simulated factory offers: Talos versions, official extensions and overlays per version.

use serde_json::{Value, json};

/// An official system extension the factory offers for every listed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialExtension {
    /// Repository path, the name used in `officialExtensions` (e.g. `siderolabs/tailscale`).
    pub name: String,
    /// The extension's manifest name, as nodes report it in `ExtensionStatuses` (e.g. `tailscale`).
    pub manifest_name: String,
    /// The extension's own version; `{talos}` is replaced by the Talos version (e.g. `v1.10.4`).
    pub version: String,
    /// The extension's description.
    pub description: String,
    /// The service the extension ships, if any (Talos runs it as `ext-<name>`).
    pub service: Option<ExtensionService>,
}

/// A service shipped by an extension, as Talos runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionService {
    /// The service name; Talos's service id is `ext-<name>` (see [`ExtensionService::id`]).
    pub name: String,
    /// The ExtensionServiceConfig the service waits for (`Waiting` until the machine
    /// config has a document of that name); `None` when it starts at boot without one.
    pub config: Option<String>,
    /// What runs inside the service's container.
    pub program: ServiceProgram,
}

impl ExtensionService {
    /// A service that starts at boot without any configuration.
    pub fn new(name: &str, program: ServiceProgram) -> Self {
        Self {
            name: name.to_owned(),
            config: None,
            program,
        }
    }

    /// Makes the service wait for the ExtensionServiceConfig named `esc`.
    pub fn with_config(mut self, esc: &str) -> Self {
        self.config = Some(esc.to_owned());
        self
    }

    /// The service id Talos lists it under (`ext-tailscale`).
    pub fn id(&self) -> String {
        format!("ext-{}", self.name)
    }
}

/// The program an extension service runs, which decides how the simulated service behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceProgram {
    /// A daemon that runs until stopped (e.g. `iscsid`).
    Daemon,
    /// Tailscale's containerboot: reads `TS_*` variables and logs in to the tailnet.
    Containerboot,
    /// NUT's `upsmon`: needs a `MONITOR` line in its mounted `upsmon.conf`.
    Upsmon,
}

impl OfficialExtension {
    /// An extension by Sidero Labs.
    pub fn new(name: &str, version: &str, description: &str) -> Self {
        let manifest_name = name.rsplit('/').next().unwrap_or(name).to_owned();
        Self {
            name: name.to_owned(),
            manifest_name,
            version: version.to_owned(),
            description: description.to_owned(),
            service: None,
        }
    }

    /// Sets the service the extension ships.
    pub fn with_service(mut self, service: ExtensionService) -> Self {
        self.service = Some(service);
        self
    }

    /// The extension's version for a Talos version.
    pub fn version_for(&self, talos_version: &str) -> String {
        self.version.replace("{talos}", talos_version)
    }

    /// The factory's JSON entry for `GET /version/:v/extensions/official`.
    pub(crate) fn to_json(&self, talos_version: &str) -> Value {
        let tag = self.version_for(talos_version);
        json!({
            "name": self.name,
            "ref": format!("ghcr.io/{}:{tag}", self.name),
            "digest": format!("sha256:{}", pseudo_digest(&format!("{}:{tag}", self.name))),
            "author": "Sidero Labs",
            "description": self.description,
        })
    }
}

/// The extensions a default sim factory offers (a realistic subset of the official list),
/// with the services they ship: this is the one table of extension facts in the sim.
pub fn default_extensions() -> Vec<OfficialExtension> {
    vec![
        OfficialExtension::new("siderolabs/amd-ucode", "20250509", "AMD microcode binaries"),
        OfficialExtension::new(
            "siderolabs/intel-ucode",
            "20250512",
            "Intel microcode binaries",
        ),
        OfficialExtension::new(
            "siderolabs/i915",
            "20250509-{talos}",
            "Intel i915 GPU driver kernel module and firmware",
        ),
        OfficialExtension::new(
            "siderolabs/mei",
            "{talos}",
            "Intel Management Engine Interface kernel modules",
        ),
        OfficialExtension::new(
            "siderolabs/iscsi-tools",
            "v0.2.0",
            "iSCSI tools (iscsid and iscsiadm)",
        )
        .with_service(ExtensionService::new("iscsid", ServiceProgram::Daemon)),
        OfficialExtension::new(
            "siderolabs/nut-client",
            "2.8.2",
            "Network UPS Tools client (upsmon) that shuts the node down on a power failure",
        )
        .with_service(
            ExtensionService::new("nut-client", ServiceProgram::Upsmon).with_config("nut-client"),
        ),
        OfficialExtension::new(
            "siderolabs/qemu-guest-agent",
            "10.0.2",
            "QEMU guest agent for virtual machines",
        ),
        OfficialExtension::new(
            "siderolabs/tailscale",
            "1.102.2",
            "Tailscale: WireGuard-based mesh VPN as a Talos system extension",
        )
        .with_service(
            ExtensionService::new("tailscale", ServiceProgram::Containerboot)
                .with_config("tailscale"),
        ),
        OfficialExtension::new(
            "siderolabs/util-linux-tools",
            "2.41.1",
            "util-linux tools such as fstrim",
        ),
    ]
}

/// The Talos versions a default sim factory lists (sorted ascending, `v` prefix).
pub fn default_versions() -> Vec<String> {
    [
        "v1.9.5",
        "v1.10.0",
        "v1.10.3",
        "v1.10.4",
        "v1.10.5",
        "v1.10.6",
        "v1.11.0",
        "v1.11.1",
        "v1.12.0",
        "v1.12.6",
        "v1.13.0",
        "v1.13.9",
        "v1.14.0-rc.1",
        "v1.14.0",
        "v1.14.1",
    ]
    .iter()
    .map(|v| (*v).to_owned())
    .collect()
}

/// The factory's overlay list for a Talos version (none before 1.7, as the factory does).
pub(crate) fn overlays_json(version: &semver::Version) -> Value {
    if *version < semver::Version::new(1, 7, 0) {
        return json!([]);
    }
    json!([
        {
            "name": "rpi_generic",
            "image": "siderolabs/sbc-raspberrypi",
            "ref": "ghcr.io/siderolabs/sbc-raspberrypi:v0.1.5",
            "digest": format!("sha256:{}", pseudo_digest("sbc-raspberrypi")),
        },
        {
            "name": "turingrk1",
            "image": "siderolabs/sbc-rockchip",
            "ref": "ghcr.io/siderolabs/sbc-rockchip:v0.1.6",
            "digest": format!("sha256:{}", pseudo_digest("sbc-rockchip")),
        }
    ])
}

/// A stable 64-hex-digit stand-in for an image digest.
fn pseudo_digest(seed: &str) -> String {
    use std::hash::{Hash, Hasher};
    (0..4_u8)
        .map(|round| {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (round, seed).hash(&mut hasher);
            format!("{:016x}", hasher.finish())
        })
        .collect()
}
