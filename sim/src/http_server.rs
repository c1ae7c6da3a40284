//! Serving an axum router on a loopback port: plain HTTP (the factory and tailnet fakes) or
//! HTTPS with client certificates (the Kubernetes API fake), with `TCP_NODELAY` on every
//! connection.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

use crate::Error;

/// How long a client may take to finish its TLS handshake before it is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// A running loopback HTTP server. Dropping it stops the server.
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    scheme: &'static str,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Serves `router` over plain HTTP on `127.0.0.1:<free port>`.
    pub(crate) async fn start(router: axum::Router) -> Result<Self, Error> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let listener = listener.tap_io(|tcp| set_nodelay(tcp));
        Ok(Self::serve(listener, addr, "http", router))
    }

    /// Serves `router` over TLS with `tls` (which decides whether client certificates are
    /// required) on `127.0.0.1:<free port>`.
    pub(crate) async fn start_tls(
        router: axum::Router,
        tls: Arc<rustls::ServerConfig>,
    ) -> Result<Self, Error> {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = tcp.local_addr()?;
        let listener = TlsListener {
            tcp,
            acceptor: TlsAcceptor::from(tls),
        };
        Ok(Self::serve(listener, addr, "https", router))
    }

    fn serve<L>(listener: L, addr: SocketAddr, scheme: &'static str, router: axum::Router) -> Self
    where
        L: axum::serve::Listener<Addr = SocketAddr>,
    {
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::warn!(%error, "sim HTTP server stopped with an error");
            }
        });
        Self {
            addr,
            scheme,
            shutdown,
            task: Some(task),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, `http://127.0.0.1:<port>` (or `https://…` when served over TLS).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        let Some(task) = self.task.take() else {
            return;
        };
        if let Err(error) = task.await {
            tracing::warn!(%error, "sim HTTP server task failed");
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Accepts TCP connections and completes their TLS handshakes; failed handshakes (a client
/// without a certificate, a wrong CA) are logged and dropped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, peer) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::debug!(%error, "sim HTTPS accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            set_nodelay(&stream);
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, peer),
                Ok(Err(error)) => tracing::debug!(%error, %peer, "sim TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "sim TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Small request/response exchanges must not wait for Nagle's algorithm (~40 ms each).
fn set_nodelay(tcp: &TcpStream) {
    if let Err(error) = tcp.set_nodelay(true) {
        tracing::debug!(%error, "sim HTTP server could not set TCP_NODELAY");
    }
}
