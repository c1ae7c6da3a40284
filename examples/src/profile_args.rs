//! The extension profiles over a [`Target`]'s clients, chosen by flags.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tailscale_client::IpNet;
use talos_rollout::adapters::TalosAdapter;
use talos_rollout::adapters::kube::KubeconfigSource;
use talos_rollout::profile::ExtensionProfile;
use talos_rollout::profiles::tailscale::{IdentityToken, RouteApproval, TailscaleProfile};
use talos_rollout::profiles::{IscsiToolsProfile, NutClientProfile};

use crate::exit::invalid_input;
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
    /// Tailscale: how the nodes log in to the tailnet.
    #[arg(long, value_enum, default_value_t = NodeAuth::Minted)]
    pub node_auth: NodeAuth,
    /// Tailscale, `--node-auth wif`: the federated identity's client ID (TS_CLIENT_ID; not
    /// a secret). The embedded sim supplies its own.
    #[arg(long, value_name = "ID")]
    pub wif_client_id: Option<String>,
    /// Tailscale, `--node-auth wif`: let containerboot fetch the identity token for this
    /// audience from the cloud the node runs on (TS_AUDIENCE; GitHub Actions, AWS, GCP),
    /// instead of the token in TS_ID_TOKEN.
    #[arg(long, value_name = "AUDIENCE")]
    pub wif_audience: Option<String>,
}

/// How the nodes log in to the tailnet (`--node-auth`). The secrets come from the
/// environment, never from flags (flags end up in shell history and `ps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NodeAuth {
    /// A tagged auth key minted for the rollout; it expires (`rotate-auth-key` renews it).
    Minted,
    /// An OAuth client secret from TS_NODE_OAUTH_SECRET as the nodes' TS_AUTHKEY (with
    /// `?ephemeral=false&preauthorized=true` and the tags): nothing on the node expires.
    Oauth,
    /// Workload identity federation: `--wif-client-id` with the token in TS_ID_TOKEN (or
    /// `--wif-audience`): nothing on the node expires.
    Wif,
}

/// The variable holding the OAuth client secret for `--node-auth oauth`.
pub const NODE_OAUTH_SECRET_VARIABLE: &str = "TS_NODE_OAUTH_SECRET";
/// The variable holding the identity token for `--node-auth wif`.
pub const ID_TOKEN_VARIABLE: &str = "TS_ID_TOKEN";

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
        kubeconfig: Option<&KubeconfigSource>,
    ) -> anyhow::Result<Arc<dyn ExtensionProfile>> {
        self.extension.profile(
            target,
            cluster,
            tailnet,
            Some((&self.tailscale, kubeconfig)),
        )
    }
}

impl TailscaleArgs {
    /// `profile` with the node login `--node-auth` chooses; on the embedded sim the sim's
    /// own OAuth client and federated identity stand in for the environment's.
    ///
    /// # Errors
    /// Invalid input when the mode's secret variable or client ID is missing, or the
    /// flags of another mode are given.
    fn node_login(
        &self,
        profile: TailscaleProfile,
        target: &Target,
    ) -> anyhow::Result<TailscaleProfile> {
        let tailnet = target.embedded_tailnet();
        if self.node_auth != NodeAuth::Wif
            && (self.wif_client_id.is_some() || self.wif_audience.is_some())
        {
            return Err(invalid_input(
                "--wif-client-id and --wif-audience belong to --node-auth wif; add it or drop them",
            ));
        }
        Ok(match self.node_auth {
            NodeAuth::Minted => profile,
            NodeAuth::Oauth => {
                let secret = match (secret_variable(NODE_OAUTH_SECRET_VARIABLE), tailnet) {
                    (Some(secret), _) => secret,
                    (None, Some(tailnet)) => tailnet.oauth_client().1.clone(),
                    (None, None) => {
                        return Err(invalid_input(format!(
                            "--node-auth oauth needs the OAuth client secret (tskey-client-…, scope auth_keys, owner of the --tag tags) in {NODE_OAUTH_SECRET_VARIABLE}"
                        )));
                    }
                };
                profile.oauth_secret(secret)
            }
            NodeAuth::Wif => {
                let sim_identity = tailnet.map(sim::tailnet::Tailnet::federated_identity);
                let client_id = match (&self.wif_client_id, sim_identity) {
                    (Some(id), _) => id.clone(),
                    (None, Some((id, _))) => id.to_owned(),
                    (None, None) => {
                        return Err(invalid_input(
                            "--node-auth wif needs the federated identity's client ID: pass --wif-client-id ID",
                        ));
                    }
                };
                let token = match (&self.wif_audience, secret_variable(ID_TOKEN_VARIABLE)) {
                    (Some(_), Some(_)) => {
                        return Err(invalid_input(format!(
                            "--wif-audience and {ID_TOKEN_VARIABLE} exclude each other (containerboot refuses both); unset one"
                        )));
                    }
                    (Some(audience), None) => IdentityToken::Audience(audience.clone()),
                    (None, Some(token)) => IdentityToken::IdToken(token),
                    (None, None) => match sim_identity {
                        Some((_, token)) => IdentityToken::IdToken(token.clone()),
                        None => {
                            return Err(invalid_input(format!(
                                "--node-auth wif needs the identity token in {ID_TOKEN_VARIABLE}, or --wif-audience AUDIENCE where the nodes run in a cloud that issues one"
                            )));
                        }
                    },
                };
                profile.workload_identity(client_id, token)
            }
        })
    }
}

/// A secret from the environment; unset and empty are the same.
fn secret_variable(name: &str) -> Option<SecretString> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .map(SecretString::from)
}

impl ExtensionArgs {
    /// The profile for this extension; `tailscale` settings (and the cluster's kubeconfig,
    /// if any) when rolling out — without them, the library's defaults: enough to check and
    /// roll back. With them the Tailscale profile also adds the tailnet names to `cluster`'s
    /// certSANs (unless opted out) and proves the Talos API (and, with a kubeconfig, the
    /// control plane's Kubernetes API) reachable by MagicDNS name.
    ///
    /// # Errors
    /// A missing NUT UPS or password, or missing Tailscale credentials (invalid input).
    pub fn profile(
        &self,
        target: &Target,
        cluster: &Cluster,
        tailnet: &TailnetArgs,
        tailscale: Option<(&TailscaleArgs, Option<&KubeconfigSource>)>,
    ) -> anyhow::Result<Arc<dyn ExtensionProfile>> {
        Ok(match self.extension {
            Extension::Tailscale => {
                let mut profile = TailscaleProfile::new(target.tailnet(tailnet)?)
                    .route_approval(RouteApproval::Api);
                if let Some((settings, kubeconfig)) = tailscale {
                    let mut probe = target.connectivity_probe(cluster, kubeconfig);
                    if let Some(service) = settings.probe_service {
                        probe = probe.service(service);
                    }
                    profile = settings.node_login(
                        profile
                            .tags(settings.tags.iter().cloned())
                            .routes(settings.routes.iter().map(ToString::to_string))
                            .key_expiry(Duration::from_secs(settings.key_expiry_days * 24 * 3600))
                            .connectivity(probe),
                        target,
                    )?;
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
