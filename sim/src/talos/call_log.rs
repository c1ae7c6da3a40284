//! What the simulated apid received: one record per call (the endpoint, the gRPC method,
//! every value of the `node` metadata key, the caller's roles and, for COSI calls, the
//! resource type), so tests can check what a client put on the wire.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// How many calls the log keeps (the oldest are forgotten first).
const CAPACITY: usize = 10_000;

/// One call as apid received it, before routing, RBAC or any fault decided its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedCall {
    /// Which apid endpoint received it (the index into [`crate::Sim::endpoints`]).
    pub endpoint: usize,
    /// The gRPC method path, e.g. `/machine.MachineService/Version`.
    pub method: String,
    /// Every value of the `node` metadata key, in order (empty: the endpoint's own node).
    pub node: Vec<String>,
    /// The Talos roles of the client certificate.
    pub roles: Vec<String>,
    /// The resource type a COSI call (Get, List, Watch) asked for, e.g.
    /// `BootIDs.runtime.talos.dev`; `None` for every other method.
    pub resource_type: Option<String>,
}

/// The received calls, oldest first, bounded.
#[derive(Debug, Default)]
pub(crate) struct CallLog {
    calls: Mutex<VecDeque<ReceivedCall>>,
}

impl CallLog {
    pub(crate) fn record(&self, call: ReceivedCall) {
        let mut calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        if calls.len() == CAPACITY {
            calls.pop_front();
        }
        calls.push_back(call);
    }

    pub(crate) fn snapshot(&self) -> Vec<ReceivedCall> {
        let calls = self.calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls.iter().cloned().collect()
    }
}
