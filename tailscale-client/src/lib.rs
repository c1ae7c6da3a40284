//! Tailscale admin API v2 client: auth keys, devices, subnet routes, policy file, OAuth client credentials.
