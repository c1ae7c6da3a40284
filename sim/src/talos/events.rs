//! The node's event buffer (what `MachineService.Events` serves) and the Talos event payloads.

use std::collections::VecDeque;

use prost::Message;
use prost_types::Any;
use talos_client::proto::machine::{
    self, MachineStatusEvent, PhaseEvent, SequenceEvent, ServiceStateEvent, TaskEvent,
    machine_status_event,
};
use tokio::sync::broadcast;
use tokio::time::Instant;

/// How many events a node keeps (Talos keeps 1000; the buffer is lost on reboot).
const BUFFER_CAPACITY: usize = 1000;

/// One emitted event.
#[derive(Debug, Clone)]
pub(crate) struct StoredEvent {
    pub(crate) id: String,
    pub(crate) actor_id: String,
    pub(crate) payload: Any,
    pub(crate) at: Instant,
}

impl StoredEvent {
    pub(crate) fn to_proto(&self) -> machine::Event {
        machine::Event {
            metadata: None,
            data: Some(self.payload.clone()),
            id: self.id.clone(),
            actor_id: self.actor_id.clone(),
        }
    }
}

/// The buffered events of the current boot plus a live feed.
#[derive(Debug)]
pub(crate) struct EventLog {
    buffer: VecDeque<StoredEvent>,
    next_sequence: u64,
    live: broadcast::Sender<StoredEvent>,
}

impl EventLog {
    pub(crate) fn new() -> Self {
        let (live, _) = broadcast::channel(BUFFER_CAPACITY);
        Self {
            buffer: VecDeque::new(),
            next_sequence: 1,
            live,
        }
    }

    /// Appends an event and publishes it to open streams.
    pub(crate) fn push(&mut self, actor_id: &str, payload: Any) {
        // IDs sort like xids: later events always compare greater, across reboots too.
        let event = StoredEvent {
            id: format!("{:020}", self.next_sequence),
            actor_id: actor_id.to_owned(),
            payload,
            at: Instant::now(),
        };
        self.next_sequence += 1;
        if self.buffer.len() == BUFFER_CAPACITY {
            self.buffer.pop_front();
        }
        self.buffer.push_back(event.clone());
        // No open stream is not an error.
        let _ = self.live.send(event);
    }

    /// Forgets the buffer (a reboot loses it); IDs keep increasing.
    pub(crate) fn clear(&mut self) {
        self.buffer.clear();
    }

    /// The buffered events, oldest first.
    pub(crate) fn buffered(&self) -> impl Iterator<Item = &StoredEvent> {
        self.buffer.iter()
    }

    /// A receiver for events pushed from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<StoredEvent> {
        self.live.subscribe()
    }
}

fn payload(type_name: &str, message: &impl Message) -> Any {
    Any {
        type_url: format!("talos/runtime/machine.{type_name}"),
        value: message.encode_to_vec(),
    }
}

pub(crate) fn sequence(name: &str, action: machine::sequence_event::Action) -> Any {
    payload(
        "SequenceEvent",
        &SequenceEvent {
            sequence: name.to_owned(),
            action: action.into(),
            error: None,
        },
    )
}

/// A sequence that stopped with `error` (Talos reports the failure in the stop event).
pub(crate) fn sequence_failed(name: &str, error: &str) -> Any {
    payload(
        "SequenceEvent",
        &SequenceEvent {
            sequence: name.to_owned(),
            action: machine::sequence_event::Action::Stop.into(),
            error: Some(talos_client::proto::common::Error {
                code: talos_client::proto::common::Code::Fatal.into(),
                message: error.to_owned(),
                details: Vec::new(),
            }),
        },
    )
}

pub(crate) fn phase(name: &str, action: machine::phase_event::Action) -> Any {
    payload(
        "PhaseEvent",
        &PhaseEvent {
            phase: name.to_owned(),
            action: action.into(),
        },
    )
}

pub(crate) fn task(name: &str, action: machine::task_event::Action) -> Any {
    payload(
        "TaskEvent",
        &TaskEvent {
            task: name.to_owned(),
            action: action.into(),
        },
    )
}

pub(crate) fn service_state(
    service: &str,
    action: machine::service_state_event::Action,
    message: &str,
) -> Any {
    payload(
        "ServiceStateEvent",
        &ServiceStateEvent {
            service: service.to_owned(),
            action: action.into(),
            message: message.to_owned(),
            health: Some(machine::ServiceHealth {
                unknown: true,
                ..Default::default()
            }),
        },
    )
}

pub(crate) fn machine_status(stage: machine_status_event::MachineStage, ready: bool) -> Any {
    let unmet_conditions = if ready {
        Vec::new()
    } else {
        vec![machine_status_event::machine_status::UnmetCondition {
            name: "services".to_owned(),
            reason: "some services are not running yet".to_owned(),
        }]
    };
    payload(
        "MachineStatusEvent",
        &MachineStatusEvent {
            stage: stage.into(),
            status: Some(machine_status_event::MachineStatus {
                ready,
                unmet_conditions,
            }),
        },
    )
}
