//! Serving a tonic router over mutual TLS on a loopback port, with the peer's roles visible to handlers.
//!
//! [`serve`] binds `127.0.0.1:0`, sets `TCP_NODELAY` on every connection, completes a rustls handshake per connection (the server
//! configuration decides whether a client certificate is required) and hands the TLS
//! streams to tonic. Because the streams implement tonic's `Connected` with TLS
//! information, handlers read the client certificate with `request.peer_certs()` and
//! [`peer_roles`] turns it into Talos roles. The returned [`ServerHandle`] can abruptly
//! drop every open connection, which is how the sim makes a reboot or a flaky apid
//! visible to clients.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::transport::server::{Connected, TcpConnectInfo, TlsConnectInfo};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::Error;

/// Serves `routes` over TLS with `tls` on a fresh loopback port.
///
/// # Errors
///
/// [`Error::Io`] when no loopback port can be bound.
///
/// # Usage
///
/// ```no_run
/// # async fn run(routes: tonic::service::Routes) -> Result<(), sim::Error> {
/// let pki = sim::pki::Pki::generate()?;
/// let server = sim::mtls::serve(routes, pki.server_config(sim::pki::LOOPBACK_SANS)?).await?;
/// println!("apid listening on {}", server.addr());
/// server.drop_connections(); // every open stream now fails, as when a node reboots
/// server.shutdown().await;
/// # Ok(()) }
/// ```
pub async fn serve(
    routes: tonic::service::Routes,
    tls: Arc<rustls::ServerConfig>,
) -> Result<ServerHandle, Error> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let generation = ConnectionGeneration::default();
    let (incoming_tx, incoming_rx) = mpsc::channel(64);
    tokio::spawn(accept_loop(
        listener,
        TlsAcceptor::from(tls),
        generation.clone(),
        shutdown.clone(),
        incoming_tx,
    ));
    let stop = shutdown.clone().cancelled_owned();
    let task = tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming_shutdown(ReceiverStream::new(incoming_rx), stop)
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "sim mTLS server stopped with an error");
        }
    });
    Ok(ServerHandle {
        addr,
        shutdown,
        generation,
        task: Some(task),
    })
}

/// A running mTLS server. Dropping it stops the server and closes every connection.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    shutdown: CancellationToken,
    generation: ConnectionGeneration,
    task: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The bound address (`127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Abruptly closes every open connection; new connections are accepted as before.
    ///
    /// In-flight calls and open streams fail on the client side with a transport error
    /// (tonic reports `Unavailable` or `Unknown`), exactly as when apid's node goes away.
    pub fn drop_connections(&self) {
        self.generation.drop_all();
    }

    /// A cloneable switch that drops every open connection (see [`ServerHandle::drop_connections`]).
    pub fn connection_control(&self) -> ConnectionControl {
        ConnectionControl {
            generation: self.generation.clone(),
        }
    }

    /// Stops accepting, closes every connection and waits until the server task has ended.
    pub async fn shutdown(mut self) {
        self.stop();
        let Some(task) = self.task.take() else {
            return;
        };
        if let Err(error) = task.await {
            tracing::warn!(%error, "sim mTLS server task failed");
        }
    }

    fn stop(&self) {
        self.shutdown.cancel();
        self.generation.drop_all();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Drops every open connection of one server, from anywhere (the simulated apid uses it).
#[derive(Debug, Clone)]
pub struct ConnectionControl {
    generation: ConnectionGeneration,
}

impl ConnectionControl {
    /// Abruptly closes every open connection; new connections are accepted as before.
    pub fn drop_all(&self) {
        self.generation.drop_all();
    }
}

/// The Talos roles (`os:admin`, …) in the Subject Organization of the request's client certificate.
///
/// Empty when the connection carries no client certificate or the certificate cannot be parsed.
pub fn peer_roles<T>(request: &tonic::Request<T>) -> Vec<String> {
    request
        .peer_certs()
        .and_then(|certs| certs.first().map(|leaf| roles_from_certificate(leaf)))
        .unwrap_or_default()
}

/// The Subject Organization values of a DER certificate (Talos stores one role per value).
///
/// Empty when the bytes are not a certificate.
pub fn roles_from_certificate(der: &[u8]) -> Vec<String> {
    let Ok((_, certificate)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    certificate
        .subject()
        .iter_organization()
        .filter_map(|attribute| attribute.as_str().ok().map(str::to_owned))
        .collect()
}

/// Hands out one cancellation token per "generation" of connections; dropping all
/// connections cancels the current token and starts a new generation.
#[derive(Debug, Clone, Default)]
struct ConnectionGeneration {
    current: Arc<Mutex<CancellationToken>>,
}

impl ConnectionGeneration {
    fn token(&self) -> CancellationToken {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn drop_all(&self) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current.cancel();
        *current = CancellationToken::new();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    generation: ConnectionGeneration,
    shutdown: CancellationToken,
    incoming: mpsc::Sender<std::io::Result<DroppableConnection>>,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(error) => {
                tracing::debug!(%error, "sim mTLS accept failed");
                continue;
            }
        };
        // Without it small gRPC frames wait for the peer's delayed ACK (~40 ms per call).
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "sim mTLS could not set TCP_NODELAY");
        }
        let acceptor = acceptor.clone();
        let token = generation.token();
        let incoming = incoming.clone();
        tokio::spawn(async move {
            match acceptor.accept(tcp).await {
                Ok(tls) => {
                    // The server may be gone already; then the connection is simply dropped.
                    let _ = incoming
                        .send(Ok(DroppableConnection::new(tls, token)))
                        .await;
                }
                Err(error) => tracing::debug!(%error, "sim mTLS handshake failed"),
            }
        });
    }
}

/// A server-side TLS stream that fails all I/O once its generation is dropped.
struct DroppableConnection {
    tls: TlsStream<TcpStream>,
    token: CancellationToken,
    dropped: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl DroppableConnection {
    fn new(tls: TlsStream<TcpStream>, token: CancellationToken) -> Self {
        let dropped = Box::pin(token.clone().cancelled_owned());
        Self {
            tls,
            token,
            dropped,
        }
    }

    /// Registers the task for wake-up on drop and reports whether the connection is dropped.
    fn is_dropped(&mut self, cx: &mut Context<'_>) -> bool {
        self.token.is_cancelled() || self.dropped.as_mut().poll(cx).is_ready()
    }
}

fn connection_dropped() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "connection dropped by the sim",
    )
}

impl AsyncRead for DroppableConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.is_dropped(cx) {
            return Poll::Ready(Err(connection_dropped()));
        }
        Pin::new(&mut this.tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for DroppableConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if this.is_dropped(cx) {
            return Poll::Ready(Err(connection_dropped()));
        }
        Pin::new(&mut this.tls).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.is_dropped(cx) {
            return Poll::Ready(Err(connection_dropped()));
        }
        Pin::new(&mut this.tls).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.is_dropped(cx) {
            return Poll::Ready(Err(connection_dropped()));
        }
        Pin::new(&mut this.tls).poll_shutdown(cx)
    }
}

impl Connected for DroppableConnection {
    type ConnectInfo = TlsConnectInfo<TcpConnectInfo>;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.tls.connect_info()
    }
}
