//! The sim's PKI and mTLS server behave like Talos's: Ed25519 material in Talos's encoding,
//! roles in the certificate, client certificates required and verified, connections droppable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::routing::get;
use futures::StreamExt;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use secrecy::ExposeSecret;
use sim::mtls::{ServerHandle, roles_from_certificate};
use sim::pki::{IssuedClient, LOOPBACK_SANS, Pki};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

fn der_of(cert_pem: &str) -> Vec<u8> {
    pem::parse(cert_pem).unwrap().into_contents()
}

/// A client config built the way talos-client does: only the CA as root, the label fixed.
fn client_tls(ca: &Pki, issued: Option<&IssuedClient>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.ca_der()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match issued {
        Some(issued) => {
            let key = pem::parse(issued.key_pem.expose_secret()).unwrap();
            let chain = vec![CertificateDer::from(der_of(&issued.cert_pem))];
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.into_contents()));
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    config
}

fn http_client(tls: rustls::ClientConfig) -> reqwest::Client {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn roles_of_peer(request: Request) -> String {
    request
        .extensions()
        .get::<TlsConnectInfo<TcpConnectInfo>>()
        .and_then(|info| info.peer_certs())
        .map(|certs| roles_from_certificate(&certs[0]).join(","))
        .unwrap_or_else(|| "no certificate".to_owned())
}

async fn endless() -> Body {
    Body::from_stream(
        futures::stream::once(async { Ok::<_, std::io::Error>("first chunk") })
            .chain(futures::stream::pending()),
    )
}

async fn start(pki: &Pki) -> ServerHandle {
    let router = axum::Router::new()
        .route("/roles", get(roles_of_peer))
        .route("/endless", get(endless));
    let tls = pki.server_config(LOOPBACK_SANS).unwrap();
    sim::mtls::serve(tonic::service::Routes::from(router), tls)
        .await
        .unwrap()
}

#[test]
fn client_key_uses_the_talos_ed25519_label_with_a_pkcs8_v1_body() {
    let pki = Pki::generate().unwrap();
    let issued = pki.issue_client(&["os:admin"]).unwrap();
    let key = pem::parse(issued.key_pem.expose_secret()).unwrap();
    assert_eq!(key.tag(), "ED25519 PRIVATE KEY");
    // PKCS#8 v1 Ed25519: SEQUENCE { INTEGER 0, AlgorithmIdentifier { 1.3.101.112 }, OCTET STRING }
    assert_eq!(key.contents().len(), 48);
    assert_eq!(
        &key.contents()[..16],
        &[
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20
        ]
    );
}

#[test]
fn roles_are_carried_in_the_subject_organization() {
    let pki = Pki::generate().unwrap();
    let reader = pki.issue_client(&["os:reader"]).unwrap();
    let two = pki.issue_client(&["os:reader", "os:etcd:backup"]).unwrap();
    assert_eq!(
        roles_from_certificate(&der_of(&reader.cert_pem)),
        ["os:reader"]
    );
    assert_eq!(
        roles_from_certificate(&der_of(&two.cert_pem)),
        ["os:reader", "os:etcd:backup"]
    );
}

#[test]
fn a_certificate_without_roles_is_refused() {
    let pki = Pki::generate().unwrap();
    assert!(pki.issue_client(&[]).unwrap_err().is_invalid_setup());
}

#[tokio::test]
async fn handlers_see_the_roles_of_the_client_certificate() {
    let pki = Pki::generate().unwrap();
    let server = start(&pki).await;
    let url = format!("https://{}/roles", server.addr());
    for role in ["os:admin", "os:reader"] {
        let issued = pki.issue_client(&[role]).unwrap();
        let body = http_client(client_tls(&pki, Some(&issued)))
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, role);
    }
}

#[tokio::test]
async fn a_client_without_a_certificate_is_rejected() {
    let pki = Pki::generate().unwrap();
    let server = start(&pki).await;
    let result = http_client(client_tls(&pki, None))
        .get(format!("https://{}/roles", server.addr()))
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_is_rejected() {
    let pki = Pki::generate().unwrap();
    let other = Pki::generate().unwrap();
    let server = start(&pki).await;
    let foreign = other.issue_client(&["os:admin"]).unwrap();
    // trusts the right CA for the server, but presents a certificate the server does not know
    let result = http_client(client_tls(&pki, Some(&foreign)))
        .get(format!("https://{}/roles", server.addr()))
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn a_server_from_another_ca_is_not_trusted() {
    let pki = Pki::generate().unwrap();
    let other = Pki::generate().unwrap();
    let server = start(&other).await;
    let issued = pki.issue_client(&["os:admin"]).unwrap();
    let result = http_client(client_tls(&pki, Some(&issued)))
        .get(format!("https://{}/roles", server.addr()))
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn dropping_connections_breaks_open_streams_and_new_ones_still_work() {
    let pki = Pki::generate().unwrap();
    let server = start(&pki).await;
    let issued = pki.issue_client(&["os:admin"]).unwrap();
    let client = http_client(client_tls(&pki, Some(&issued)));
    let mut stream = client
        .get(format!("https://{}/endless", server.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(&stream.chunk().await.unwrap().unwrap()[..], b"first chunk");

    server.drop_connections();

    let after_drop = tokio::time::timeout(Duration::from_secs(30), stream.chunk())
        .await
        .expect("the open stream must end when connections are dropped");
    assert!(matches!(after_drop, Ok(None) | Err(_)), "{after_drop:?}");
    let fresh = http_client(client_tls(&pki, Some(&issued)))
        .get(format!("https://{}/roles", server.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.text().await.unwrap(), "os:admin");
}

#[tokio::test]
async fn shutdown_stops_accepting_connections() {
    let pki = Pki::generate().unwrap();
    let server = start(&pki).await;
    let addr = server.addr();
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
