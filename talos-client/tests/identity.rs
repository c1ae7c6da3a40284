//! ClientIdentity: PEM decoding, key/certificate checks, roles and the mTLS configuration.
#![allow(clippy::unwrap_used)]

mod identity_pki;

use std::sync::Arc;

use identity_pki::{TestCa, fixture, with_upstream_ed25519_label};
use rcgen::KeyPair;
use talos_client::identity::{ClientIdentity, IdentityError, IdentityProblem, Role};

fn problem(err: &IdentityError) -> (&str, &IdentityProblem) {
    (err.field().unwrap(), err.problem().unwrap())
}

#[test]
fn upstream_ed25519_key_label_is_accepted() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);
    let upstream_key = with_upstream_ed25519_label(&client.key_pem);
    assert!(upstream_key.starts_with("-----BEGIN ED25519 PRIVATE KEY-----"));

    let identity = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        client.cert_pem.as_bytes(),
        upstream_key.as_bytes(),
    )
    .unwrap();

    assert!(identity.roles().contains(&Role::Admin));
    identity.tls_config().unwrap();
}

#[test]
fn pkcs8_ecdsa_key_is_accepted() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:reader"], &rcgen::PKCS_ECDSA_P256_SHA256);
    let identity = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        client.cert_pem.as_bytes(),
        client.key_pem.as_bytes(),
    )
    .unwrap();
    assert!(identity.roles().contains(&Role::Reader));
}

#[test]
fn sec1_ec_key_is_accepted() {
    let ca = TestCa::ed25519();
    let key = KeyPair::from_pem(&fixture("ec-pkcs8.key")).unwrap();
    let cert = ca.client_cert(&["os:admin"], &key, None);
    let sec1 = fixture("ec-sec1.key");
    assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));

    ClientIdentity::from_pem(ca.pem.as_bytes(), cert.as_bytes(), sec1.as_bytes())
        .unwrap()
        .tls_config()
        .unwrap();
}

#[test]
fn pkcs1_rsa_key_is_accepted() {
    let ca = TestCa::ed25519();
    let key = KeyPair::from_pem_and_sign_algo(&fixture("rsa-pkcs8.key"), &rcgen::PKCS_RSA_SHA256)
        .unwrap();
    let cert = ca.client_cert(&["os:admin"], &key, None);
    let pkcs1 = fixture("rsa-pkcs1.key");
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));

    ClientIdentity::from_pem(ca.pem.as_bytes(), cert.as_bytes(), pkcs1.as_bytes())
        .unwrap()
        .tls_config()
        .unwrap();
}

#[test]
fn roles_come_from_every_subject_organization_value() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:etcd:backup", "team:blue"], &rcgen::PKCS_ED25519);
    let identity = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        client.cert_pem.as_bytes(),
        client.key_pem.as_bytes(),
    )
    .unwrap();

    let roles: Vec<Role> = identity.roles().iter().cloned().collect();
    assert_eq!(
        roles,
        vec![Role::EtcdBackup, Role::Other("team:blue".to_owned())]
    );
    assert_eq!(identity.roles().to_string(), "os:etcd:backup, team:blue");
    assert!(!identity.roles().contains(&Role::Admin));
}

#[test]
fn key_of_another_certificate_is_rejected() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);
    let other = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);

    let err = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        client.cert_pem.as_bytes(),
        other.key_pem.as_bytes(),
    )
    .unwrap_err();

    assert_eq!(problem(&err), ("key", &IdentityProblem::KeyMismatch));
    assert!(
        err.to_string()
            .contains("does not match the client certificate"),
        "{err}"
    );
}

#[test]
fn key_of_another_algorithm_is_rejected() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);
    let ecdsa = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();

    let err = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        client.cert_pem.as_bytes(),
        ecdsa.serialize_pem().as_bytes(),
    )
    .unwrap_err();

    assert_eq!(problem(&err), ("key", &IdentityProblem::KeyMismatch));
}

#[test]
fn values_that_are_not_pem_are_rejected_naming_the_field() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);
    let garbage = b"this is not pem";

    // (field expected in the error, ca, crt, key)
    type Case<'a> = (&'a str, &'a [u8], &'a [u8], &'a [u8]);
    let cases: [Case<'_>; 3] = [
        (
            "ca",
            garbage,
            client.cert_pem.as_bytes(),
            client.key_pem.as_bytes(),
        ),
        ("crt", ca.pem.as_bytes(), garbage, client.key_pem.as_bytes()),
        (
            "key",
            ca.pem.as_bytes(),
            client.cert_pem.as_bytes(),
            garbage,
        ),
    ];
    for (field, ca_pem, cert_pem, key_pem) in cases {
        let err = ClientIdentity::from_pem(ca_pem, cert_pem, key_pem).unwrap_err();
        let (at, problem) = problem(&err);
        assert_eq!(at, field);
        assert!(matches!(problem, IdentityProblem::NotPem { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("field \"{field}\": not PEM data")),
            "{err}"
        );
    }
}

#[test]
fn certificate_field_holding_a_key_is_rejected() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);

    let err = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        client.key_pem.as_bytes(),
        client.key_pem.as_bytes(),
    )
    .unwrap_err();

    assert_eq!(problem(&err), ("crt", &IdentityProblem::NoCertificate));
}

#[test]
fn key_field_holding_a_certificate_is_rejected() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);

    let err = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        client.cert_pem.as_bytes(),
        client.cert_pem.as_bytes(),
    )
    .unwrap_err();

    assert_eq!(problem(&err), ("key", &IdentityProblem::NoPrivateKey));
}

#[test]
fn encrypted_key_is_rejected_as_unsupported() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);
    let encrypted = client
        .key_pem
        .replace("PRIVATE KEY-----", "ENCRYPTED PRIVATE KEY-----");

    let err = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        client.cert_pem.as_bytes(),
        encrypted.as_bytes(),
    )
    .unwrap_err();

    let (at, problem) = problem(&err);
    assert_eq!(at, "key");
    assert!(
        matches!(problem, IdentityProblem::UnsupportedKey { kind } if kind.contains("ENCRYPTED")),
        "{err}"
    );
}

#[test]
fn key_with_a_wrong_label_is_rejected_as_unsupported() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);
    // A PKCS#8 body under the PKCS#1 RSA label: what a hand-edited file may contain.
    let mislabelled = client
        .key_pem
        .replace("PRIVATE KEY-----", "RSA PRIVATE KEY-----");

    let err = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        client.cert_pem.as_bytes(),
        mislabelled.as_bytes(),
    )
    .unwrap_err();

    assert!(
        matches!(
            problem(&err),
            ("key", IdentityProblem::UnsupportedKey { .. })
        ),
        "{err}"
    );
}

#[test]
fn ca_field_holding_a_leaf_certificate_is_rejected() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);

    let err = ClientIdentity::from_pem(
        client.cert_pem.as_bytes(),
        client.cert_pem.as_bytes(),
        client.key_pem.as_bytes(),
    )
    .unwrap_err();

    assert_eq!(problem(&err), ("ca", &IdentityProblem::NotACa));
}

#[test]
fn expiry_of_the_client_certificate_is_reported() {
    let ca = TestCa::ed25519();
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let cert = ca.client_cert(&["os:admin"], &key, Some((2400, 1, 1)));

    let identity = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        cert.as_bytes(),
        key.serialize_pem().as_bytes(),
    )
    .unwrap();

    // 2400-01-01T00:00:00Z
    let expected = std::time::UNIX_EPOCH + std::time::Duration::from_secs(13_569_465_600);
    assert_eq!(identity.expires_at(), expected);
}

#[test]
fn expired_client_certificate_is_rejected_saying_when() {
    let ca = TestCa::ed25519();
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let cert = ca.client_cert(&["os:admin"], &key, Some((2020, 3, 14)));

    let err = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        cert.as_bytes(),
        key.serialize_pem().as_bytes(),
    )
    .unwrap_err();

    let (at, problem) = problem(&err);
    assert_eq!(at, "crt");
    assert!(
        matches!(problem, IdentityProblem::CertificateExpired { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("14 Mar 2020"), "{err}");
}

#[test]
fn debug_output_never_shows_the_key() {
    let ca = TestCa::ed25519();
    let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);
    let identity = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        client.cert_pem.as_bytes(),
        client.key_pem.as_bytes(),
    )
    .unwrap();
    let key_body: String = client.key_pem.lines().nth(1).unwrap().to_owned();

    let debug = format!("{identity:?}");

    assert!(!debug.contains(&key_body), "{debug}");
    assert!(debug.contains("redacted"), "{debug}");
}

mod handshake {
    use super::*;
    use rustls::server::WebPkiClientVerifier;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn server_config(ca: &TestCa, client_ca: &TestCa) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(client_ca.pem.as_bytes()).unwrap())
            .unwrap();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .unwrap();
        let server = ca.server_localhost();
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(server.cert_pem.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes()).unwrap(),
            )
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec()];
        Arc::new(config)
    }

    /// Runs one TLS exchange; returns the ALPN protocol the server negotiated.
    async fn exchange(
        server: Arc<rustls::ServerConfig>,
        client: Arc<rustls::ClientConfig>,
    ) -> std::io::Result<Option<Vec<u8>>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let accept = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await?;
            let mut tls = tokio_rustls::TlsAcceptor::from(server).accept(tcp).await?;
            let (_, session) = tls.get_ref();
            assert!(
                session
                    .peer_certificates()
                    .is_some_and(|certs| !certs.is_empty())
            );
            let alpn = session.alpn_protocol().map(<[u8]>::to_vec);
            tls.write_all(b"ok").await?;
            tls.shutdown().await?;
            Ok::<_, std::io::Error>(alpn)
        });
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let name = ServerName::IpAddress(addr.ip().into());
        let mut tls = tokio_rustls::TlsConnector::from(client)
            .connect(name, tcp)
            .await?;
        let mut reply = Vec::new();
        tls.read_to_end(&mut reply).await?;
        assert_eq!(reply, b"ok");
        accept.await.unwrap()
    }

    #[tokio::test]
    async fn tls_config_completes_mutual_tls_with_alpn_h2() {
        let ca = TestCa::ed25519();
        let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);
        let identity = ClientIdentity::from_pem(
            ca.pem.as_bytes(),
            client.cert_pem.as_bytes(),
            with_upstream_ed25519_label(&client.key_pem).as_bytes(),
        )
        .unwrap();

        let alpn = exchange(server_config(&ca, &ca), identity.tls_config().unwrap())
            .await
            .unwrap();

        assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    }

    #[tokio::test]
    async fn tls_config_rejects_a_server_from_another_ca() {
        let ca = TestCa::ed25519();
        let impostor = TestCa::ed25519();
        let client = ca.client(&["os:admin"], &rcgen::PKCS_ED25519);
        let identity = ClientIdentity::from_pem(
            ca.pem.as_bytes(),
            client.cert_pem.as_bytes(),
            client.key_pem.as_bytes(),
        )
        .unwrap();

        let result = exchange(
            server_config(&impostor, &ca),
            identity.tls_config().unwrap(),
        )
        .await;

        let err = result.unwrap_err();
        assert!(
            err.to_string().contains("invalid peer certificate"),
            "{err}"
        );
    }
}

#[test]
fn certificate_from_another_ca_is_rejected() {
    let ca = TestCa::ed25519();
    let other_ca = TestCa::ed25519();
    let client = other_ca.client(&["os:admin"], &rcgen::PKCS_ED25519);

    let err = ClientIdentity::from_pem(
        ca.pem.as_bytes(),
        client.cert_pem.as_bytes(),
        client.key_pem.as_bytes(),
    )
    .unwrap_err();

    assert_eq!(problem(&err), ("crt", &IdentityProblem::NotIssuedByCa));
}
