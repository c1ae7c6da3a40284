//! The one rule for plain `http://` base URLs: allowed for loopback hosts (a local
//! simulator, a test server), refused for any other host unless the caller opted in
//! explicitly, because a credential sent over cleartext HTTP can be read on the way.

use std::net::IpAddr;

/// Whether `host` (a URL's host, IPv6 with or without brackets) names this machine:
/// `localhost`, `*.localhost`, `127.0.0.0/8` or `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip.is_loopback();
    }
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// Checks a base URL's scheme and host against the rule.
///
/// # Errors
/// A sentence saying why `scheme://host` is refused and what to do instead, for `http`
/// to a non-loopback host when `allow_insecure_http` is false.
pub fn check(scheme: &str, host: &str, allow_insecure_http: bool) -> Result<(), String> {
    if scheme.eq_ignore_ascii_case("http") && !allow_insecure_http && !is_loopback_host(host) {
        return Err(format!(
            "plain http:// to {host} would send credentials in cleartext; use https://, or allow insecure http explicitly for a test rig"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "localhost",
            "api.localhost",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["10.0.0.1", "example.com", "localhost.example.com", "[::2]"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn http_is_refused_off_loopback_unless_allowed() {
        assert!(check("https", "example.com", false).is_ok());
        assert!(check("http", "127.0.0.1", false).is_ok());
        let refused = check("http", "example.com", false);
        assert!(refused.is_err_and(|message| message.contains("cleartext")));
        assert!(check("http", "example.com", true).is_ok());
    }
}
