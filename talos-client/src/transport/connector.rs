//! The TCP → rustls connector behind each tonic channel.
//!
//! The server name verified is the endpoint host (an IP SAN when the endpoint is an IP
//! address), with the identity's CA as the only trust anchor. There is deliberately no way
//! to turn verification off. A resolve override ([`crate::TalosClientBuilder::resolve`])
//! changes only where the TCP connection goes, never the name verified.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::config::Endpoint;

/// Connects to one endpoint over TCP and performs the mutual-TLS handshake.
#[derive(Clone)]
pub(crate) struct TlsConnector {
    address: Endpoint,
    /// Where to connect instead of resolving the endpoint host.
    resolved: Option<SocketAddr>,
    tls: tokio_rustls::TlsConnector,
}

impl TlsConnector {
    pub(crate) fn new(
        address: Endpoint,
        resolved: Option<SocketAddr>,
        tls: Arc<rustls::ClientConfig>,
    ) -> Self {
        Self {
            address,
            resolved,
            tls: tokio_rustls::TlsConnector::from(tls),
        }
    }
}

impl tower::Service<http::Uri> for TlsConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: http::Uri) -> Self::Future {
        let address = self.address.clone();
        let resolved = self.resolved;
        let tls = self.tls.clone();
        Box::pin(async move {
            let server_name = ServerName::try_from(address.host().to_owned()).map_err(|err| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is not a valid TLS server name: {err}", address.host()),
                )
            })?;
            let tcp = match resolved {
                Some(socket) => TcpStream::connect(socket).await?,
                None => TcpStream::connect(address.to_string()).await?,
            };
            tcp.set_nodelay(true)?;
            let stream = tls.connect(server_name, tcp).await?;
            Ok(TokioIo::new(stream))
        })
    }
}
