//! One document of a machine configuration: its exact text and its identity (kind, name).

use std::fmt;

use serde_yaml_ng::Value;

use super::error::MachineConfigError;
use super::extension_service_config::ExtensionServiceConfig;
use super::split::Chunk;

/// The kind reported for the main v1alpha1 document, which has no `kind` field.
pub const V1ALPHA1_KIND: &str = "v1alpha1";

/// What identifies a document in a machine configuration: its `kind` and `name`.
///
/// The v1alpha1 document has kind [`V1ALPHA1_KIND`] and an empty name; singleton typed
/// documents (no `name` field) have an empty name too. `Display` gives `kind/name`, or
/// just `kind` when the name is empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId {
    /// The document's `kind` (`v1alpha1` for the main document).
    pub kind: String,
    /// The document's `name`, empty when it has none.
    pub name: String,
}

impl DocumentId {
    /// The identity `kind/name`.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
        }
    }

    /// The identity of the main v1alpha1 document.
    pub fn v1alpha1() -> Self {
        Self::new(V1ALPHA1_KIND, "")
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            f.write_str(&self.kind)
        } else {
            write!(f, "{}/{}", self.kind, self.name)
        }
    }
}

/// One document of a machine configuration, with its exact source text.
#[derive(Clone)]
pub struct Document {
    pub(super) chunk: Chunk,
    pub(super) id: Option<DocumentId>,
    pub(super) value: Value,
    pub(super) extension_service_config: Option<ExtensionServiceConfig>,
}

impl Document {
    /// Reads a chunk's identity; `position` (1-based) is used in errors.
    pub(super) fn classify(chunk: Chunk, position: usize) -> Result<Self, MachineConfigError> {
        let value: Value =
            serde_yaml_ng::from_str(&chunk.text()).map_err(|err| MachineConfigError::Syntax {
                document: position,
                line: chunk.line,
                detail: err.to_string(),
            })?;
        let unrecognized = |reason| MachineConfigError::UnrecognizedDocument {
            document: position,
            line: chunk.line,
            reason,
        };
        let id = match &value {
            Value::Null => None,
            Value::Mapping(fields) => match fields.get("kind") {
                Some(Value::String(kind)) if !kind.is_empty() => {
                    let name = match fields.get("name") {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(name)) => name.clone(),
                        Some(_) => return Err(unrecognized("its name is not a string")),
                    };
                    Some(DocumentId::new(kind.as_str(), name))
                }
                Some(_) => return Err(unrecognized("its kind is not a non-empty string")),
                None if ["version", "machine", "cluster"]
                    .iter()
                    .any(|key| fields.contains_key(*key)) =>
                {
                    Some(DocumentId::v1alpha1())
                }
                None => {
                    return Err(unrecognized(
                        "it has neither kind nor version/machine/cluster",
                    ));
                }
            },
            _ => return Err(unrecognized("it is not a mapping")),
        };
        let extension_service_config = match &id {
            Some(id) if id.kind == ExtensionServiceConfig::KIND => {
                Some(ExtensionServiceConfig::from_value(&value)?)
            }
            _ => None,
        };
        Ok(Self {
            chunk,
            id,
            value,
            extension_service_config,
        })
    }

    /// The document's identity; `None` for a document holding only comments or nothing.
    pub fn id(&self) -> Option<&DocumentId> {
        self.id.as_ref()
    }

    /// The document's text without its `---` separator line, exactly as in the source.
    pub fn body(&self) -> &str {
        &self.chunk.body
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("id", &self.id)
            .field("line", &self.chunk.line)
            .field("bytes", &self.chunk.body.len())
            .finish_non_exhaustive()
    }
}
