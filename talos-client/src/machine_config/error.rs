//! Errors met while parsing or editing a multi-document Talos machine configuration.

/// A machine configuration could not be parsed or edited.
///
/// Messages name documents by position and `kind/name`, and never contain values from the
/// configuration (which holds secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MachineConfigError {
    /// The configuration is not UTF-8 text.
    #[error(
        "the machine config is not UTF-8 text (invalid byte at offset {offset}); it must be YAML"
    )]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// A document is not valid YAML.
    #[error(
        "document {document} (starting at line {line}): not valid YAML: {detail}; fix the syntax"
    )]
    Syntax {
        /// 1-based position of the document.
        document: usize,
        /// 1-based line where the document starts in the whole text.
        line: usize,
        /// The parser's description (positions are relative to the document).
        detail: String,
    },
    /// A document is neither the v1alpha1 config nor a typed document.
    #[error(
        "document {document} (starting at line {line}): {reason}; every document must be the v1alpha1 config (version, machine, cluster) or have apiVersion and kind"
    )]
    UnrecognizedDocument {
        /// 1-based position of the document.
        document: usize,
        /// 1-based line where the document starts in the whole text.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two documents have the same kind and name (Talos rejects this).
    #[error("duplicate document: {id}; keep only one of them")]
    DuplicateDocument {
        /// The repeated `kind/name`.
        id: String,
    },
    /// Text given as one document holds none or several.
    #[error("expected exactly one YAML document, found {found}")]
    NotOneDocument {
        /// How many non-empty documents the text holds.
        found: usize,
    },
    /// The configuration has no v1alpha1 document to edit.
    #[error(
        "the machine config has no v1alpha1 document (version: v1alpha1); it cannot hold machine.install.image or certSANs"
    )]
    NoV1Alpha1Document,
    /// The installer image reference is unusable.
    #[error("invalid installer image {image:?}: {reason}")]
    InvalidImage {
        /// The image reference given.
        image: String,
        /// Why.
        reason: &'static str,
    },
    /// A certificate SAN is unusable.
    #[error("invalid certificate SAN {value:?}: {reason}; give a DNS name or an IP address")]
    InvalidCertSan {
        /// The value given.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A value could not be edited in place without rewriting unrelated text.
    #[error("cannot edit {path} in place: {reason}; edit the document by hand")]
    UnsupportedLayout {
        /// The key path, for example `machine.install.image`.
        path: &'static str,
        /// Why, for example "written in flow style".
        reason: &'static str,
    },
    /// An ExtensionServiceConfig document breaks a rule.
    #[error("ExtensionServiceConfig {name:?}: {problem}")]
    InvalidExtensionServiceConfig {
        /// The document's name (may be empty when that is the problem).
        name: String,
        /// The rule broken.
        problem: EscProblem,
    },
    /// A document could not be serialized.
    #[error("cannot serialize the document to YAML: {detail}")]
    Serialize {
        /// The serializer's description.
        detail: String,
    },
}

/// A rule an `ExtensionServiceConfig` document breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EscProblem {
    /// `name` is empty.
    #[error("name is required")]
    MissingName,
    /// Neither `configFiles` nor `environment` has an entry.
    #[error("no config files found for the extension; add configFiles or environment")]
    NothingConfigured,
    /// A config file has no `content`.
    #[error("configFiles[{index}]: content is required")]
    FileWithoutContent {
        /// 0-based position in `configFiles`.
        index: usize,
    },
    /// A config file has no `mountPath`.
    #[error("configFiles[{index}]: mountPath is required")]
    FileWithoutMountPath {
        /// 0-based position in `configFiles`.
        index: usize,
    },
    /// A config file's `mountPath` is relative.
    #[error("configFiles[{index}]: mountPath must be an absolute path")]
    RelativeMountPath {
        /// 0-based position in `configFiles`.
        index: usize,
    },
    /// An `environment` entry is not `KEY=value`.
    #[error("environment[{index}]: expected KEY=value with a non-empty KEY")]
    MalformedEnvironment {
        /// 0-based position in `environment`.
        index: usize,
    },
    /// A field is missing or has the wrong type, or is unknown (Talos decodes strictly).
    #[error("field {field}: {expected}")]
    Field {
        /// The field, for example `configFiles[0].content`.
        field: String,
        /// What was expected.
        expected: &'static str,
    },
}
