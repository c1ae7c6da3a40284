//! The client identity (CA, certificate, key) and the Talos roles it carries.
//!
//! A [`ClientIdentity`] is what a talosconfig context holds: the cluster CA the client
//! trusts, the client certificate whose Subject Organization lists its [`Roles`], and the
//! matching private key. [`ClientIdentity::tls_config`] turns it into a rustls mutual-TLS
//! client configuration; [`required_roles`] says which roles each API method needs.

mod certificate;
mod error;
mod pem_data;
mod permissions;
mod role;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, InconsistentKeys, RootCertStore};
use rustls_pki_types::CertificateDer;
use secrecy::{ExposeSecret, SecretSlice};

pub use error::{IdentityError, IdentityProblem};
pub use permissions::{required_roles, required_roles_to_read};
pub use role::{Role, Roles};

/// Field names used in errors; they are the talosconfig keys holding each value.
const CA_FIELD: &str = "ca";
const CERT_FIELD: &str = "crt";
const KEY_FIELD: &str = "key";

/// A checked mTLS client identity: trusted CA, client certificate and private key.
///
/// Construction verifies that the key matches the certificate, that the CA is a CA, that
/// it issued the client certificate and that the client certificate has not expired. The key is kept as a secret and is never
/// shown by `Debug`.
#[derive(Clone)]
pub struct ClientIdentity {
    ca_pem: Vec<u8>,
    cert_pem: Vec<u8>,
    key_pem: SecretSlice<u8>,
    ca_certificates: Vec<CertificateDer<'static>>,
    cert_chain: Vec<CertificateDer<'static>>,
    roles: Roles,
    expires_at: SystemTime,
}

impl ClientIdentity {
    /// Builds an identity from PEM text: the CA certificate(s), the client certificate
    /// (optionally followed by intermediates) and the client's private key.
    ///
    /// The key may be PKCS#8 (`PRIVATE KEY`, including the `ED25519 PRIVATE KEY` label
    /// Talos writes), SEC1 (`EC PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`); Ed25519,
    /// ECDSA P-256/P-384 and RSA keys are supported.
    ///
    /// # Errors
    ///
    /// [`IdentityError::Invalid`] naming the field (`ca`, `crt` or `key`) when a value is not
    /// PEM, holds no certificate or key, the key type is unsupported, the key does not match
    /// the certificate, the CA certificate is not a CA, the client certificate was not
    /// issued by that CA, or the client certificate expired.
    ///
    /// # Usage
    ///
    /// ```no_run
    /// use talos_client::identity::ClientIdentity;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = ClientIdentity::from_pem(
    ///     &std::fs::read("ca.crt")?,
    ///     &std::fs::read("admin.crt")?,
    ///     &std::fs::read("admin.key")?,
    /// )?;
    /// println!("roles: {}", identity.roles());
    /// let tls = identity.tls_config()?;
    /// # let _ = tls;
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_pem(ca_pem: &[u8], cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, IdentityError> {
        let ca_certificates = pem_data::certificates(ca_pem, CA_FIELD)?;
        certificate::require_ca(&ca_certificates, CA_FIELD)?;
        let cert_chain = pem_data::certificates(cert_pem, CERT_FIELD)?;
        let leaf = cert_chain
            .first()
            .ok_or_else(|| IdentityError::invalid(CERT_FIELD, IdentityProblem::NoCertificate))?;
        let client = certificate::client_certificate(leaf, CERT_FIELD, SystemTime::now())?;
        certificate::require_issued_by(&cert_chain, &ca_certificates, CERT_FIELD)?;
        require_matching_key(&cert_chain, key_pem)?;
        Ok(Self {
            ca_pem: ca_pem.to_vec(),
            cert_pem: cert_pem.to_vec(),
            key_pem: SecretSlice::from(key_pem.to_vec()),
            ca_certificates,
            cert_chain,
            roles: client.roles,
            expires_at: client.not_after,
        })
    }

    /// The roles in the client certificate's Subject Organization.
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// When the client certificate expires (Talos issues admin certificates for a year).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// The CA certificate PEM text, as given.
    pub fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }

    /// The client certificate PEM text, as given.
    pub fn cert_pem(&self) -> &[u8] {
        &self.cert_pem
    }

    /// The private key PEM text, as given (the upstream Ed25519 label is kept).
    pub fn key_pem(&self) -> &SecretSlice<u8> {
        &self.key_pem
    }

    /// A rustls client configuration for mutual TLS with a Talos node: ring crypto,
    /// TLS 1.2 or 1.3, ALPN `h2`, only this identity's CA trusted, and this identity's
    /// certificate and key presented. Server certificates are always verified.
    ///
    /// # Errors
    ///
    /// [`IdentityError::Tls`] when rustls rejects the CA or the key.
    pub fn tls_config(&self) -> Result<Arc<ClientConfig>, IdentityError> {
        let mut roots = RootCertStore::empty();
        for ca in &self.ca_certificates {
            roots.add(ca.clone()).map_err(tls_error)?;
        }
        let key = pem_data::private_key(self.key_pem.expose_secret(), KEY_FIELD)?;
        let mut config = ClientConfig::builder_with_provider(ring_provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(tls_error)?
            .with_root_certificates(roots)
            .with_client_auth_cert(self.cert_chain.clone(), key)
            .map_err(tls_error)?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("roles", &self.roles)
            .field("expires_at", &self.expires_at)
            .field("ca_certificates", &self.ca_certificates.len())
            .field("cert_chain", &self.cert_chain.len())
            .field("key", &"[redacted]")
            .finish()
    }
}

/// Loads the key with the ring provider and fails unless it belongs to the certificate.
fn require_matching_key(
    cert_chain: &[CertificateDer<'static>],
    key_pem: &[u8],
) -> Result<(), IdentityError> {
    let key = pem_data::private_key(key_pem, KEY_FIELD)?;
    let kind = match &key {
        rustls_pki_types::PrivateKeyDer::Pkcs1(_) => "PKCS#1 RSA key",
        rustls_pki_types::PrivateKeyDer::Sec1(_) => "SEC1 EC key",
        _ => "PKCS#8 key of an unsupported algorithm",
    };
    let signing_key = ring_provider()
        .key_provider
        .load_private_key(key)
        .map_err(|_| {
            IdentityError::invalid(
                KEY_FIELD,
                IdentityProblem::UnsupportedKey {
                    kind: kind.to_owned(),
                },
            )
        })?;
    match CertifiedKey::new(cert_chain.to_vec(), signing_key).keys_match() {
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Err(
            IdentityError::invalid(KEY_FIELD, IdentityProblem::KeyMismatch),
        ),
        Err(rustls::Error::InconsistentKeys(InconsistentKeys::Unknown)) | Ok(()) => Ok(()),
        Err(other) => Err(tls_error(other)),
    }
}

fn ring_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(err: impl fmt::Display) -> IdentityError {
    IdentityError::Tls {
        detail: err.to_string(),
    }
}
