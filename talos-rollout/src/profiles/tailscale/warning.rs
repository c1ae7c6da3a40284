//! Configurations that work today but fail later, each with an explanation.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A tailscale configuration that is accepted but risky; `Display` explains why and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TailscaleWarning {
    /// `TS_DEST_IP` DNATs every packet for the node's tailnet IP to another address.
    DestIpRedirectsAllTraffic {
        /// The configured destination.
        dest_ip: String,
    },
    /// An ephemeral key on a node that reboots: the device is deleted while the node is down.
    EphemeralKeyOnInfrastructure,
    /// An OAuth client secret given as a plain `TS_AUTHKEY` without `ephemeral=false`: the
    /// keys it mints are ephemeral and not pre-authorized by default.
    OAuthSecretDefaultsEphemeral,
    /// An auth key (≤ 90 days) without `TS_AUTH_ONCE=true`: re-login fails once it expires.
    ExpiringKeyWithoutAuthOnce,
    /// A supplied `TS_ID_TOKEN` without `TS_AUTH_ONCE=true`: the short-lived token is
    /// presented again at every start and fails once it expired.
    IdTokenWithoutAuthOnce,
    /// `TS_AUDIENCE` needs a cloud identity (GitHub Actions, AWS, GCP) to fetch a token from.
    AudienceNeedsCloudToken,
    /// Routes are advertised but nothing approves them.
    RoutesWithoutApproval {
        /// The advertised routes.
        routes: Vec<String>,
    },
}

impl fmt::Display for TailscaleWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TailscaleWarning::DestIpRedirectsAllTraffic { dest_ip } => write!(
                f,
                "TS_DEST_IP={dest_ip} redirects ALL traffic sent to this node's tailnet IP (every port and protocol, \
                 including the Talos API on 50000 and kube-apiserver on 6443) to {dest_ip}; it is not a subnet route. \
                 Use TS_ROUTES to expose a subnet, or drop TS_DEST_IP unless this redirect is really wanted"
            ),
            TailscaleWarning::EphemeralKeyOnInfrastructure => f.write_str(
                "the auth key is ephemeral: Tailscale deletes an ephemeral device 30-60 minutes after it goes offline, \
                 so a node that is down that long comes back as a new device (new IP, possibly a -1 name suffix). \
                 Use a reusable, non-ephemeral, tagged key for cluster nodes",
            ),
            TailscaleWarning::OAuthSecretDefaultsEphemeral => f.write_str(
                "TS_AUTHKEY is an OAuth client secret without ?ephemeral=false: the keys tailscale up mints from it \
                 default to ephemeral=true and preauthorized=false, and the tags must be given with \
                 --advertise-tags; use TailscaleAuth::oauth_secret, which appends \
                 ?ephemeral=false&preauthorized=true and puts the tags in TS_EXTRA_ARGS",
            ),
            TailscaleWarning::ExpiringKeyWithoutAuthOnce => f.write_str(
                "auth keys expire after at most 90 days and without TS_AUTH_ONCE=true the extension runs \
                 `tailscale up --authkey` on every start, so after expiry the node fails to join on its next \
                 reboot (\"invalid key\"); set TS_AUTH_ONCE=true, or log in with an OAuth client secret \
                 (TailscaleAuth::oauth_secret) or workload identity federation, which leave nothing on the node \
                 that expires",
            ),
            TailscaleWarning::IdTokenWithoutAuthOnce => f.write_str(
                "TS_ID_TOKEN is a short-lived identity token and without TS_AUTH_ONCE=true containerboot logs in \
                 with it at every start, which fails once it expired; set TS_AUTH_ONCE=true",
            ),
            TailscaleWarning::AudienceNeedsCloudToken => f.write_str(
                "with TS_AUDIENCE containerboot fetches its identity token from the cloud it runs on (GitHub \
                 Actions, AWS or GCP); a bare-metal node has no such token, so give TS_ID_TOKEN instead",
            ),
            TailscaleWarning::RoutesWithoutApproval { routes } => write!(
                f,
                "routes {} are advertised but no approval strategy is set: advertised routes carry no traffic \
                 until approved; add autoApprovers.routes to the tailnet policy or let the rollout approve them \
                 through the API",
                routes.join(",")
            ),
        }
    }
}
