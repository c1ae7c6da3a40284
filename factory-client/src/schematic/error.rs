//! Why a schematic text was rejected: the source line, the field path and what to fix.

use std::fmt;

/// A schematic that the factory would reject (or that this crate cannot hash exactly).
///
/// Carries the 1-based source line and the dotted field path when known, e.g.
/// `line 4: customization.meta[0].key: 300 does not fit 0..=255`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchematicError {
    line: Option<usize>,
    field: Option<String>,
    message: String,
}

impl SchematicError {
    pub(crate) fn at_line(line: usize, message: impl Into<String>) -> Self {
        Self {
            line: Some(line),
            field: None,
            message: message.into(),
        }
    }

    pub(crate) fn at_field(line: usize, field: &str, message: impl Into<String>) -> Self {
        let field = (!field.is_empty()).then(|| field.to_owned());
        Self {
            line: Some(line),
            field,
            message: message.into(),
        }
    }

    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            line: None,
            field: None,
            message: message.into(),
        }
    }

    /// The 1-based line of the offending node, when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The dotted path of the offending field (`customization.meta[0].key`), when known.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// The problem and what to do about it, without line or field.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for SchematicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for SchematicError {}
