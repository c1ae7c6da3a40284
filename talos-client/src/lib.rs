//! Typed gRPC client for the Talos Linux machine API and COSI resources, with mTLS from a talosconfig.

pub mod config;
pub mod identity;
pub mod machine_config;
