//! [`EventLog`]: what a rollout's event stream says about each node — phase timings,
//! failures, diagnoses — plus the plan, the discovered facts and the warnings, for reports.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rollout_core::machine::{NodeFailure, Phase};
use rollout_core::{ClusterFacts, Plan, RolloutEvent};
use serde::Serialize;

use crate::diagnosis::Diagnosis;
use crate::event::{Event, RunEvent};
use crate::ports::DrainReport;

/// One phase a node went through and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseTiming {
    /// The phase.
    pub phase: String,
    /// Seconds spent in it.
    pub seconds: f64,
}

/// What happened to one node while the events were rendered.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeTimeline {
    /// Last phase seen.
    pub phase: Option<String>,
    /// Seconds from leaving Pending to the last terminal phase.
    pub seconds: Option<f64>,
    /// Phases in order with their durations.
    pub phases: Vec<PhaseTiming>,
    /// Why the node failed, if it did.
    pub failure: Option<NodeFailure>,
    /// The driver's diagnosis of that failure.
    pub diagnosis: Option<Diagnosis>,
    /// What the node's drain did (only when the rollout drained it).
    pub drain: Option<DrainReport>,
    #[serde(skip)]
    started: Option<Instant>,
    #[serde(skip)]
    entered: Option<(Phase, Instant)>,
}

/// Everything recorded from one event stream.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventLog {
    /// Per node.
    pub nodes: BTreeMap<String, NodeTimeline>,
    /// Warnings, with their node when they have one.
    pub warnings: Vec<String>,
    /// The plan the driver ran (or resumed).
    #[serde(skip)]
    pub plan: Option<Plan>,
    /// What discovery saw.
    #[serde(skip)]
    pub facts: Option<ClusterFacts>,
    /// True when the run found every node converged and did nothing.
    pub nothing_to_do: bool,
}

impl EventLog {
    /// Records one event seen at `now`.
    pub fn record(&mut self, event: &Event, now: Instant) {
        let event = match event {
            Event::Rollout(event) => event,
            Event::Run(RunEvent::Plan(plan)) => {
                self.plan = Some((**plan).clone());
                return;
            }
            Event::Run(RunEvent::NothingToDo { plan }) => {
                self.plan = Some((**plan).clone());
                self.nothing_to_do = true;
                return;
            }
            Event::Run(RunEvent::Diagnosis(diagnosis)) => {
                self.nodes
                    .entry(diagnosis.node.clone())
                    .or_default()
                    .diagnosis = Some((**diagnosis).clone());
                return;
            }
            Event::Run(RunEvent::Drained { node, report }) => {
                self.nodes.entry(node.clone()).or_default().drain = Some(report.clone());
                return;
            }
            Event::Run(RunEvent::Discovered { facts }) => {
                self.facts = Some((**facts).clone());
                return;
            }
            Event::Run(RunEvent::Note { message }) => {
                self.warnings.push(message.clone());
                return;
            }
            _ => return,
        };
        match event {
            RolloutEvent::PhaseChanged { node, to, .. } => {
                let timeline = self.nodes.entry(node.clone()).or_default();
                if let Some((phase, since)) = timeline.entered.take() {
                    timeline.phases.push(PhaseTiming {
                        phase: phase.to_string(),
                        seconds: round(now.duration_since(since)),
                    });
                }
                if *to != Phase::Pending {
                    timeline.started.get_or_insert(now);
                }
                if to.is_terminal() {
                    timeline.seconds = timeline
                        .started
                        .map(|start| round(now.duration_since(start)));
                } else {
                    timeline.entered = Some((*to, now));
                }
                timeline.phase = Some(to.to_string());
            }
            RolloutEvent::NodeFailed { node, failure } => {
                self.nodes.entry(node.clone()).or_default().failure = Some(failure.clone());
            }
            RolloutEvent::Warning { node, message } => self.warnings.push(match node {
                Some(node) => format!("{node}: {message}"),
                None => message.clone(),
            }),
            _ => {}
        }
    }
}

/// Seconds to one decimal, as every timing in the report.
pub(crate) fn round(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10.0).round() / 10.0
}
