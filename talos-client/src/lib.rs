//! Typed gRPC client for the Talos Linux machine API and COSI resources, with mTLS from a talosconfig.

pub mod config;
pub mod identity;
pub mod machine_config;

/// Protobuf messages and gRPC client/server stubs generated from `talos-client/proto`
/// by `cargo xtask codegen` (packages `common`, `machine`, `cluster`, `cosi.resource`,
/// `google.rpc`, `resource.config` and `talos.resource.definitions.*`).
#[allow(
    missing_docs,
    unreachable_pub,
    clippy::all,
    clippy::pedantic,
    rustdoc::all
)]
#[path = "generated/mod.rs"]
pub mod proto;
