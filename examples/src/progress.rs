//! Renders a rollout's [`Event`] stream: indicatif bars on a terminal, plain lines
//! otherwise, JSON lines with `--json`; and records what the report needs (per-node phase
//! timings, failures, diagnoses).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use talos_rollout::core::machine::{NodeFailure, Phase};
use talos_rollout::core::{ClusterFacts, Plan, RolloutEvent};
use talos_rollout::driver::{Diagnosis, EventStream};
use talos_rollout::{Event, RunEvent};
use serde::Serialize;

use crate::output::Output;

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
}

impl EventLog {
    fn record(&mut self, event: &Event, now: Instant) {
        let event = match event {
            Event::Rollout(event) => event,
            Event::Run(RunEvent::Plan(plan)) => {
                self.plan = Some((**plan).clone());
                return;
            }
            Event::Run(RunEvent::Diagnosis(diagnosis)) => {
                self.nodes
                    .entry(diagnosis.node.clone())
                    .or_default()
                    .diagnosis = Some((**diagnosis).clone());
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

fn round(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10.0).round() / 10.0
}

/// Consumes the stream until it ends, rendering every event; returns what was recorded.
pub async fn render_events(mut events: EventStream, output: Output) -> EventLog {
    let mut log = EventLog::default();
    let mut view = if output.is_json() {
        View::Json
    } else if std::io::stderr().is_terminal() {
        View::Bars(Bars::default())
    } else {
        View::Lines
    };
    while let Some(event) = events.next().await {
        log.record(&event, Instant::now());
        match &mut view {
            View::Json => output.item(&event, |_| String::new()),
            View::Bars(bars) => bars.show(&event),
            View::Lines => {
                if let Some(line) = describe(&event) {
                    eprintln!("{line}");
                }
            }
        }
    }
    if let View::Bars(bars) = &view {
        bars.finish();
    }
    log
}

enum View {
    Json,
    Bars(Bars),
    Lines,
}

struct Bars {
    multi: MultiProgress,
    nodes: BTreeMap<String, ProgressBar>,
}

impl Default for Bars {
    fn default() -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            nodes: BTreeMap::new(),
        }
    }
}

impl Bars {
    fn show(&mut self, event: &Event) {
        match event {
            Event::Run(RunEvent::Plan(plan)) => {
                let style =
                    ProgressStyle::with_template("{spinner} {prefix:<14} {elapsed:>4} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner());
                for node in &plan.nodes {
                    let bar = self.multi.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.set_prefix(node.node.clone());
                    bar.set_message("pending");
                    self.nodes.insert(node.node.clone(), bar);
                }
            }
            Event::Rollout(RolloutEvent::PhaseChanged { node, from, to }) => {
                if let Some(bar) = self.nodes.get(node) {
                    if *from == Phase::Pending {
                        bar.reset_elapsed();
                    }
                    if to.is_terminal() {
                        bar.finish_with_message(to.to_string());
                    } else {
                        if *to != Phase::Pending {
                            bar.enable_steady_tick(Duration::from_millis(120));
                        }
                        bar.set_message(to.to_string());
                    }
                }
            }
            Event::Rollout(RolloutEvent::GateProgress {
                node,
                stage,
                attempt,
                verdict,
            }) if !verdict.passed => {
                if let Some(bar) = self.nodes.get(node) {
                    bar.set_message(format!(
                        "{stage:?} check {attempt}: waiting for {}",
                        verdict.failing()
                    ));
                }
            }
            other => {
                if let Some(line) = describe(other) {
                    let _ = self.multi.println(line);
                }
            }
        }
    }

    fn finish(&self) {
        for bar in self.nodes.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}

/// A one-line description of an event for logs (None: not worth a line).
fn describe(event: &Event) -> Option<String> {
    match event {
        Event::Rollout(event) => describe_rollout(event),
        Event::Run(event) => describe_run(event),
        _ => None,
    }
}

fn describe_run(event: &RunEvent) -> Option<String> {
    match event {
        RunEvent::Plan(plan) => Some(format!(
            "rolling {} onto {} node(s) of {}",
            plan.profile,
            plan.nodes.len(),
            plan.cluster
        )),
        RunEvent::Diagnosis(diagnosis) => {
            let mut text = format!("diagnosis for {}:", diagnosis.node);
            for cause in &diagnosis.causes {
                text.push_str(&format!("\n  cause: {cause}"));
            }
            let service = diagnosis.service.as_deref().unwrap_or("log");
            for line in &diagnosis.log_tail {
                text.push_str(&format!("\n  {service}| {line}"));
            }
            Some(text)
        }
        RunEvent::CredentialWithdrawn { id } => {
            Some(format!("withdrew credential {id}: the rollout did not start"))
        }
        RunEvent::Note { message } => Some(format!("note: {message}")),
        _ => None,
    }
}

fn describe_rollout(event: &RolloutEvent) -> Option<String> {
    match event {
        RolloutEvent::PhaseChanged { node, from, to } => Some(format!("{node}: {from} -> {to}")),
        RolloutEvent::GateProgress {
            node,
            stage,
            attempt,
            verdict,
        } if !verdict.passed => Some(format!(
            "{node}: {stage:?} check {attempt}: waiting for {}",
            verdict.failing()
        )),
        RolloutEvent::Warning {
            node: Some(node),
            message,
        } => Some(format!("warning: {node}: {message}")),
        RolloutEvent::Warning {
            node: None,
            message,
        } => Some(format!("warning: {message}")),
        RolloutEvent::NodeFailed { node, failure } => Some(format!(
            "FAILED {node} in {}: {}",
            failure.phase, failure.reason
        )),
        RolloutEvent::Finished(summary) => Some(match &summary.halted_by {
            Some(by) => format!("finished: halted by {by}"),
            None => "finished".to_owned(),
        }),
        _ => None,
    }
}
