//! The `ExtensionServiceConfig` document: files and environment for a system extension service.

use std::fmt;

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};

use super::error::{EscProblem, MachineConfigError};

/// An `ExtensionServiceConfig` document: configuration for the extension service
/// `ext-<name>` (for example `tailscale`).
///
/// `Debug` hides file contents and the values of secret-looking environment variables
/// ([`is_secret_env_name`]), such as `TS_AUTHKEY`.
///
/// ```
/// use talos_client::machine_config::ExtensionServiceConfig;
///
/// let esc = ExtensionServiceConfig {
///     name: "tailscale".to_owned(),
///     config_files: Vec::new(),
///     environment: vec!["TS_AUTHKEY=tskey-auth-secret".to_owned(), "TS_ROUTES=10.0.0.0/24".to_owned()],
/// };
/// esc.validate()?;
/// assert!(!format!("{esc:?}").contains("tskey-auth-secret"));
/// let yaml = esc.to_yaml()?;
/// assert_eq!(ExtensionServiceConfig::from_yaml(&yaml)?, esc);
/// # Ok::<(), talos_client::machine_config::MachineConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ExtensionServiceConfig {
    /// The extension service name (`tailscale` configures the service `ext-tailscale`).
    pub name: String,
    /// Files bind-mounted read-only into the extension's container.
    pub config_files: Vec<EscConfigFile>,
    /// `KEY=value` entries added to the container's environment (after the extension's own).
    pub environment: Vec<String>,
}

/// One file of an [`ExtensionServiceConfig`].
#[derive(Clone, PartialEq, Eq)]
pub struct EscConfigFile {
    /// The file's content.
    pub content: String,
    /// Where the file appears inside the container.
    pub mount_path: String,
}

impl ExtensionServiceConfig {
    /// The document's `kind`.
    pub const KIND: &'static str = "ExtensionServiceConfig";
    /// The document's `apiVersion`.
    pub const API_VERSION: &'static str = "v1alpha1";

    /// Checks the document by Talos' rules: a non-empty `name`, at least one config file or
    /// environment entry, and `content` and `mountPath` on every file. Two more checks
    /// catch what Talos only notices when the service starts: `mountPath` must be absolute
    /// and every environment entry must be `KEY=value` with a non-empty `KEY`.
    ///
    /// # Errors
    ///
    /// [`MachineConfigError::InvalidExtensionServiceConfig`] naming the first rule broken.
    pub fn validate(&self) -> Result<(), MachineConfigError> {
        let fail = |problem| {
            Err(MachineConfigError::InvalidExtensionServiceConfig {
                name: self.name.clone(),
                problem,
            })
        };
        if self.name.trim().is_empty() {
            return fail(EscProblem::MissingName);
        }
        if self.config_files.is_empty() && self.environment.is_empty() {
            return fail(EscProblem::NothingConfigured);
        }
        for (index, file) in self.config_files.iter().enumerate() {
            if file.content.is_empty() {
                return fail(EscProblem::FileWithoutContent { index });
            }
            if file.mount_path.is_empty() {
                return fail(EscProblem::FileWithoutMountPath { index });
            }
            if !file.mount_path.starts_with('/') {
                return fail(EscProblem::RelativeMountPath { index });
            }
        }
        for (index, entry) in self.environment.iter().enumerate() {
            if entry
                .split_once('=')
                .is_none_or(|(key, _)| key.trim().is_empty())
            {
                return fail(EscProblem::MalformedEnvironment { index });
            }
        }
        Ok(())
    }

    /// The value of environment variable `key`; the last entry wins, as in the container.
    pub fn env_value(&self, key: &str) -> Option<&str> {
        self.environment
            .iter()
            .rev()
            .filter_map(|entry| entry.split_once('='))
            .find(|(name, _)| *name == key)
            .map(|(_, value)| value)
    }

    /// Parses one `ExtensionServiceConfig` document, strictly like Talos (unknown keys are
    /// errors). It is not [validated](Self::validate).
    ///
    /// # Errors
    ///
    /// [`MachineConfigError::Syntax`] for invalid YAML, [`MachineConfigError::InvalidExtensionServiceConfig`]
    /// for a wrong shape, kind or apiVersion.
    pub fn from_yaml(text: &str) -> Result<Self, MachineConfigError> {
        let value: Value =
            serde_yaml_ng::from_str(text).map_err(|err| MachineConfigError::Syntax {
                document: 1,
                line: 1,
                detail: err.to_string(),
            })?;
        Self::from_value(&value)
    }

    /// Reads the document from its parsed YAML value (strict: unknown keys are errors).
    pub(super) fn from_value(value: &Value) -> Result<Self, MachineConfigError> {
        let name = match value.get("name") {
            Some(Value::String(name)) => name.clone(),
            _ => String::new(),
        };
        let field_error =
            |field: &str, expected| MachineConfigError::InvalidExtensionServiceConfig {
                name: name.clone(),
                problem: EscProblem::Field {
                    field: field.to_owned(),
                    expected,
                },
            };
        let Value::Mapping(fields) = value else {
            return Err(field_error("(document)", "expected a mapping"));
        };
        for key in fields.keys() {
            let known = ["apiVersion", "kind", "name", "configFiles", "environment"];
            if !key.as_str().is_some_and(|key| known.contains(&key)) {
                let shown = key.as_str().unwrap_or("(non-string key)");
                return Err(field_error(shown, "unknown field"));
            }
        }
        if fields.get("kind").and_then(Value::as_str) != Some(Self::KIND) {
            return Err(field_error("kind", "expected ExtensionServiceConfig"));
        }
        if fields.get("apiVersion").and_then(Value::as_str) != Some(Self::API_VERSION) {
            return Err(field_error("apiVersion", "expected v1alpha1"));
        }
        if !matches!(
            fields.get("name"),
            None | Some(Value::String(_) | Value::Null)
        ) {
            return Err(field_error("name", "expected a string"));
        }
        let mut config_files = Vec::new();
        for (index, item) in sequence(fields, "configFiles")
            .map_err(|e| field_error("configFiles", e))?
            .iter()
            .enumerate()
        {
            config_files
                .push(config_file(item, index).map_err(|(field, e)| field_error(&field, e))?);
        }
        let mut environment = Vec::new();
        for (index, item) in sequence(fields, "environment")
            .map_err(|e| field_error("environment", e))?
            .iter()
            .enumerate()
        {
            match item {
                Value::String(entry) => environment.push(entry.clone()),
                _ => {
                    return Err(field_error(
                        &format!("environment[{index}]"),
                        "expected a string",
                    ));
                }
            }
        }
        Ok(Self {
            name,
            config_files,
            environment,
        })
    }

    /// The document as YAML, `apiVersion` and `kind` first; empty lists are left out.
    ///
    /// # Security
    ///
    /// The text holds the environment values (for example `TS_AUTHKEY`): do not log it.
    ///
    /// # Errors
    ///
    /// [`MachineConfigError::Serialize`] if serialization fails.
    pub fn to_yaml(&self) -> Result<String, MachineConfigError> {
        let document = WireDocument {
            api_version: Self::API_VERSION,
            kind: Self::KIND,
            name: &self.name,
            config_files: self
                .config_files
                .iter()
                .map(|file| WireFile {
                    content: &file.content,
                    mount_path: &file.mount_path,
                })
                .collect(),
            environment: &self.environment,
        };
        serde_yaml_ng::to_string(&document).map_err(|err| MachineConfigError::Serialize {
            detail: err.to_string(),
        })
    }
}

/// True for environment variable names whose values are secrets and must not be shown:
/// names containing `KEY`, `SECRET`, `TOKEN`, `PASSWORD`, `PASSWD` or `CREDENTIAL`
/// (case-insensitive), which covers `TS_AUTHKEY`, `TS_AUTH_KEY` and `TS_CLIENT_SECRET`.
pub fn is_secret_env_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["KEY", "SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL"]
        .iter()
        .any(|marker| upper.contains(marker))
}

impl fmt::Debug for ExtensionServiceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let environment: Vec<String> = self
            .environment
            .iter()
            .map(|entry| match entry.split_once('=') {
                Some((name, _)) if is_secret_env_name(name) => format!("{name}=[redacted]"),
                _ => entry.clone(),
            })
            .collect();
        f.debug_struct("ExtensionServiceConfig")
            .field("name", &self.name)
            .field("config_files", &self.config_files)
            .field("environment", &environment)
            .finish()
    }
}

impl fmt::Debug for EscConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EscConfigFile")
            .field("content", &format_args!("[{} bytes]", self.content.len()))
            .field("mount_path", &self.mount_path)
            .finish()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireDocument<'a> {
    api_version: &'static str,
    kind: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    config_files: Vec<WireFile<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    environment: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireFile<'a> {
    content: &'a str,
    mount_path: &'a str,
}

fn sequence<'a>(fields: &'a Mapping, field: &str) -> Result<&'a [Value], &'static str> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Sequence(items)) => Ok(items),
        Some(_) => Err("expected a list"),
    }
}

fn config_file(item: &Value, index: usize) -> Result<EscConfigFile, (String, &'static str)> {
    let at = |field: &str| format!("configFiles[{index}]{field}");
    let Value::Mapping(fields) = item else {
        return Err((at(""), "expected a mapping with content and mountPath"));
    };
    for key in fields.keys() {
        if !matches!(key.as_str(), Some("content" | "mountPath")) {
            return Err((
                at(&format!(".{}", key.as_str().unwrap_or("?"))),
                "unknown field",
            ));
        }
    }
    let text = |field: &str| match fields.get(field) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err((at(&format!(".{field}")), "expected a string")),
    };
    Ok(EscConfigFile {
        content: text("content")?,
        mount_path: text("mountPath")?,
    })
}
