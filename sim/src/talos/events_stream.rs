//! `MachineService.Events`: the hello event, the requested backlog, then live events until
//! the node goes down.

use std::sync::Arc;
use std::time::Duration;

use talos_client::proto::machine::{Event, EventsRequest};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use tonic::Status;

use super::events::StoredEvent;
use super::node::Node;
use super::streams::{GrpcStream, produced};

/// Opens an event stream as Talos does: hello first, then the backlog chosen by the tail
/// options (`tail_id`, else `tail_seconds`, else `tail_events`: negative = all), then live.
pub(crate) fn stream(node: Arc<Node>, request: EventsRequest) -> Result<GrpcStream<Event>, Status> {
    let actor = request.with_actor_id.clone();
    let (backlog, mut live, boot) = node.read(|state| {
        let buffered: Vec<StoredEvent> = state.events.buffered().cloned().collect();
        (
            backlog(buffered, &request),
            state.events.subscribe(),
            state.boot.clone(),
        )
    });
    let wanted = move |event: &StoredEvent| actor.is_empty() || event.actor_id == actor;
    Ok(produced(boot, move |tx| async move {
        if tx.send(Ok(Event::default())).await.is_err() {
            return;
        }
        for event in backlog.iter().filter(|e| wanted(e)) {
            if tx.send(Ok(event.to_proto())).await.is_err() {
                return;
            }
        }
        loop {
            match live.recv().await {
                Ok(event) if wanted(&event) => {
                    if tx.send(Ok(event.to_proto())).await.is_err() {
                        return;
                    }
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
        }
    }))
}

fn backlog(buffered: Vec<StoredEvent>, request: &EventsRequest) -> Vec<StoredEvent> {
    if !request.tail_id.is_empty() {
        return buffered
            .into_iter()
            .filter(|e| e.id.as_str() > request.tail_id.as_str())
            .collect();
    }
    if request.tail_seconds > 0 {
        let window = Duration::from_secs(request.tail_seconds.unsigned_abs().into());
        let since = Instant::now().checked_sub(window);
        return buffered
            .into_iter()
            .filter(|e| since.is_none_or(|since| e.at >= since))
            .collect();
    }
    match usize::try_from(request.tail_events) {
        Err(_) => buffered,
        Ok(count) => {
            let skip = buffered.len().saturating_sub(count);
            buffered.into_iter().skip(skip).collect()
        }
    }
}
