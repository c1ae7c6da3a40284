//! Editing `talenv.yaml`: one flat value (`talosVersion`) replaced in place, keeping its
//! quoting, its `# renovate:` comment and every other line.

use std::path::Path;

use sdk_support::yaml_text::edit::{self, Edit, in_style_of};
use sdk_support::yaml_text::tree;
use serde_yaml_ng::Value;

use crate::Error;

/// `text` with the value of `key` set to `value`; `None` when it already is, or when the
/// file has no such key (talhelper then takes it from elsewhere).
///
/// # Errors
/// [`Error::Repository`] when the value is written in a style this editor does not change
/// (a block scalar), or when the re-parsed result differs anywhere else.
pub(crate) fn set_value(
    path: &Path,
    text: &str,
    key: &str,
    value: &str,
) -> crate::Result<Option<String>> {
    let fail =
        |reason: &str| Error::repository(path, format!("{reason}; set {key}: {value} by hand"));
    let root = tree::parse(text)
        .map_err(|_| fail("it cannot be read for editing"))?
        .ok_or_else(|| fail("it is empty"))?;
    let Some(scalar) = root.entry(key).and_then(|(_, node)| node.as_scalar()) else {
        return Ok(None);
    };
    if scalar.value == value {
        return Ok(None);
    }
    let end =
        edit::scalar_end(text, scalar).ok_or_else(|| fail("its value spans several lines"))?;
    let written = in_style_of(scalar, value).ok_or_else(|| fail("its value is a block scalar"))?;
    let edited = Edit::replace(scalar.start..end, written).apply(text);
    let parse = |text: &str| serde_yaml_ng::from_str::<Value>(text).ok();
    let expected = parse(text).map(|mut before| {
        if let Some(map) = before.as_mapping_mut() {
            map.insert(key.into(), value.into());
        }
        before
    });
    if expected.is_none() || expected != parse(&edited) {
        return Err(fail("the edit would change other values"));
    }
    Ok(Some(edited))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TALENV: &str = "---\n# renovate: datasource=docker depName=ghcr.io/siderolabs/installer\ntalosVersion: \"v1.10.4\"\n# renovate: datasource=docker depName=ghcr.io/siderolabs/kubelet\nkubernetesVersion: v1.33.1\n";

    #[test]
    fn only_the_version_changes_and_keeps_its_quotes() {
        let edited = set_value(Path::new("talenv.yaml"), TALENV, "talosVersion", "v1.11.2")
            .unwrap()
            .unwrap();
        assert_eq!(edited, TALENV.replace("\"v1.10.4\"", "\"v1.11.2\""));
        let again =
            set_value(Path::new("talenv.yaml"), &edited, "talosVersion", "v1.11.2").unwrap();
        assert_eq!(again, None);
    }

    #[test]
    fn a_missing_key_is_left_alone() {
        let unchanged = set_value(
            Path::new("talenv.yaml"),
            "a: 1\n",
            "talosVersion",
            "v1.11.2",
        )
        .unwrap();
        assert_eq!(unchanged, None);
    }
}
