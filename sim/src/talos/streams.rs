//! Server-streaming helpers: finite streams, chunked data, producer tasks, and ending a
//! stream when the node goes down (`Unavailable`, or a plain end after an abrupt reboot).

use std::future::Future;
use std::pin::Pin;

use futures::Stream;
use talos_client::proto::common::Data;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::boot::Boot;

/// Chunk size of streamed data; chunks deliberately ignore line boundaries, as Talos's do.
const CHUNK: usize = 100;

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

/// `bytes` as `Data` messages of at most 100 bytes each.
pub(crate) fn chunks(bytes: &[u8]) -> Vec<Data> {
    bytes
        .chunks(CHUNK)
        .map(|chunk| Data {
            metadata: None,
            bytes: chunk.to_vec(),
        })
        .collect()
}

/// A stream fed by `producer`; when `boot` ends it fails with `Unavailable` (or simply
/// ends, after an abrupt reboot), and the producer stops when the client goes away.
pub(crate) fn produced<T, F, Fut>(boot: Boot, producer: F) -> GrpcStream<T>
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
            () = boot.ended() => {
                // The receiver may be gone already (client hung up).
                if !boot.ended_abruptly() {
                    let _ = down.send(Err(node_went_down())).await;
                }
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}
