//! The extension profiles over a [`Target`]'s clients, chosen by flags.

use std::sync::Arc;
use std::time::Duration;

use tailscale_client::IpNet;
use talos_rollout::adapters::TalosAdapter;
use talos_rollout::profile::ExtensionProfile;
use talos_rollout::profiles::tailscale::{RouteApproval, TailscaleProfile};
use talos_rollout::profiles::{IscsiToolsProfile, NutClientProfile};

use crate::target::{Cluster, TailnetArgs, Target};

/// Which extension a tool works on, and what its profile needs to be checked (`rollback`
/// takes only these).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Extension")]
pub struct ExtensionArgs {
    /// The extension.
    #[arg(long, value_enum, default_value_t = Extension::Tailscale)]
    pub extension: Extension,
    /// NUT client: the UPS to monitor (`name@host`); the password comes from NUT_PASSWORD.
    #[arg(long, value_name = "UPS")]
    pub nut_ups: Option<String>,
    /// NUT client: the NUT user.
    #[arg(long, value_name = "USER", default_value = "upsmon")]
    pub nut_user: String,
}

/// What a Tailscale rollout writes and mints (`full-rollout` only).
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Extension")]
pub struct TailscaleArgs {
    /// Tailscale: tag of the auth key, and so of the nodes' devices (repeatable).
    #[arg(long = "tag", value_name = "TAG", default_value = "tag:k8s", value_parser = crate::parse::tag)]
    pub tags: Vec<String>,
    /// Tailscale: subnet route each node advertises (TS_ROUTES; repeatable). The default is
    /// the seed cluster's service CIDR: use your cluster's.
    #[arg(long = "route", value_name = "CIDR", default_value = "10.43.0.0/16", value_parser = crate::parse::cidr)]
    pub routes: Vec<IpNet>,
    /// Tailscale: lifetime of the minted auth key in days.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=90))]
    pub key_expiry_days: u64,
    /// Tailscale: do not add the nodes' MagicDNS names and tailnet addresses to
    /// machine.certSANs (and cluster.apiServer.certSANs); `talosctl -e <name>.ts.net` then
    /// fails TLS verification.
    #[arg(long)]
    pub no_tailnet_cert_sans: bool,
    /// Tailscale: a service address to reach through the subnet route after each node, e.g.
    /// the cluster DNS service 10.43.0.10:53 (only when this machine is on the tailnet).
    #[arg(long, value_name = "IP:PORT")]
    pub probe_service: Option<std::net::SocketAddr>,
}

/// The extension and, for `full-rollout`, its Tailscale settings.
#[derive(Debug, Clone, clap::Args)]
pub struct ProfileArgs {
    /// The extension.
    #[command(flatten)]
    pub extension: ExtensionArgs,
    /// The Tailscale settings.
    #[command(flatten)]
    pub tailscale: TailscaleArgs,
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
    /// The profile the flags describe; Tailscale credentials are read only for the
    /// Tailscale extension.
    ///
    /// # Errors
    /// As [`ExtensionArgs::profile`].
    pub fn profile(
        &self,
        target: &Target,
        cluster: &Cluster,
        tailnet: &TailnetArgs,
    ) -> anyhow::Result<Arc<dyn ExtensionProfile>> {
        self.extension
            .profile(target, cluster, tailnet, Some(&self.tailscale))
    }
}

impl ExtensionArgs {
    /// The profile for this extension; `tailscale` settings when rolling out (without
    /// them, the library's defaults: enough to check and roll back). With them the
    /// Tailscale profile also adds the tailnet names to `cluster`'s certSANs (unless
    /// opted out) and proves the Talos API reachable by MagicDNS name.
    ///
    /// # Errors
    /// A missing NUT UPS or password, or missing Tailscale credentials (invalid input).
    pub fn profile(
        &self,
        target: &Target,
        cluster: &Cluster,
        tailnet: &TailnetArgs,
        tailscale: Option<&TailscaleArgs>,
    ) -> anyhow::Result<Arc<dyn ExtensionProfile>> {
        Ok(match self.extension {
            Extension::Tailscale => {
                let mut profile = TailscaleProfile::new(target.tailnet(tailnet)?)
                    .route_approval(RouteApproval::Api);
                if let Some(settings) = tailscale {
                    let mut probe = target.connectivity_probe(cluster);
                    if let Some(service) = settings.probe_service {
                        probe = probe.service(service);
                    }
                    profile = profile
                        .tags(settings.tags.iter().cloned())
                        .routes(settings.routes.iter().map(ToString::to_string))
                        .key_expiry(Duration::from_secs(settings.key_expiry_days * 24 * 3600))
                        .connectivity(probe);
                    if !settings.no_tailnet_cert_sans {
                        profile = profile
                            .tailnet_cert_sans(Arc::new(TalosAdapter::new(cluster.talos.clone())));
                    }
                }
                Arc::new(profile)
            }
            Extension::NutClient => {
                let ups = self.nut_ups.clone().ok_or_else(|| {
                    crate::exit::invalid_input("--extension nut-client needs --nut-ups NAME@HOST")
                })?;
                let password = std::env::var(
                    talos_rollout::profiles::nut_client::PASSWORD_VARIABLE,
                )
                .map_err(|_| {
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
