//! Errors met while checking a client identity or turning it into a TLS configuration.

/// A client identity (CA, certificate, key) is unusable.
///
/// Messages name the value involved (`ca`, `crt` or `key`, the talosconfig keys holding
/// them) and never contain key material. A talosconfig wraps this error in a
/// [`ConfigError`](crate::config::ConfigError) that also names the file and context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A value of the identity is wrong; `field` says which one.
    #[error("field \"{field}\": {problem}")]
    Invalid {
        /// The value: `ca`, `crt` or `key`.
        field: &'static str,
        /// What is wrong with it.
        problem: IdentityProblem,
    },
    /// rustls rejected the identity while building the TLS configuration.
    #[error(
        "cannot build the TLS configuration: {detail}; take ca, crt and key from the talosconfig talosctl wrote"
    )]
    Tls {
        /// rustls' description.
        detail: String,
    },
}

impl IdentityError {
    /// The value the problem is in (`ca`, `crt` or `key`), for [`IdentityError::Invalid`].
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::Invalid { field, .. } => Some(field),
            Self::Tls { .. } => None,
        }
    }

    /// What is wrong, for [`IdentityError::Invalid`].
    pub fn problem(&self) -> Option<&IdentityProblem> {
        match self {
            Self::Invalid { problem, .. } => Some(problem),
            Self::Tls { .. } => None,
        }
    }

    /// An error about the value `field`.
    pub(super) fn invalid(field: &'static str, problem: IdentityProblem) -> Self {
        Self::Invalid { field, problem }
    }
}

/// What is wrong with one value (CA, certificate or key) of a client identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityProblem {
    /// A value is not PEM text.
    #[error("not PEM data; expected a \"-----BEGIN {expected}-----\" block")]
    NotPem {
        /// The PEM label expected.
        expected: &'static str,
    },
    /// PEM data holds no certificate.
    #[error("no certificate in the PEM data; expected a \"-----BEGIN CERTIFICATE-----\" block")]
    NoCertificate,
    /// PEM data holds no private key.
    #[error("no private key in the PEM data; expected a \"-----BEGIN PRIVATE KEY-----\" block")]
    NoPrivateKey,
    /// The private key has a type or encoding this client cannot use.
    #[error(
        "unsupported private key ({kind}); use an unencrypted Ed25519, ECDSA P-256/P-384 or RSA key"
    )]
    UnsupportedKey {
        /// What was found, for example the PEM label.
        kind: String,
    },
    /// The private key does not belong to the client certificate.
    #[error(
        "the private key does not match the client certificate; take crt and key from the same talosconfig"
    )]
    KeyMismatch,
    /// A certificate could not be parsed.
    #[error(
        "not a valid X.509 certificate ({detail}); take it from the talosconfig talosctl wrote"
    )]
    InvalidCertificate {
        /// The parser's description.
        detail: String,
    },
    /// The CA certificate is not a certificate authority.
    #[error(
        "the certificate is not a CA (no basicConstraints CA:TRUE); use the cluster's Talos CA certificate"
    )]
    NotACa,
    /// The client certificate was not signed by the CA of the same identity.
    #[error(
        "the client certificate was not issued by the CA in `ca`; take ca, crt and key from the same talosconfig"
    )]
    NotIssuedByCa,
    /// The client certificate has expired.
    #[error(
        "the client certificate expired on {expired_at}; generate a new talosconfig (talosctl config new)"
    )]
    CertificateExpired {
        /// When it expired (RFC 2822).
        expired_at: String,
    },
}
