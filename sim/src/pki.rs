//! A throw-away Talos-style PKI: an Ed25519 CA, apid server certificates and role-carrying client certificates.
//!
//! Talos generates its OS CA and the admin client certificate with Ed25519 keys, puts the
//! client's roles into the certificate's Subject Organization, and writes the client key as
//! a PKCS#8 v1 body under the `ED25519 PRIVATE KEY` PEM label. This module reproduces that
//! exactly so that clients exercise the same parsing paths against the sim as against a
//! real cluster. Every [`Pki::generate`] call makes a new, unrelated CA (handy for
//! wrong-CA tests).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use secrecy::SecretString;

use crate::Error;

/// The PEM label Talos (siderolabs/crypto) writes above an Ed25519 private key.
pub const ED25519_KEY_PEM_LABEL: &str = "ED25519 PRIVATE KEY";

/// The subject alternative names of a loopback server certificate.
pub const LOOPBACK_SANS: &[&str] = &["127.0.0.1", "::1", "localhost"];

/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410 §7); the 32-byte seed follows.
const PKCS8_V1_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// X.509 allows one role per Organization attribute; rcgen can encode two such attributes.
const MAX_ROLES_PER_CERTIFICATE: usize = 2;

/// A certificate authority with the Talos key type, able to issue server and client certificates.
///
/// # Usage
///
/// ```
/// let pki = sim::pki::Pki::generate()?;
/// let admin = pki.issue_client(&["os:admin"])?;
/// assert!(admin.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
/// let _server_tls = pki.server_config(sim::pki::LOOPBACK_SANS)?;
/// # Ok::<(), sim::Error>(())
/// ```
pub struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki").field("ca", &"[Ed25519 CA]").finish()
    }
}

/// A client certificate and its private key, both PEM-encoded as in a talosconfig.
#[derive(Debug, Clone)]
pub struct IssuedClient {
    /// The client certificate (`CERTIFICATE` PEM block).
    pub cert_pem: String,
    /// The client key, a PKCS#8 body: under the `ED25519 PRIVATE KEY` label exactly as Talos
    /// writes it ([`Pki::issue_client`]), or the plain `PRIVATE KEY` label of a kubeconfig
    /// ([`Pki::issue_kube_client`]).
    pub key_pem: SecretString,
}

impl Pki {
    /// Generates a new Ed25519 certificate authority.
    ///
    /// # Errors
    ///
    /// [`Error::Pki`] when key or certificate generation fails (never expected).
    pub fn generate() -> Result<Self, Error> {
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name("talos", &["talos"]);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::CrlSign,
        ];
        set_validity(&mut params);
        let ca = CertifiedIssuer::self_signed(params, talos_ed25519_key()?.0).map_err(pki_error)?;
        Ok(Self { ca })
    }

    /// The CA certificate in PEM form (the talosconfig `ca`).
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The CA certificate in DER form.
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca.der().clone()
    }

    /// Issues a client certificate carrying `roles` (for example `"os:admin"`) in its Subject Organization.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSetup`] for no roles or more than two roles; [`Error::Pki`] when signing fails.
    pub fn issue_client(&self, roles: &[&str]) -> Result<IssuedClient, Error> {
        if roles.is_empty() || roles.len() > MAX_ROLES_PER_CERTIFICATE {
            return Err(Error::InvalidSetup(format!(
                "a sim client certificate carries one or two roles, got {}",
                roles.len()
            )));
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = distinguished_name("talos-sim-client", roles);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        set_validity(&mut params);
        let (key, key_pem) = talos_ed25519_key()?;
        let cert = params.signed_by(&key, &self.ca).map_err(pki_error)?;
        Ok(IssuedClient {
            cert_pem: cert.pem(),
            key_pem: SecretString::from(key_pem),
        })
    }

    /// Issues a Kubernetes client certificate: `groups` in the Subject Organization (for
    /// example `system:masters`), the key as a plain PKCS#8 `PRIVATE KEY` PEM block, as a
    /// kubeconfig carries it.
    ///
    /// # Errors
    ///
    /// As [`Pki::issue_client`].
    pub fn issue_kube_client(&self, groups: &[&str]) -> Result<IssuedClient, Error> {
        use secrecy::ExposeSecret;
        let issued = self.issue_client(groups)?;
        let key =
            pem::parse(issued.key_pem.expose_secret()).map_err(|e| Error::Pki(e.to_string()))?;
        Ok(IssuedClient {
            cert_pem: issued.cert_pem,
            key_pem: SecretString::from(pem::encode(&pem::Pem::new(
                "PRIVATE KEY",
                key.into_contents(),
            ))),
        })
    }

    /// Builds the client identity talos-client uses, from a freshly issued certificate with `roles`.
    ///
    /// # Errors
    ///
    /// As [`Pki::issue_client`], plus [`Error::Pki`] when talos-client rejects the material.
    pub fn client_identity(
        &self,
        roles: &[&str],
    ) -> Result<talos_client::identity::ClientIdentity, Error> {
        use secrecy::ExposeSecret;
        let issued = self.issue_client(roles)?;
        talos_client::identity::ClientIdentity::from_pem(
            self.ca_pem().as_bytes(),
            issued.cert_pem.as_bytes(),
            issued.key_pem.expose_secret().as_bytes(),
        )
        .map_err(|e| Error::Pki(e.to_string()))
    }

    /// A rustls server configuration for an apid-like endpoint reachable under `sans`.
    ///
    /// The server certificate (Ed25519, signed by this CA) carries `sans` as IP or DNS
    /// subject alternative names. Clients must present a certificate signed by this CA
    /// (mutual TLS, as apid requires); TLS 1.2 and 1.3 are offered with ALPN `h2`.
    ///
    /// # Errors
    ///
    /// [`Error::Pki`] for an invalid SAN or a signing failure, [`Error::Tls`] when rustls
    /// rejects the configuration.
    pub fn server_config(&self, sans: &[&str]) -> Result<Arc<rustls::ServerConfig>, Error> {
        self.server_config_alpn(sans, b"h2")
    }

    /// As [`Pki::server_config`], offering HTTP/1.1 (`http/1.1`) instead of `h2`: the
    /// Kubernetes API fake, whose clients speak HTTP/1.1.
    ///
    /// # Errors
    ///
    /// As [`Pki::server_config`].
    pub fn http1_server_config(&self, sans: &[&str]) -> Result<Arc<rustls::ServerConfig>, Error> {
        self.server_config_alpn(sans, b"http/1.1")
    }

    fn server_config_alpn(
        &self,
        sans: &[&str],
        alpn: &[u8],
    ) -> Result<Arc<rustls::ServerConfig>, Error> {
        let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
        let certificate = self.server_certificate(&sans)?;
        self.resolver_config(
            Arc::new(rustls::sign::SingleCertAndKey::from(certificate)),
            alpn,
        )
    }

    /// A server configuration like [`Pki::server_config`] whose certificate `resolver`
    /// picks at each handshake (so that it can be re-issued while the server runs).
    ///
    /// # Errors
    ///
    /// [`Error::Tls`] when rustls rejects the configuration.
    pub fn server_config_with(
        &self,
        resolver: Arc<dyn rustls::server::ResolvesServerCert>,
    ) -> Result<Arc<rustls::ServerConfig>, Error> {
        self.resolver_config(resolver, b"h2")
    }

    fn resolver_config(
        &self,
        resolver: Arc<dyn rustls::server::ResolvesServerCert>,
        alpn: &[u8],
    ) -> Result<Arc<rustls::ServerConfig>, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der()).map_err(tls_error)?;
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(tls_error)?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(resolver);
        config.alpn_protocols = vec![alpn.to_vec()];
        Ok(Arc::new(config))
    }

    /// An apid server certificate for `sans` (IP addresses or DNS names) with its key,
    /// ready for rustls.
    ///
    /// # Errors
    ///
    /// [`Error::Pki`] for an invalid SAN or a signing failure, [`Error::Tls`] when the key
    /// cannot be loaded.
    pub fn server_certificate(
        &self,
        sans: &[String],
    ) -> Result<Arc<rustls::sign::CertifiedKey>, Error> {
        let (chain, key) = self.issue_server(sans)?;
        let provider = rustls::crypto::ring::default_provider();
        let key = provider
            .key_provider
            .load_private_key(key)
            .map_err(tls_error)?;
        Ok(Arc::new(rustls::sign::CertifiedKey::new(chain, key)))
    }

    fn issue_server(
        &self,
        sans: &[String],
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
        let mut params = CertificateParams::new(sans.to_vec()).map_err(pki_error)?;
        params.distinguished_name = distinguished_name("talos-sim-apid", &[]);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        set_validity(&mut params);
        let (key, _) = talos_ed25519_key()?;
        let cert = params.signed_by(&key, &self.ca).map_err(pki_error)?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((vec![cert.der().clone(), self.ca_der()], key_der))
    }
}

/// Generates an Ed25519 key the way Go's `x509.MarshalPKCS8PrivateKey` encodes it (PKCS#8 v1)
/// and returns it with its PEM under the Talos label.
fn talos_ed25519_key() -> Result<(KeyPair, String), Error> {
    let seed: [u8; 32] = rand::random();
    let mut der = PKCS8_V1_ED25519_PREFIX.to_vec();
    der.extend_from_slice(&seed);
    let key = KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(der.as_slice()),
        &rcgen::PKCS_ED25519,
    )
    .map_err(pki_error)?;
    let pem = pem::encode(&pem::Pem::new(ED25519_KEY_PEM_LABEL, der));
    Ok((key, pem))
}

fn distinguished_name(common_name: &str, organizations: &[&str]) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    let organization_oid = DnType::CustomDnType(vec![2, 5, 4, 10]);
    for (index, organization) in organizations.iter().enumerate() {
        let attribute = if index == 0 {
            DnType::OrganizationName
        } else {
            organization_oid.clone()
        };
        name.push(attribute, *organization);
    }
    name.push(DnType::CommonName, common_name);
    name
}

fn set_validity(params: &mut CertificateParams) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(365);
}

fn pki_error(error: rcgen::Error) -> Error {
    Error::Pki(error.to_string())
}

fn tls_error(error: impl std::fmt::Display) -> Error {
    Error::Tls(error.to_string())
}
