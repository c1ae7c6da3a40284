//! Reading and writing the talosconfig YAML format (talosctl's `Config`/`Context` shape).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::ExposeSecret;
use serde_yaml_ng::{Mapping, Value};

use super::context::Context;
use super::error::{ConfigError, ConfigProblem, Location};
use crate::identity::ClientIdentity;

/// A context as read from the file: usable, or the reason it is not (kept verbatim so
/// writing the file back never loses it).
#[derive(Clone)]
pub(super) enum ContextEntry {
    /// Every field checked; ready to connect.
    Usable(Context),
    /// A value is wrong; the error is reported when this context is selected.
    Unusable {
        at: Location,
        problem: ConfigProblem,
        raw: Value,
    },
}

/// The decoded file: the current context's name and every context by name.
pub(super) struct ParsedFile {
    pub(super) current: Option<String>,
    pub(super) contexts: BTreeMap<String, ContextEntry>,
}

/// Parses talosconfig YAML. Only whole-file problems fail here; a broken context is kept
/// as [`ContextEntry::Unusable`] so other contexts stay usable (as with talosctl).
pub(super) fn parse(text: &str) -> Result<ParsedFile, ConfigError> {
    let root: Value = serde_yaml_ng::from_str(text).map_err(|err| ConfigError::Invalid {
        at: Location::default(),
        problem: ConfigProblem::Syntax {
            detail: err.to_string(),
        },
    })?;
    let root = match root {
        Value::Null => Mapping::new(),
        Value::Mapping(root) => root,
        _ => {
            return Err(ConfigError::Invalid {
                at: Location::default(),
                problem: ConfigProblem::WrongType {
                    expected: "a mapping with `context` and `contexts`",
                },
            });
        }
    };
    let current = optional_string(&root, "context")?.filter(|name| !name.is_empty());
    let mut contexts = BTreeMap::new();
    for (key, value) in mapping_field(&root, "contexts")? {
        let name = scalar_string(key).ok_or_else(|| {
            ConfigError::in_field(
                "contexts",
                ConfigProblem::WrongType {
                    expected: "context names that are strings",
                },
            )
        })?;
        let entry = match parse_context(&name, value) {
            Ok(context) => ContextEntry::Usable(context),
            Err(ConfigError::Invalid { at, problem }) => ContextEntry::Unusable {
                at: at.in_context(&name),
                problem,
                raw: value.clone(),
            },
            Err(other) => return Err(other),
        };
        contexts.insert(name, entry);
    }
    Ok(ParsedFile { current, contexts })
}

/// Serializes to talosconfig YAML.
pub(super) fn to_yaml(
    current: Option<&str>,
    contexts: &BTreeMap<String, ContextEntry>,
) -> Result<String, ConfigError> {
    let mut encoded = Mapping::new();
    for (name, entry) in contexts {
        let value = match entry {
            ContextEntry::Usable(context) => context_to_value(context),
            ContextEntry::Unusable { raw, .. } => raw.clone(),
        };
        encoded.insert(Value::from(name.as_str()), value);
    }
    let mut root = Mapping::new();
    root.insert("context".into(), current.unwrap_or_default().into());
    root.insert("contexts".into(), Value::Mapping(encoded));
    serde_yaml_ng::to_string(&Value::Mapping(root)).map_err(|err| ConfigError::Serialize {
        detail: err.to_string(),
    })
}

fn parse_context(name: &str, value: &Value) -> Result<Context, ConfigError> {
    let Value::Mapping(fields) = value else {
        return Err(ConfigError::Invalid {
            at: Location::default(),
            problem: ConfigProblem::WrongType {
                expected: "a mapping with endpoints, ca, crt and key",
            },
        });
    };
    if let Some(unsupported) = unsupported_auth(fields) {
        return Err(unsupported);
    }
    let mut endpoints = string_list(fields, "endpoints")?;
    if let Some(target) = optional_string(fields, "target")?.filter(|t| !t.is_empty()) {
        endpoints.push(target);
    }
    let nodes = string_list(fields, "nodes")?;
    if fields.contains_key("proxy-url") {
        tracing::warn!(
            context = name,
            "talosconfig proxy-url is not supported and is ignored; connecting directly"
        );
    }
    let identity = parse_identity(fields)?;
    let context = Context::new(name, endpoints, nodes, identity)?;
    Ok(
        match optional_string(fields, "cluster")?.filter(|c| !c.is_empty()) {
            Some(cluster) => context.with_cluster(cluster),
            None => context,
        },
    )
}

fn parse_identity(fields: &Mapping) -> Result<ClientIdentity, ConfigError> {
    let ca = base64_field(fields, "ca")?;
    let crt = base64_field(fields, "crt")?;
    let key = base64_field(fields, "key")?;
    Ok(ClientIdentity::from_pem(&ca, &crt, &key)?)
}

/// When the context authenticates with an `auth` section instead of a client
/// certificate (Omni / SideroV1, basic auth), the error that says so.
fn unsupported_auth(fields: &Mapping) -> Option<ConfigError> {
    let Some(Value::Mapping(auth)) = fields.get("auth") else {
        return None;
    };
    let has_value = |field| {
        fields
            .get(field)
            .and_then(scalar_string)
            .is_some_and(|v| !v.trim().is_empty())
    };
    if has_value("crt") && has_value("key") {
        return None;
    }
    let mechanism = auth
        .keys()
        .find_map(scalar_string)
        .unwrap_or_else(|| "auth".to_owned());
    Some(ConfigError::in_field(
        "auth",
        ConfigProblem::UnsupportedAuth { mechanism },
    ))
}

fn base64_field(fields: &Mapping, field: &str) -> Result<Vec<u8>, ConfigError> {
    let text = optional_string(fields, field)?
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| ConfigError::in_field(field, ConfigProblem::MissingField))?;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64.decode(compact.as_bytes()).map_err(|err| {
        let byte = match err {
            base64::DecodeError::InvalidByte(offset, _)
            | base64::DecodeError::InvalidLastSymbol(offset, _) => offset,
            base64::DecodeError::InvalidLength(_) | base64::DecodeError::InvalidPadding => {
                compact.len()
            }
        };
        ConfigError::in_field(field, ConfigProblem::InvalidBase64 { byte })
    })
}

fn context_to_value(context: &Context) -> Value {
    let identity = context.identity();
    let mut fields = Mapping::new();
    fields.insert("endpoints".into(), string_sequence(context.endpoints()));
    if !context.nodes().is_empty() {
        fields.insert("nodes".into(), string_sequence(context.nodes()));
    }
    fields.insert("ca".into(), BASE64.encode(identity.ca_pem()).into());
    fields.insert("crt".into(), BASE64.encode(identity.cert_pem()).into());
    fields.insert(
        "key".into(),
        BASE64.encode(identity.key_pem().expose_secret()).into(),
    );
    if let Some(cluster) = context.cluster() {
        fields.insert("cluster".into(), cluster.into());
    }
    Value::Mapping(fields)
}

fn string_sequence(items: &[String]) -> Value {
    Value::Sequence(
        items
            .iter()
            .map(|item| Value::from(item.as_str()))
            .collect(),
    )
}

/// A scalar as a string: YAML decodes `10` or `true` as numbers and booleans, talosctl
/// reads every scalar into its string fields.
fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn optional_string(fields: &Mapping, field: &str) -> Result<Option<String>, ConfigError> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => scalar_string(value).map(Some).ok_or_else(|| {
            ConfigError::in_field(
                field,
                ConfigProblem::WrongType {
                    expected: "a string",
                },
            )
        }),
    }
}

fn string_list(fields: &Mapping, field: &str) -> Result<Vec<String>, ConfigError> {
    let wrong = || {
        ConfigError::in_field(
            field,
            ConfigProblem::WrongType {
                expected: "a list of strings",
            },
        )
    };
    match fields.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|item| scalar_string(item).ok_or_else(wrong))
            .collect(),
        Some(_) => Err(wrong()),
    }
}

fn mapping_field<'a>(
    fields: &'a Mapping,
    field: &str,
) -> Result<Vec<(&'a Value, &'a Value)>, ConfigError> {
    match fields.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Mapping(entries)) => Ok(entries.iter().collect()),
        Some(_) => Err(ConfigError::in_field(
            field,
            ConfigProblem::WrongType {
                expected: "a mapping of context names to contexts",
            },
        )),
    }
}
