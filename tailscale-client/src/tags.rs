//! ACL tag syntax (`tag:<name>`), checked before anything is sent.

use crate::error::{Error, Result};

/// Checks that `tag` looks like `tag:<name>` with a non-empty name free of whitespace and
/// colons.
///
/// # Errors
/// [`Error::InvalidInput`] explaining the expected form.
pub fn validate_tag(tag: &str) -> Result<()> {
    let name = tag
        .strip_prefix("tag:")
        .ok_or_else(|| Error::InvalidInput {
            field: "tag",
            reason: format!("{tag:?} must start with \"tag:\", e.g. \"tag:talos\""),
        })?;
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == ':') {
        return Err(Error::InvalidInput {
            field: "tag",
            reason: format!("{tag:?} needs a name of letters, digits and dashes after \"tag:\""),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_tags_pass() {
        assert!(validate_tag("tag:talos-node").is_ok());
    }

    #[test]
    fn malformed_tags_are_rejected() {
        for bad in ["talos", "tag:", "tag:a b", "tag:a:b"] {
            assert!(validate_tag(bad).is_err(), "{bad}");
        }
    }
}
