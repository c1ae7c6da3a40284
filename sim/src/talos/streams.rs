//! Server-streaming helpers: finite streams, producer tasks, and ending a stream with
//! `Unavailable` when the node goes down.

use std::future::Future;
use std::pin::Pin;

use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::Status;

/// A boxed response stream.
pub(crate) type GrpcStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// What a client sees on a stream whose node went down (apid lost its backend).
pub(crate) fn node_went_down() -> Status {
    Status::unavailable("error reading from server: EOF")
}

/// A stream of ready items that then ends.
pub(crate) fn finite<T: Send + 'static>(items: Vec<T>) -> GrpcStream<T> {
    Box::pin(futures::stream::iter(items.into_iter().map(Ok)))
}

/// A stream fed by `producer`; it fails with `Unavailable` as soon as `boot` is cancelled,
/// and the producer stops when the client goes away.
pub(crate) fn produced<T, F, Fut>(boot: CancellationToken, producer: F) -> GrpcStream<T>
where
    T: Send + 'static,
    F: FnOnce(mpsc::Sender<Result<T, Status>>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(64);
    let down = tx.clone();
    let work = producer(tx);
    tokio::spawn(async move {
        tokio::select! {
            () = work => {}
            () = down.closed() => {}
            () = boot.cancelled() => {
                // The receiver may be gone already (client hung up).
                let _ = down.send(Err(node_went_down())).await;
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}
