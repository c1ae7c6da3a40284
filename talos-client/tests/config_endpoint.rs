//! Endpoint parsing: default port, IPv6 brackets and rejected forms.
#![allow(clippy::unwrap_used)]

use talos_client::config::{DEFAULT_PORT, Endpoint};

#[test]
fn endpoints_get_the_default_port_and_ipv6_brackets() {
    let cases = [
        ("10.0.0.2", "10.0.0.2", DEFAULT_PORT, "10.0.0.2:50000"),
        ("10.0.0.2:50001", "10.0.0.2", 50001, "10.0.0.2:50001"),
        (
            "cp.example.com",
            "cp.example.com",
            DEFAULT_PORT,
            "cp.example.com:50000",
        ),
        ("fd00::2", "fd00::2", DEFAULT_PORT, "[fd00::2]:50000"),
        ("[fd00::2]", "fd00::2", DEFAULT_PORT, "[fd00::2]:50000"),
        ("[fd00::2]:6443", "fd00::2", 6443, "[fd00::2]:6443"),
        (" 10.0.0.2 ", "10.0.0.2", DEFAULT_PORT, "10.0.0.2:50000"),
    ];
    for (text, host, port, shown) in cases {
        let endpoint = Endpoint::parse(text).unwrap();
        assert_eq!((endpoint.host(), endpoint.port()), (host, port), "{text}");
        assert_eq!(endpoint.to_string(), shown);
        assert_eq!(
            Endpoint::parse(shown).unwrap(),
            endpoint,
            "display form parses back"
        );
    }
}

#[test]
fn malformed_endpoints_are_rejected() {
    for text in [
        "",
        "https://10.0.0.2:50000",
        "10.0.0.2:",
        "10.0.0.2:0",
        "10.0.0.2:99999",
        "10.0.0.2:port",
        ":50000",
        "[fd00::2",
        "[not-ipv6]:50000",
        "[fd00::2]x",
        "a:b:c",
    ] {
        assert!(Endpoint::parse(text).is_err(), "{text:?} was accepted");
    }
}
