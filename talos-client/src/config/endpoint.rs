//! Talos API endpoints: `host[:port]` as written in a talosconfig, with the default port.

use std::fmt;
use std::net::Ipv6Addr;

/// The port apid listens on, used when an endpoint names none.
pub const DEFAULT_PORT: u16 = 50000;

/// A Talos API endpoint: a host (DNS name or IP address) and a port.
///
/// Parsing accepts what talosctl accepts in `endpoints`: `host`, `host:port`, an IPv4
/// address, a bare IPv6 address or `[ipv6]:port`. The port defaults to
/// [`DEFAULT_PORT`]. `Display` gives `host:port`, with IPv6 hosts in brackets.
///
/// ```
/// use talos_client::config::Endpoint;
///
/// let endpoint = Endpoint::parse("fd00::2")?;
/// assert_eq!(endpoint.host(), "fd00::2");
/// assert_eq!(endpoint.to_string(), "[fd00::2]:50000");
/// assert_eq!(Endpoint::parse("cp.example.com:6000")?.port(), 6000);
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    host: String,
    port: u16,
}

impl Endpoint {
    /// Parses an endpoint as written in a talosconfig.
    ///
    /// # Errors
    ///
    /// A short reason (also used in [`ConfigProblem::InvalidEndpoint`](super::ConfigProblem))
    /// when the endpoint is empty, is a URL, has an invalid port or unbalanced brackets.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty; write host or host:port");
        }
        if text.contains("://") {
            return Err("URLs are not supported; write host or host:port");
        }
        if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or("missing \"]\" after an IPv6 address; write [addr]:port")?;
            if host.parse::<Ipv6Addr>().is_err() {
                return Err("brackets must hold an IPv6 address");
            }
            let port = match after {
                "" => DEFAULT_PORT,
                _ => parse_port(
                    after
                        .strip_prefix(':')
                        .ok_or("unexpected text after \"]\"")?,
                )?,
            };
            return Ok(Self::new(host, port));
        }
        if text.parse::<Ipv6Addr>().is_ok() {
            return Ok(Self::new(text, DEFAULT_PORT));
        }
        match text.split_once(':') {
            None => Ok(Self::new(text, DEFAULT_PORT)),
            Some((host, port)) if !host.is_empty() && !port.contains(':') => {
                Ok(Self::new(host, parse_port(port)?))
            }
            Some(_) => Err("not host:port; put IPv6 addresses in brackets: [addr]:port"),
        }
    }

    fn new(host: &str, port: u16) -> Self {
        Self {
            host: host.to_owned(),
            port,
        }
    }

    /// The host: a DNS name, an IPv4 address or an IPv6 address (without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

fn parse_port(text: &str) -> Result<u16, &'static str> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err("the port must be a number from 1 to 65535"),
    }
}
