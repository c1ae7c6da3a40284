//! The tailscale extension's entrypoint (containerboot): what it reads from its environment,
//! how it logs in to the simulated tailnet, and the log lines it writes.

use secrecy::{ExposeSecret, SecretString};
use talos_client::machine_config::ExtensionServiceConfig;
use time::macros::format_description;

use super::cluster::ClusterContext;
use super::node::NodeState;
use super::services::Outcome;
use super::spec::NodeSpec;
use crate::tailnet::Registration;

/// Runs containerboot as service `id` with the ESC's environment: starts tailscaled and runs
/// `tailscale up` against the tailnet (a failed login is a failed start).
pub(crate) fn run(
    ctx: &ClusterContext,
    spec: &NodeSpec,
    state: &mut NodeState,
    id: &str,
    esc: Option<&ExtensionServiceConfig>,
) -> Outcome {
    let log = |state: &mut NodeState, message: &str| {
        state.log(id, &log_line(ctx.clock.now(), message));
    };
    log(state, "Starting tailscaled");
    log(
        state,
        "Waiting for tailscaled socket at /var/run/tailscale/tailscaled.sock",
    );
    let environment = esc
        .map(|esc| esc.environment.as_slice())
        .unwrap_or_default();
    let settings = ContainerbootSettings::from_environment(environment);
    let auth_key = match settings.login_key(ctx) {
        Ok(key) => key,
        Err(error) => {
            log(state, &format!("failed to auth tailscale: {error}"));
            return Outcome::Failed;
        }
    };
    let Some(auth_key) = auth_key else {
        log(state, "Running 'tailscale up'");
        state.log(
            id,
            "\nTo authenticate, visit:\n\n\thttps://login.tailscale.com/a/1a2b3c4d5e6f\n\n",
        );
        return Outcome::Started;
    };
    let mut registration = Registration::new(
        settings.hostname.unwrap_or_else(|| spec.hostname.clone()),
        auth_key,
    );
    registration.advertise_routes = settings.routes;
    registration.advertise_tags = settings.advertise_tags;
    registration.known_device = state.tailscale_device.clone();
    if ctx.faults.is_logging_verbosely(&spec.hostname) {
        log(state, &format!("Running '{}'", command_line(&registration)));
    } else {
        log(state, "Running 'tailscale up'");
    }
    match ctx.tailnet.register(&registration) {
        Ok(device) => {
            state.tailscale_device = Some(device);
            log(state, "Startup complete, waiting for shutdown signal");
            Outcome::Started
        }
        Err(error) => {
            state.log(id, &format!("backend error: {error}\n"));
            if ctx
                .faults
                .is_tailscale_staying_up_after_failed_login(&spec.hostname)
            {
                log(
                    state,
                    "login failed; tailscaled keeps running and will retry",
                );
                return Outcome::Started;
            }
            log(
                state,
                "failed to auth tailscale: failed to auth tailscale: tailscale up failed: exit status 1",
            );
            Outcome::Failed
        }
    }
}

/// The `tailscale up` command line a verbose entrypoint prints, auth key included.
fn command_line(registration: &Registration) -> String {
    let mut line = format!(
        "tailscale up --authkey={} --hostname={}",
        registration.auth_key(),
        registration.hostname
    );
    if !registration.advertise_routes.is_empty() {
        line.push_str(&format!(
            " --advertise-routes={}",
            registration.advertise_routes.join(",")
        ));
    }
    line
}

/// containerboot stops: tailscaled's device loses its control connection.
pub(crate) fn stop(ctx: &ClusterContext, state: &NodeState) {
    if let Some(device) = state.tailscale_device.as_deref() {
        ctx.tailnet.disconnect(device);
    }
}

/// The login settings containerboot derives from `TS_*` variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContainerbootSettings {
    pub(crate) auth_key: Option<SecretString>,
    pub(crate) hostname: Option<String>,
    pub(crate) routes: Vec<String>,
    pub(crate) advertise_tags: Vec<String>,
    /// `TS_CLIENT_ID` (OAuth client or federated identity).
    pub(crate) client_id: Option<String>,
    /// `TS_CLIENT_SECRET`.
    pub(crate) client_secret: Option<SecretString>,
    /// `TS_ID_TOKEN`.
    pub(crate) id_token: Option<SecretString>,
    /// `TS_AUDIENCE`.
    pub(crate) audience: Option<String>,
}

impl ContainerbootSettings {
    /// Reads `KEY=VALUE` entries; later entries win, `TS_AUTHKEY` wins over `TS_AUTH_KEY`.
    pub(crate) fn from_environment(environment: &[String]) -> Self {
        let value = |key: &str| {
            environment
                .iter()
                .rev()
                .find_map(|entry| entry.strip_prefix(key)?.strip_prefix('='))
        };
        let auth_key = value("TS_AUTHKEY")
            .or_else(|| value("TS_AUTH_KEY"))
            .filter(|key| !key.is_empty())
            .map(|key| SecretString::from(key.to_owned()));
        let routes = value("TS_ROUTES")
            .map(|routes| {
                routes
                    .split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let secret = |key: &str| {
            value(key)
                .filter(|v| !v.is_empty())
                .map(|v| SecretString::from(v.to_owned()))
        };
        let text = |key: &str| value(key).filter(|v| !v.is_empty()).map(str::to_owned);
        Self {
            auth_key,
            client_id: text("TS_CLIENT_ID"),
            client_secret: secret("TS_CLIENT_SECRET"),
            id_token: secret("TS_ID_TOKEN"),
            audience: text("TS_AUDIENCE"),
            hostname: value("TS_HOSTNAME")
                .filter(|h| !h.is_empty())
                .map(str::to_owned),
            routes,
            advertise_tags: value("TS_EXTRA_ARGS")
                .map(advertised_tags)
                .unwrap_or_default(),
        }
    }
}

impl ContainerbootSettings {
    /// The key `tailscale up` logs in with: `TS_AUTHKEY`, or one minted through the OAuth
    /// client or federated identity; `None` for an interactive login.
    fn login_key(&self, ctx: &ClusterContext) -> Result<Option<SecretString>, String> {
        self.check_combination()?;
        let Some(client_id) = &self.client_id else {
            return Ok(self.auth_key.clone());
        };
        if let Some(secret) = &self.client_secret {
            // --client-id/--client-secret: the OAuth secret is the key, with the client ID's
            // optional attributes.
            let attributes = client_id.split_once('?').map(|(_, query)| query);
            let key = match attributes {
                Some(query) => format!("{}?{query}", secret.expose_secret()),
                None => secret.expose_secret().to_owned(),
            };
            return Ok(Some(SecretString::from(key)));
        }
        let Some(token) = &self.id_token else {
            // TS_AUDIENCE: the token would come from GitHub Actions, AWS or GCP; a simulated
            // bare-metal node has none.
            return Err(if self.audience.is_some() {
                "federated identity authkeys require --id-token".to_owned()
            } else {
                "federated identity requires either an ID token or an audience".to_owned()
            });
        };
        ctx.tailnet
            .federated_login_key(client_id, token, &self.advertise_tags)
            .map(Some)
            .map_err(|error| error.to_string())
    }
}

impl ContainerbootSettings {
    /// Refuses the combinations containerboot refuses.
    fn check_combination(&self) -> Result<(), String> {
        let federated = [
            self.client_secret.is_some(),
            self.id_token.is_some(),
            self.audience.is_some(),
        ];
        if self.auth_key.is_some() && (self.client_id.is_some() || federated.contains(&true)) {
            return Err(
                "TS_AUTHKEY cannot be combined with TS_CLIENT_ID, TS_CLIENT_SECRET, TS_ID_TOKEN or TS_AUDIENCE"
                    .to_owned(),
            );
        }
        if federated.iter().filter(|set| **set).count() > 1 {
            return Err(
                "only one of TS_CLIENT_SECRET, TS_ID_TOKEN and TS_AUDIENCE can be set".to_owned(),
            );
        }
        if self.client_id.is_none() && federated.contains(&true) {
            return Err(
                "TS_CLIENT_SECRET, TS_ID_TOKEN and TS_AUDIENCE need TS_CLIENT_ID".to_owned(),
            );
        }
        Ok(())
    }
}

/// The tags of `--advertise-tags=a,b` or `--advertise-tags a,b` in `TS_EXTRA_ARGS`.
fn advertised_tags(extra_args: &str) -> Vec<String> {
    let mut args = extra_args.split_whitespace();
    while let Some(arg) = args.next() {
        let list = match arg.strip_prefix("--advertise-tags") {
            Some(rest) if rest.starts_with('=') => Some(rest[1..].to_owned()),
            Some("") => args.next().map(str::to_owned),
            _ => None,
        };
        if let Some(list) = list {
            return list
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
        }
    }
    Vec::new()
}

/// A containerboot log line: `boot: 2026/11/24 20:00:00 <message>`.
pub(crate) fn log_line(at: time::OffsetDateTime, message: &str) -> String {
    let stamp = at
        .format(format_description!(
            "[year]/[month]/[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!("boot: {stamp} {message}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn reads_key_routes_hostname_and_advertised_tags() {
        let env = [
            "TS_AUTH_KEY=tskey-auth-old",
            "TS_AUTHKEY=tskey-auth-new",
            "TS_ROUTES=10.43.0.0/16, 10.44.0.0/16",
            "TS_EXTRA_ARGS=--accept-routes --advertise-tags=tag:k8s,tag:talos",
        ]
        .map(str::to_owned);
        let settings = ContainerbootSettings::from_environment(&env);
        assert_eq!(
            settings
                .auth_key
                .as_ref()
                .map(|k| k.expose_secret().to_owned()),
            Some("tskey-auth-new".to_owned())
        );
        assert_eq!(settings.routes, ["10.43.0.0/16", "10.44.0.0/16"]);
        assert_eq!(settings.advertise_tags, ["tag:k8s", "tag:talos"]);
        assert_eq!(settings.hostname, None);
    }

    #[test]
    fn an_empty_ts_routes_advertises_nothing() {
        let settings = ContainerbootSettings::from_environment(&["TS_ROUTES=".to_owned()]);
        assert!(settings.routes.is_empty());
        assert!(settings.auth_key.is_none());
    }

    #[test]
    fn refuses_the_combinations_containerboot_refuses() {
        let check = |env: &[&str]| {
            let env: Vec<String> = env.iter().map(|e| (*e).to_owned()).collect();
            ContainerbootSettings::from_environment(&env).check_combination()
        };
        assert!(check(&["TS_AUTHKEY=tskey-auth-x", "TS_CLIENT_ID=c"]).is_err());
        assert!(check(&["TS_AUTHKEY=tskey-auth-x", "TS_ID_TOKEN=t"]).is_err());
        assert!(check(&["TS_CLIENT_ID=c", "TS_ID_TOKEN=t", "TS_AUDIENCE=a"]).is_err());
        assert!(check(&["TS_CLIENT_ID=c", "TS_CLIENT_SECRET=s", "TS_ID_TOKEN=t"]).is_err());
        assert!(check(&["TS_ID_TOKEN=t"]).is_err());
        for fine in [
            &["TS_AUTHKEY=tskey-client-x?ephemeral=false"][..],
            &["TS_CLIENT_ID=c?ephemeral=false", "TS_ID_TOKEN=t"],
            &["TS_CLIENT_ID=c", "TS_AUDIENCE=a"],
            &["TS_CLIENT_ID=c", "TS_CLIENT_SECRET=s"],
        ] {
            assert_eq!(check(fine), Ok(()), "{fine:?}");
        }
    }
}
