//! Test PKI: a Talos-like CA and client/server certificates generated with rcgen at test time.
#![allow(dead_code, clippy::unwrap_used)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SignatureAlgorithm,
};

/// OID of the Subject Organization attribute, used to add a second `O` value
/// (rcgen keeps one value per attribute type).
const ORGANIZATION_OID: [u64; 4] = [2, 5, 4, 10];

/// A certificate authority that issues test certificates.
pub(crate) struct TestCa {
    pub(crate) pem: String,
    params: CertificateParams,
    key: KeyPair,
}

/// A certificate and the PEM of its private key.
pub(crate) struct Issued {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

impl TestCa {
    /// An Ed25519 CA, as Talos generates by default.
    pub(crate) fn ed25519() -> Self {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "talos");
        let pem = params.self_signed(&key).unwrap().pem();
        Self { pem, params, key }
    }

    /// A client certificate whose Subject Organization lists `roles`, with a fresh key.
    pub(crate) fn client(&self, roles: &[&str], alg: &'static SignatureAlgorithm) -> Issued {
        let key = KeyPair::generate_for(alg).unwrap();
        let cert_pem = self.client_cert(roles, &key, None);
        Issued {
            cert_pem,
            key_pem: key.serialize_pem(),
        }
    }

    /// A client certificate for an existing key, optionally expiring at `not_after`.
    /// At most two roles: rcgen keeps one value per attribute type, so the second `O`
    /// is written under the Organization OID as a custom attribute.
    pub(crate) fn client_cert(
        &self,
        roles: &[&str],
        key: &KeyPair,
        not_after: Option<(i32, u8, u8)>,
    ) -> String {
        assert!(
            roles.len() <= 2,
            "rcgen can write at most two Organization values"
        );
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        for (index, role) in roles.iter().enumerate() {
            let ty = if index == 0 {
                DnType::OrganizationName
            } else {
                DnType::CustomDnType(ORGANIZATION_OID.to_vec())
            };
            params.distinguished_name.push(ty, *role);
        }
        if let Some((year, month, day)) = not_after {
            params.not_before = rcgen::date_time_ymd(year - 1, month, day);
            params.not_after = rcgen::date_time_ymd(year, month, day);
        }
        let issuer = Issuer::from_params(&self.params, &self.key);
        params.signed_by(key, &issuer).unwrap().pem()
    }

    /// A server certificate for 127.0.0.1.
    pub(crate) fn server_localhost(&self) -> Issued {
        let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert_pem = params.signed_by(&key, &issuer).unwrap().pem();
        Issued {
            cert_pem,
            key_pem: key.serialize_pem(),
        }
    }
}

/// Re-labels a PKCS#8 PEM key the way Talos writes Ed25519 keys.
pub(crate) fn with_upstream_ed25519_label(pkcs8_pem: &str) -> String {
    pkcs8_pem.replace("PRIVATE KEY-----", "ED25519 PRIVATE KEY-----")
}

/// A fixture file from `tests/fixtures/config`.
pub(crate) fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/config/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

/// Base64 of a PEM text, as talosconfig stores `ca`, `crt` and `key`.
pub(crate) fn b64(pem: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(pem)
}

/// A CA and an admin client as the three base64 talosconfig values (`ca`, `crt`, `key`),
/// with the key under the upstream Ed25519 label.
pub(crate) struct TalosconfigValues {
    pub(crate) ca: String,
    pub(crate) crt: String,
    pub(crate) key: String,
}

impl TalosconfigValues {
    pub(crate) fn admin() -> Self {
        Self::with_roles(&["os:admin"])
    }

    pub(crate) fn with_roles(roles: &[&str]) -> Self {
        let ca = TestCa::ed25519();
        let client = ca.client(roles, &rcgen::PKCS_ED25519);
        Self {
            ca: b64(&ca.pem),
            crt: b64(&client.cert_pem),
            key: b64(&with_upstream_ed25519_label(&client.key_pem)),
        }
    }

    /// The body of a context (indented for `contexts.<name>`), with these values.
    pub(crate) fn context_yaml(&self, endpoints: &str) -> String {
        format!(
            "    endpoints: {endpoints}\n    ca: {}\n    crt: {}\n    key: {}\n",
            self.ca, self.crt, self.key
        )
    }
}
