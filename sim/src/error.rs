//! The sim crate's error type.

/// Everything that can go wrong while setting up or serving the simulation.
///
/// Runtime misbehaviour of the simulated systems is never an `Error`: it is served to the
/// clients as the real system's error response (gRPC status, HTTP status and body).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Generating a key or certificate failed.
    #[error(
        "could not generate the simulated certificate authority or a certificate: {0}; this is a bug in the sim, please report it"
    )]
    Pki(String),
    /// Building a rustls configuration from the generated material failed.
    #[error(
        "could not build the TLS configuration: {0}; this is a bug in the sim, please report it"
    )]
    Tls(String),
    /// Binding or serving a loopback socket failed.
    #[error("could not listen on a loopback port: {0}; check that 127.0.0.1 is available")]
    Io(#[from] std::io::Error),
    /// The requested simulation shape is invalid (for example no nodes, duplicate hostnames).
    #[error("invalid simulation setup: {0}")]
    InvalidSetup(String),
}

impl Error {
    /// True when the error comes from a bad builder argument the caller can fix.
    pub fn is_invalid_setup(&self) -> bool {
        matches!(self, Self::InvalidSetup(_))
    }
}
