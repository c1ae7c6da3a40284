//! Hostname rules for `TS_HOSTNAME` (a single DNS label, as MagicDNS needs).

/// Checks that `name` is a valid Tailscale hostname: one DNS label of 1–63 lower-case
/// letters, digits and hyphens, not starting or ending with a hyphen.
///
/// # Errors
/// [`rollout_core::Error::InvalidExtensionConfig`] saying which rule broke and a corrected suggestion.
pub fn validate_hostname(name: &str) -> rollout_core::Result<()> {
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name.len() > 63 {
        Some("is longer than 63 characters")
    } else if name.contains('.') {
        Some("contains a dot; use a single label, MagicDNS appends the tailnet domain")
    } else if name.starts_with('-') || name.ends_with('-') {
        Some("starts or ends with a hyphen")
    } else if name.chars().any(|c| c.is_ascii_uppercase()) {
        Some("has upper-case letters; Tailscale lower-cases names, so use the lower-case form")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Some("may only contain a-z, 0-9 and '-'")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(super::invalid(format!(
            "TS_HOSTNAME {name:?} {problem} (suggestion: {:?})",
            suggest(name)
        ))),
    }
}

/// The first label of `name` as MagicDNS would derive it, trimmed to a valid label.
fn suggest(name: &str) -> String {
    let first = name.split('.').next().unwrap_or_default();
    let label: String = tailscale_client::dns_label(first)
        .chars()
        .take(63)
        .collect();
    label.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accepts_node_style_names() {
        for ok in ["k8s-1", "a", "node01", &"x".repeat(63)] {
            validate_hostname(ok).unwrap();
        }
    }

    #[test]
    fn rejects_with_a_suggestion() {
        let err = validate_hostname("K8s_1.lan").unwrap_err().to_string();
        assert!(
            err.contains("contains a dot") && err.contains("\"k8s-1\""),
            "{err}"
        );
        for bad in ["", "-a", "a-", &"x".repeat(64), "a_b", "Node"] {
            assert!(validate_hostname(bad).is_err(), "{bad}");
        }
    }
}
