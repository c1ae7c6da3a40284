//! The NUT client profile: `siderolabs/nut-client` with an `ExtensionServiceConfig` named
//! `nut-client` that mounts `upsmon.conf` (the UPS to monitor and the shutdown command), so
//! the node powers off cleanly when the UPS server says the battery is low.

use async_trait::async_trait;
use rollout_core::gate::CheckResult;
use rollout_core::plan::NodePlan;
use rollout_core::{
    EscConfigFile, ExtensionServiceConfig, NodeExtension, NodeFacts, PortError, PortErrorKind,
};
use secrecy::{ExposeSecret, SecretString};

use crate::profile::{Credential, ExtensionProfile, SecretValue};

/// Config document (and extension service) name.
pub const SERVICE_NAME: &str = "nut-client";
/// The official extension.
pub const EXTENSION: &str = "siderolabs/nut-client";
/// Where the extension reads its monitor configuration.
pub const UPSMON_CONF: &str = "/usr/local/etc/nut/upsmon.conf";
/// The variable a GitOps repository references the NUT password by (`${NUT_PASSWORD}`).
pub const PASSWORD_VARIABLE: &str = "NUT_PASSWORD";

/// Rolls `siderolabs/nut-client` out, each node monitoring one UPS as a secondary.
///
/// # Usage
/// ```
/// use secrecy::SecretString;
/// use talos_rollout::profile::ExtensionProfile;
/// use talos_rollout::profiles::NutClientProfile;
///
/// let profile = NutClientProfile::new("ups@192.0.2.10", "upsmon", SecretString::from("not-a-real-password"));
/// assert!(profile.validate().is_ok());
/// ```
#[derive(Clone)]
pub struct NutClientProfile {
    ups: String,
    user: String,
    password: SecretString,
    shutdown_command: String,
}

impl std::fmt::Debug for NutClientProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NutClientProfile")
            .field("ups", &self.ups)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("shutdown_command", &self.shutdown_command)
            .finish()
    }
}

impl NutClientProfile {
    /// Monitors `ups` (`name@host[:port]`) with the NUT user and password.
    pub fn new(ups: impl Into<String>, user: impl Into<String>, password: SecretString) -> Self {
        NutClientProfile {
            ups: ups.into(),
            user: user.into(),
            password,
            shutdown_command: "/sbin/poweroff".to_owned(),
        }
    }

    /// The command upsmon runs on low battery (default `/sbin/poweroff`).
    pub fn shutdown_command(mut self, command: impl Into<String>) -> Self {
        self.shutdown_command = command.into();
        self
    }

    fn upsmon_conf(&self) -> String {
        format!(
            "MONITOR {} 1 {} {} secondary\nSHUTDOWNCMD \"{}\"\n",
            self.ups,
            self.user,
            self.password.expose_secret(),
            self.shutdown_command
        )
    }
}

fn invalid(reason: impl Into<String>) -> rollout_core::Error {
    rollout_core::Error::extension_config(SERVICE_NAME, reason)
}

/// A upsmon.conf word: no whitespace, quotes or line breaks (they would change the file).
fn is_word(text: &str) -> bool {
    !text.is_empty() && !text.contains(|c: char| c.is_whitespace() || c == '"')
}

#[async_trait]
impl ExtensionProfile for NutClientProfile {
    fn name(&self) -> &str {
        SERVICE_NAME
    }

    fn extensions(&self) -> Vec<String> {
        vec![EXTENSION.to_owned()]
    }

    fn requires_config(&self) -> bool {
        true
    }

    fn validate(&self) -> rollout_core::Result<Vec<String>> {
        let (name, host) = self.ups.split_once('@').unwrap_or_default();
        if !is_word(&self.ups) || name.is_empty() || host.is_empty() {
            return Err(invalid(format!(
                "ups {:?} is not a NUT UPS address such as ups@192.0.2.10",
                self.ups
            )));
        }
        if !is_word(&self.user) {
            return Err(invalid("the NUT user must be one word"));
        }
        if !is_word(self.password.expose_secret()) {
            return Err(invalid(
                "the NUT password must be one word without spaces or quotes",
            ));
        }
        if self.shutdown_command.trim().is_empty() || self.shutdown_command.contains(['"', '\n']) {
            return Err(invalid(
                "the shutdown command must be one line without quotes",
            ));
        }
        Ok(Vec::new())
    }

    fn node_extension(
        &self,
        _facts: &NodeFacts,
        _credential: Option<&Credential>,
    ) -> rollout_core::Result<NodeExtension> {
        let config = ExtensionServiceConfig {
            name: SERVICE_NAME.to_owned(),
            config_files: vec![EscConfigFile {
                content: self.upsmon_conf(),
                mount_path: UPSMON_CONF.to_owned(),
            }],
            environment: Vec::new(),
        };
        config
            .validate()
            .map_err(|err| invalid(format!("the document breaks Talos' rules: {err}")))?;
        let mut extension = NodeExtension {
            config: Some(config),
            ..NodeExtension::default()
        };
        extension.details.insert("ups".to_owned(), self.ups.clone());
        Ok(extension)
    }

    async fn check(&self, name: &str, _node: &NodePlan) -> CheckResult {
        CheckResult {
            name: name.to_owned(),
            passed: false,
            detail: "the nut-client profile has no named checks".to_owned(),
        }
    }

    async fn act(&self, action: &str, _node: &NodePlan) -> Result<(), PortError> {
        Err(PortError::new(
            SERVICE_NAME,
            action,
            PortErrorKind::Unsupported,
            "the nut-client profile has no actions",
        ))
    }

    fn redact_log_line(&self, line: &str) -> String {
        line.replace(self.password.expose_secret(), "<redacted>")
    }

    fn secret_values(&self) -> Vec<SecretValue> {
        vec![SecretValue {
            variable: PASSWORD_VARIABLE.to_owned(),
            value: self.password.clone(),
        }]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_config_mounts_upsmon_conf_and_bad_settings_are_refused() {
        let profile = NutClientProfile::new("ups@192.0.2.10", "upsmon", SecretString::from("pw"));
        profile.validate().unwrap();
        let facts: NodeFacts = serde_json::from_value(serde_json::json!({
            "node": "n1", "nodename": "n1", "role": "worker", "etcd_leader": false,
            "version": "v1.14.0", "schematic_id": null, "extensions": [],
            "schematic_extensions": [], "schematic_yaml": null, "install_image": null,
            "extension_service_configs": {}, "boot_id": null
        }))
        .unwrap();
        let config = profile
            .node_extension(&facts, None)
            .unwrap()
            .config
            .unwrap();
        assert_eq!(config.config_files[0].mount_path, UPSMON_CONF);
        assert!(
            config.config_files[0]
                .content
                .starts_with("MONITOR ups@192.0.2.10 1 upsmon pw secondary\n")
        );
        let bad = NutClientProfile::new("ups", "upsmon", SecretString::from("pw"));
        assert!(bad.validate().unwrap_err().to_string().contains("ups@"));
        let spaced = NutClientProfile::new("ups@h", "upsmon", SecretString::from("a b"));
        assert!(spaced.validate().is_err());
        assert!(!format!("{profile:?}").contains("pw\""));
    }
}
