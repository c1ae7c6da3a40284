//! The extension profiles over a [`Target`]'s clients, chosen by flags.

use std::sync::Arc;
use std::time::Duration;

use talos_rollout::adapters::TalosAdapter;
use talos_rollout::profile::ExtensionProfile;
use talos_rollout::profiles::tailscale::{RouteApproval, TailscaleProfile};
use talos_rollout::profiles::{IscsiToolsProfile, NutClientProfile};

use crate::target::Target;

/// Which extension a tool rolls out, and its settings.
#[derive(Debug, Clone, clap::Args)]
pub struct ProfileArgs {
    /// The extension to roll out.
    #[arg(long, value_enum, default_value_t = Extension::Tailscale, help_heading = "Extension")]
    pub extension: Extension,
    /// Tailscale: tag of the auth key, and so of the nodes' devices (repeatable).
    #[arg(
        long = "tag",
        value_name = "TAG",
        default_value = "tag:k8s",
        help_heading = "Extension"
    )]
    pub tags: Vec<String>,
    /// Tailscale: subnet route each node advertises (TS_ROUTES; repeatable). The default is
    /// the seed cluster's service CIDR: use your cluster's.
    #[arg(
        long = "route",
        value_name = "CIDR",
        default_value = "10.43.0.0/16",
        help_heading = "Extension"
    )]
    pub routes: Vec<String>,
    /// Tailscale: lifetime of the minted auth key in days.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=90), help_heading = "Extension")]
    pub key_expiry_days: u64,
    /// Tailscale: do not add the nodes' MagicDNS names and tailnet addresses to
    /// machine.certSANs (and cluster.apiServer.certSANs); `talosctl -e <name>.ts.net` then
    /// fails TLS verification.
    #[arg(long, help_heading = "Extension")]
    pub no_tailnet_cert_sans: bool,
    /// Tailscale: a service address to reach through the subnet route after each node, e.g.
    /// the cluster DNS service 10.43.0.10:53 (only when this machine is on the tailnet).
    #[arg(long, value_name = "IP:PORT", help_heading = "Extension")]
    pub probe_service: Option<std::net::SocketAddr>,
    /// NUT client: the UPS to monitor (`name@host`); the password comes from NUT_PASSWORD.
    #[arg(long, value_name = "UPS", help_heading = "Extension")]
    pub nut_ups: Option<String>,
    /// NUT client: the NUT user.
    #[arg(
        long,
        value_name = "USER",
        default_value = "upsmon",
        help_heading = "Extension"
    )]
    pub nut_user: String,
}

/// The extensions the tools know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Extension {
    /// siderolabs/tailscale with a minted auth key, device and route checks.
    Tailscale,
    /// siderolabs/nut-client with an upsmon.conf.
    NutClient,
    /// siderolabs/iscsi-tools (no config).
    IscsiTools,
}

impl ProfileArgs {
    /// The profile the flags describe.
    ///
    /// # Errors
    /// A missing NUT UPS or password (invalid input).
    pub fn profile(&self, target: &Target) -> anyhow::Result<Arc<dyn ExtensionProfile>> {
        Ok(match self.extension {
            Extension::Tailscale => {
                let mut probe = target.connectivity_probe();
                if let Some(service) = self.probe_service {
                    probe = probe.service(service);
                }
                let mut profile = TailscaleProfile::new(target.tailnet.clone())
                    .tags(self.tags.iter().cloned())
                    .routes(self.routes.iter().cloned())
                    .route_approval(RouteApproval::Api)
                    .key_expiry(Duration::from_secs(self.key_expiry_days * 24 * 3600))
                    .connectivity(probe);
                if !self.no_tailnet_cert_sans {
                    profile = profile
                        .tailnet_cert_sans(Arc::new(TalosAdapter::new(target.talos.clone())));
                }
                Arc::new(profile)
            }
            Extension::NutClient => {
                let ups = self.nut_ups.clone().ok_or_else(|| {
                    crate::exit::invalid_input("--extension nut-client needs --nut-ups NAME@HOST")
                })?;
                let password = std::env::var("NUT_PASSWORD").map_err(|_| {
                    crate::exit::invalid_input(
                        "--extension nut-client needs the NUT password in NUT_PASSWORD",
                    )
                })?;
                Arc::new(NutClientProfile::new(
                    ups,
                    self.nut_user.clone(),
                    password.into(),
                ))
            }
            Extension::IscsiTools => Arc::new(IscsiToolsProfile),
        })
    }
}
