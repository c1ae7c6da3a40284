//! `Events`: the node's runtime event stream, decoded into typed payloads.

use std::time::Duration;

use futures::stream::{BoxStream, StreamExt};
use prost::Message;

use crate::client::{NodeClient, machine_api};
use crate::error::{CallTarget, Error};
use crate::methods;
use crate::proto::machine::{
    AddressEvent, ConfigLoadErrorEvent, ConfigValidationErrorEvent, Event, EventsRequest,
    MachineStatusEvent, PhaseEvent, RestartEvent, SequenceEvent, ServiceStateEvent, TaskEvent,
};
use crate::transport::{Failover, request};

/// Prefix of every event payload `type_url` (not `type.googleapis.com/`).
const TYPE_URL_PREFIX: &str = "talos/runtime/";

/// Which already-buffered events to replay before live ones (the node keeps up to 1000
/// since its last boot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventsTail {
    /// Only events that happen from now on.
    None,
    /// Every buffered event, then live ones.
    All,
    /// The last N buffered events.
    Last(u32),
    /// Buffered events of the last given duration (whole seconds).
    Since(Duration),
    /// Buffered events after the event with this id.
    AfterId(String),
}

/// The stage of a machine's lifecycle (events and the `MachineStatuses` resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MachineStage {
    /// Not known.
    Unknown,
    /// Booting.
    Booting,
    /// Installing Talos.
    Installing,
    /// Waiting in maintenance mode.
    Maintenance,
    /// Running.
    Running,
    /// Rebooting.
    Rebooting,
    /// Shutting down.
    ShuttingDown,
    /// Resetting.
    Resetting,
    /// Upgrading.
    Upgrading,
}

impl MachineStage {
    /// Maps the wire value shared by `MachineStatusEvent` and `MachineStatusSpec`.
    pub(crate) fn from_wire(stage: i32) -> Self {
        match stage {
            1 => Self::Booting,
            2 => Self::Installing,
            3 => Self::Maintenance,
            4 => Self::Running,
            5 => Self::Rebooting,
            6 => Self::ShuttingDown,
            7 => Self::Resetting,
            8 => Self::Upgrading,
            _ => Self::Unknown,
        }
    }
}

/// The decoded payload of a runtime event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventPayload {
    /// A sequence (boot, reboot, upgrade, …) started or stopped, possibly with an error.
    Sequence(SequenceEvent),
    /// A phase of a sequence started or stopped.
    Phase(PhaseEvent),
    /// A task of a phase started or stopped.
    Task(TaskEvent),
    /// A service changed state.
    ServiceState(ServiceStateEvent),
    /// The machine's stage or readiness changed.
    MachineStatus(MachineStatusEvent),
    /// A restart was requested.
    Restart(RestartEvent),
    /// The configuration failed to load.
    ConfigLoadError(ConfigLoadErrorEvent),
    /// The configuration failed validation.
    ConfigValidationError(ConfigValidationErrorEvent),
    /// The node's addresses changed.
    Address(AddressEvent),
    /// A payload type this client does not decode.
    Other {
        /// The payload's full type name (after `talos/runtime/`).
        type_name: String,
    },
}

/// One event from a node.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineEvent {
    /// Event id (an xid, ordered); resume after it with [`EventsTail::AfterId`].
    pub id: String,
    /// Id of the action that caused it (the actor id of a reboot or upgrade), if any.
    pub actor_id: String,
    /// What happened.
    pub payload: EventPayload,
}

impl MachineEvent {
    /// True for a machine status of stage Running with `ready == true`: the node is up.
    pub fn is_running_and_ready(&self) -> bool {
        matches!(&self.payload, EventPayload::MachineStatus(status)
            if MachineStage::from_wire(status.stage) == MachineStage::Running
                && status.status.as_ref().is_some_and(|status| status.ready))
    }

    /// True when the node is about to go down: task `stopAllServices` or the `reboot`
    /// sequence (the stream will break soon).
    pub fn is_going_down(&self) -> bool {
        match &self.payload {
            EventPayload::Task(task) => task.task == "stopAllServices",
            EventPayload::Sequence(sequence) => sequence.sequence == "reboot",
            _ => false,
        }
    }

    /// The error of a failed sequence, as `sequence "name": message`.
    pub fn sequence_error(&self) -> Option<String> {
        match &self.payload {
            EventPayload::Sequence(SequenceEvent {
                sequence,
                error: Some(error),
                ..
            }) => Some(format!("sequence \"{sequence}\": {}", error.message)),
            _ => None,
        }
    }
}

impl NodeClient {
    /// The node's runtime events, filtered to `actor_id` when given. The stream stays open
    /// for live events and breaks (with an `Unavailable`-like error or a clean end) when
    /// the node goes down.
    ///
    /// # Errors
    ///
    /// Opening fails for transport or permission problems; the stream yields
    /// [`Error::Protocol`] for a payload that does not decode as its announced type.
    pub async fn events(
        &self,
        tail: EventsTail,
        actor_id: Option<&str>,
    ) -> Result<BoxStream<'static, Result<MachineEvent, Error>>, Error> {
        let context = self.context(methods::EVENTS);
        let mut message = EventsRequest {
            with_actor_id: actor_id.unwrap_or_default().to_owned(),
            ..EventsRequest::default()
        };
        match tail {
            EventsTail::None => message.tail_events = 0,
            EventsTail::All => message.tail_events = -1,
            EventsTail::Last(count) => {
                message.tail_events = i32::try_from(count).unwrap_or(i32::MAX);
            }
            EventsTail::Since(duration) => {
                message.tail_seconds = i32::try_from(duration.as_secs()).unwrap_or(i32::MAX);
            }
            EventsTail::AfterId(id) => message.tail_id = id,
        }
        let streaming = self
            .call(&context, Failover::OnUnavailable, |channel, node| {
                let message = message.clone();
                async move {
                    machine_api(channel)
                        .events(request(message, node.as_ref()))
                        .await
                }
            })
            .await?;
        let decode_context = context.clone();
        Ok(context
            .stream(streaming)
            .filter_map(move |item| {
                let decoded = item
                    .and_then(|event| decode(&decode_context.target, event))
                    .transpose();
                async move { decoded }
            })
            .boxed())
    }
}

impl MachineEvent {
    /// Decodes one message of the `Events` stream as it arrives (`None`: the empty hello
    /// event that opens every stream); `node` is the node the stream came from, named in
    /// the error.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] for a payload that does not decode as its announced type.
    pub fn from_wire(event: Event, node: Option<&str>) -> Result<Option<Self>, Error> {
        let target = CallTarget {
            method: methods::EVENTS,
            node: node.map(str::to_owned),
        };
        decode(&target, event)
    }
}

/// Decodes one event; `None` for the empty "hello" event that opens every stream.
fn decode(target: &CallTarget, event: Event) -> Result<Option<MachineEvent>, Error> {
    let Some(data) = event.data.filter(|data| !data.type_url.is_empty()) else {
        return Ok(None);
    };
    let type_name = data
        .type_url
        .strip_prefix(TYPE_URL_PREFIX)
        .unwrap_or(&data.type_url)
        .to_owned();
    let bytes = data.value.as_slice();
    let invalid = |err: prost::DecodeError| Error::Protocol {
        target: target.clone(),
        detail: format!("event payload {type_name} does not decode: {err}"),
    };
    let payload = match type_name.as_str() {
        "machine.SequenceEvent" => {
            EventPayload::Sequence(SequenceEvent::decode(bytes).map_err(invalid)?)
        }
        "machine.PhaseEvent" => EventPayload::Phase(PhaseEvent::decode(bytes).map_err(invalid)?),
        "machine.TaskEvent" => EventPayload::Task(TaskEvent::decode(bytes).map_err(invalid)?),
        "machine.ServiceStateEvent" => {
            EventPayload::ServiceState(ServiceStateEvent::decode(bytes).map_err(invalid)?)
        }
        "machine.MachineStatusEvent" => {
            EventPayload::MachineStatus(MachineStatusEvent::decode(bytes).map_err(invalid)?)
        }
        "machine.RestartEvent" => {
            EventPayload::Restart(RestartEvent::decode(bytes).map_err(invalid)?)
        }
        "machine.ConfigLoadErrorEvent" => {
            EventPayload::ConfigLoadError(ConfigLoadErrorEvent::decode(bytes).map_err(invalid)?)
        }
        "machine.ConfigValidationErrorEvent" => EventPayload::ConfigValidationError(
            ConfigValidationErrorEvent::decode(bytes).map_err(invalid)?,
        ),
        "machine.AddressEvent" => {
            EventPayload::Address(AddressEvent::decode(bytes).map_err(invalid)?)
        }
        _ => EventPayload::Other { type_name },
    };
    Ok(Some(MachineEvent {
        id: event.id,
        actor_id: event.actor_id,
        payload,
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    fn decode(event: Event) -> Result<Option<MachineEvent>, Error> {
        MachineEvent::from_wire(event, None)
    }

    fn event(type_url: &str, payload: &impl Message) -> Event {
        Event {
            metadata: None,
            data: Some(prost_types::Any {
                type_url: type_url.to_owned(),
                value: payload.encode_to_vec(),
            }),
            id: "ev1".to_owned(),
            actor_id: String::new(),
        }
    }

    #[test]
    fn the_hello_event_is_skipped() {
        assert_eq!(decode(Event::default()).unwrap(), None);
    }

    #[test]
    fn payloads_are_matched_on_the_talos_runtime_prefix_only() {
        let task = TaskEvent {
            task: "stopAllServices".to_owned(),
            action: 0,
        };
        let talos = decode(event("talos/runtime/machine.TaskEvent", &task))
            .unwrap()
            .unwrap();
        assert_eq!(talos.payload, EventPayload::Task(task.clone()));
        let google = decode(event("type.googleapis.com/machine.TaskEvent", &task))
            .unwrap()
            .unwrap();
        assert!(
            matches!(google.payload, EventPayload::Other { .. }),
            "{google:?}"
        );
    }

    #[test]
    fn a_payload_that_does_not_decode_is_a_protocol_error() {
        let garbage = Event {
            data: Some(prost_types::Any {
                type_url: "talos/runtime/machine.SequenceEvent".to_owned(),
                value: vec![0xff, 0xff, 0xff],
            }),
            ..Event::default()
        };
        let error = decode(garbage).unwrap_err();
        assert!(
            error.to_string().contains("machine.SequenceEvent"),
            "{error}"
        );
    }
}
