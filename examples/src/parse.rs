//! Value parsers for flags every tool checks the same way, so a bad tag or CIDR is refused
//! by clap with exit 2 before anything runs.

use tailscale_client::IpNet;

/// A Tailscale ACL tag (`tag:<name>`).
///
/// # Errors
/// What is wrong with the tag and the expected form.
pub fn tag(text: &str) -> Result<String, String> {
    tailscale_client::validate_tag(text)
        .map(|()| text.to_owned())
        .map_err(|error| error.to_string())
}

/// A subnet route in CIDR form (`10.43.0.0/16`).
///
/// # Errors
/// The expected form.
pub fn cidr(text: &str) -> Result<IpNet, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a CIDR such as 10.43.0.0/16"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_cidrs_are_checked() {
        assert_eq!(tag("tag:k8s"), Ok("tag:k8s".to_owned()));
        assert!(tag("k8s").is_err_and(|message| message.contains("tag:")));
        assert!(cidr("10.43.0.0/16").is_ok());
        assert!(cidr("10.43.0.0/33").is_err());
    }
}
