//! HTTPS: a factory whose certificate is not trusted is refused at once, not retried.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use factory_client::{Backoff, Error, FactoryClient};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A TLS server with a fresh self-signed certificate for 127.0.0.1 that counts the
/// connections it accepts; returns its base URL and the counter.
async fn untrusted_https_server() -> (String, Arc<AtomicUsize>) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key_der =
        rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key_der)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _handshake_fails = acceptor.accept(tcp).await;
            });
        }
    });
    (format!("https://{addr}"), connections)
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error_that_is_not_retried() {
    let (url, connections) = untrusted_https_server().await;
    let factory = FactoryClient::builder()
        .base_url(url)
        .retry(Backoff::new(Duration::from_millis(1), Duration::from_millis(5)).with_max_retries(3))
        .build()
        .unwrap();

    let err = factory.versions().await.unwrap_err();

    assert!(matches!(err, Error::Tls { .. }), "{err}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("certificate"), "{err}");
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}
