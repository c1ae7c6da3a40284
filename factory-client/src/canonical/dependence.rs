//! Strings whose canonical quoting differs between versions of the factory's YAML library,
//! so that the offline ID of a schematic holding them may not match every factory.

use super::scalar::is_legacy_compat;
use super::tree::Doc;

/// A string in a schematic whose quoting, and so the schematic ID, depends on the YAML
/// library version the factory was built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionDependentString {
    /// Where the string sits, e.g. `customization.extraKernelArgs[0]` or
    /// `overlay.options` (for a key).
    pub field: String,
    /// The string itself, e.g. `yes`, `12:30` or `<<`.
    pub value: String,
}

/// Every version-dependent string in the document, keys included, in document order.
pub(crate) fn version_dependent_strings(doc: &Doc) -> Vec<VersionDependentString> {
    let mut found = Vec::new();
    walk(doc, "", &mut found);
    found
}

fn walk(doc: &Doc, path: &str, found: &mut Vec<VersionDependentString>) {
    match doc {
        Doc::Text(text) => check(text, path, found),
        Doc::Typed(_) => {}
        Doc::Seq(items) => {
            for (index, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{index}]"), found);
            }
        }
        Doc::Map(entries) => {
            for (key, value) in entries {
                check(key, path, found);
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(value, &child, found);
            }
        }
    }
}

/// yaml.v3 and go-yaml v4 up to rc.4 double-quote the YAML 1.1 compat set; v4 rc.6
/// single-quotes it; `<<` is plain in yaml.v3 and quoted in every v4.
fn check(text: &str, path: &str, found: &mut Vec<VersionDependentString>) {
    if is_legacy_compat(text) || text == "<<" {
        found.push(VersionDependentString {
            field: path.to_owned(),
            value: text.to_owned(),
        });
    }
}
