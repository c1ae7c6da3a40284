//! Renders a rollout's [`Event`] stream: indicatif bars on a terminal, plain lines
//! otherwise, JSON lines with `--json`; the library's [`EventLog`] records what the report
//! needs meanwhile.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use talos_rollout::core::RolloutEvent;
use talos_rollout::core::machine::Phase;
use talos_rollout::driver::EventStream;
use talos_rollout::report::EventLog;
use talos_rollout::{Event, RunEvent};

use crate::output::Output;

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
    let mut counter = Counter::default();
    while let Some(event) = events.next().await {
        log.record(&event, Instant::now());
        let finished = counter.count(&event);
        match &mut view {
            View::Json => output.item(&event, |_| String::new()),
            View::Bars(bars) => bars.show(&event, &counter),
            View::Lines => {
                if let Some(line) = describe(&event) {
                    eprintln!("{line}");
                }
                if finished {
                    eprintln!("{}", counter.describe());
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

/// How many of the plan's nodes reached a final phase: the overall "n of N".
#[derive(Default)]
struct Counter {
    total: usize,
    finished: usize,
}

impl Counter {
    /// Counts `event`; true when it finished a node.
    fn count(&mut self, event: &Event) -> bool {
        match event {
            Event::Run(RunEvent::Plan(plan)) => {
                self.total = plan.nodes.len();
                self.finished = 0;
                false
            }
            Event::Rollout(RolloutEvent::PhaseChanged { from, to, .. })
                if to.is_terminal() && !from.is_terminal() =>
            {
                self.finished += 1;
                true
            }
            _ => false,
        }
    }

    fn describe(&self) -> String {
        format!("{} of {} nodes finished", self.finished, self.total)
    }
}

struct Bars {
    multi: MultiProgress,
    overall: Option<ProgressBar>,
    nodes: BTreeMap<String, ProgressBar>,
}

impl Default for Bars {
    fn default() -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            overall: None,
            nodes: BTreeMap::new(),
        }
    }
}

impl Bars {
    fn show(&mut self, event: &Event, counter: &Counter) {
        if let Some(overall) = &self.overall {
            overall.set_position(u64::try_from(counter.finished).unwrap_or(u64::MAX));
            overall.set_message(counter.describe());
        }
        match event {
            Event::Run(RunEvent::Plan(plan)) => {
                let overall = self.multi.add(ProgressBar::new(
                    u64::try_from(plan.nodes.len()).unwrap_or(u64::MAX),
                ));
                overall.set_style(
                    ProgressStyle::with_template("{bar:30} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                overall.set_message(counter.describe());
                self.overall = Some(overall);
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
        if let Some(overall) = &self.overall {
            overall.abandon();
        }
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
        RunEvent::CredentialWithdrawn { id } => Some(format!("withdrew credential {id}")),
        RunEvent::NothingToDo { plan } => Some(format!(
            "nothing to do: all {} node(s) of {} already run {} (no key minted, nothing written)",
            plan.nodes.len(),
            plan.cluster,
            plan.profile
        )),
        RunEvent::OriginalRecorded { node, path } => Some(format!(
            "recorded what {node} runs originally in {}",
            path.display()
        )),
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
