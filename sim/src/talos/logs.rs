//! `MachineService.Logs`: a service's log in chunks that are not line-aligned, `tail_lines`
//! semantics (`-1` all, `0` nothing), and `follow` until the node goes down.

use std::sync::Arc;

use talos_client::proto::common::{ContainerDriver, Data};
use talos_client::proto::machine::LogsRequest;
use tonic::Status;

use super::node::Node;
use super::streams::{GrpcStream, chunks, finite, produced};

pub(crate) fn stream(node: Arc<Node>, request: LogsRequest) -> Result<GrpcStream<Data>, Status> {
    let id = request.id.clone();
    let system =
        request.namespace == "system" && request.driver == i32::from(ContainerDriver::Containerd);
    let (known, content, boot) = node.read(|state| {
        (
            state.services.get(&id).is_some() || state.logs.contains_key(&id),
            state.logs.get(&id).cloned().unwrap_or_default(),
            state.boot.clone(),
        )
    });
    if !system || !known {
        return Err(Status::not_found(format!("log {id:?} was not registered")));
    }
    let initial = chunks(tail(&content, request.tail_lines));
    if !request.follow {
        return Ok(finite(initial));
    }
    let mut changes = node.changes();
    let mut offset = content.len();
    Ok(produced(boot, move |tx| async move {
        for chunk in initial {
            if tx.send(Ok(chunk)).await.is_err() {
                return;
            }
        }
        while changes.changed().await.is_ok() {
            let fresh = node.read(|state| {
                state
                    .logs
                    .get(&id)
                    .and_then(|log| log.get(offset..))
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default()
            });
            offset += fresh.len();
            for chunk in chunks(&fresh) {
                if tx.send(Ok(chunk)).await.is_err() {
                    return;
                }
            }
        }
    }))
}

/// The last `lines` lines (`< 0`: everything, `0`: nothing).
fn tail(content: &[u8], lines: i32) -> &[u8] {
    let Ok(wanted) = usize::try_from(lines) else {
        return content;
    };
    if wanted == 0 {
        return &[];
    }
    let body = content.strip_suffix(b"\n").unwrap_or(content);
    let start = body
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, byte)| **byte == b'\n')
        .nth(wanted - 1)
        .map_or(0, |(index, _)| index + 1);
    &content[start..]
}

#[cfg(test)]
mod tests {
    use super::tail;

    #[test]
    fn tail_lines_follow_talos_semantics() {
        let log = b"one\ntwo\nthree\n";
        assert_eq!(tail(log, -1), log);
        assert_eq!(tail(log, 0), b"");
        assert_eq!(tail(log, 2), b"two\nthree\n");
        assert_eq!(tail(log, 9), log);
    }
}
