//! The node's services (`ServiceList`, `Services` resources): state, event history, health.

use std::collections::BTreeMap;

use talos_client::proto::machine::service_state_event::Action;
use time::OffsetDateTime;

/// A service keeps at most this many events, as Talos does.
const MAX_SERVICE_EVENTS: usize = 64;

/// Lifecycle states as Talos names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServiceState {
    Preparing,
    Waiting,
    Running,
    Stopping,
    Finished,
    Failed,
}

impl ServiceState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Preparing => "Preparing",
            Self::Waiting => "Waiting",
            Self::Running => "Running",
            Self::Stopping => "Stopping",
            Self::Finished => "Finished",
            Self::Failed => "Failed",
        }
    }

    pub(crate) fn event_action(self) -> Action {
        match self {
            Self::Preparing => Action::Preparing,
            Self::Waiting => Action::Waiting,
            Self::Running => Action::Running,
            Self::Stopping => Action::Stopping,
            Self::Finished => Action::Finished,
            Self::Failed => Action::Failed,
        }
    }
}

/// How a service start ended: running (or waiting), or failed and to be restarted later
/// (extension services have `restart: always`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Started,
    Failed,
}

impl Outcome {
    /// Failed when either failed.
    pub(crate) fn and(self, other: Self) -> Self {
        if self == Self::Failed || other == Self::Failed {
            Self::Failed
        } else {
            Self::Started
        }
    }
}

/// One entry of a service's history.
#[derive(Debug, Clone)]
pub(crate) struct ServiceEvent {
    pub(crate) message: String,
    pub(crate) state: ServiceState,
    pub(crate) at: OffsetDateTime,
}

/// A service and its history.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub(crate) state: ServiceState,
    pub(crate) events: Vec<ServiceEvent>,
    /// Extension services have no health check (`unknown`); system services report healthy.
    pub(crate) has_health_check: bool,
}

impl Service {
    pub(crate) fn is_running(&self) -> bool {
        self.state == ServiceState::Running
    }

    pub(crate) fn is_healthy(&self) -> bool {
        self.has_health_check && self.is_running()
    }
}

/// All services of a node, by id.
#[derive(Debug, Clone, Default)]
pub(crate) struct ServiceTable {
    services: BTreeMap<String, Service>,
}

impl ServiceTable {
    /// Records a state change; the service is created on its first change.
    pub(crate) fn transition(
        &mut self,
        id: &str,
        state: ServiceState,
        message: &str,
        at: OffsetDateTime,
    ) {
        let service = self
            .services
            .entry(id.to_owned())
            .or_insert_with(|| Service {
                state,
                events: Vec::new(),
                has_health_check: !id.starts_with("ext-"),
            });
        service.state = state;
        if service.events.len() == MAX_SERVICE_EVENTS {
            service.events.remove(0);
        }
        service.events.push(ServiceEvent {
            message: message.to_owned(),
            state,
            at,
        });
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Service> {
        self.services.get(id)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Service)> {
        self.services.iter()
    }

    pub(crate) fn ids(&self) -> Vec<String> {
        self.services.keys().cloned().collect()
    }

    /// Forgets services that no longer exist after a reboot (an extension was removed).
    pub(crate) fn clear(&mut self) {
        self.services.clear();
    }
}
