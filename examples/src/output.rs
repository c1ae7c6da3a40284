//! Rendering results: human text by default, JSON with `--json`.

use std::io::IsTerminal as _;

use serde::Serialize;

use crate::target::TargetKind;

/// The output flags every tool takes.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Print machine-readable JSON on stdout instead of text (streams print one object per line).
    #[arg(long, global = true)]
    pub json: bool,
}

/// Where and how a tool prints its results.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
    target: Option<TargetKind>,
}

impl Output {
    /// From the parsed flags; JSON documents carry no `"target"` until [`Self::on`].
    pub fn new(args: &OutputArgs) -> Self {
        Output {
            json: args.json,
            target: None,
        }
    }

    /// The same output for a tool acting on `target`: every JSON document then carries
    /// `"target": "real" | "embedded-sim"`.
    #[must_use]
    pub fn on(self, target: TargetKind) -> Self {
        Output {
            target: Some(target),
            ..self
        }
    }

    /// True when printing JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints a whole result: pretty JSON, or the text `human` renders.
    pub fn result<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        if self.json {
            match self
                .document(value)
                .and_then(|doc| serde_json::to_string_pretty(&doc))
            {
                Ok(text) => println!("{text}"),
                Err(error) => eprintln!("error: cannot render JSON: {error}"),
            }
        } else {
            print!("{}", human(value));
        }
    }

    /// Prints one item of a stream: one JSON line, or the text `human` renders.
    pub fn item<T: Serialize>(&self, value: &T, human: impl FnOnce(&T) -> String) {
        if self.json {
            match self
                .document(value)
                .and_then(|doc| serde_json::to_string(&doc))
            {
                Ok(text) => println!("{text}"),
                Err(error) => eprintln!("error: cannot render JSON: {error}"),
            }
        } else {
            print!("{}", human(value));
        }
    }

    /// `value` as a JSON document with the target added: an object gains a `"target"`
    /// member; anything else is wrapped as `{"target", "result"}`.
    fn document<T: Serialize>(&self, value: &T) -> serde_json::Result<serde_json::Value> {
        let value = serde_json::to_value(value)?;
        let Some(target) = self.target else {
            return Ok(value);
        };
        let target = serde_json::to_value(target)?;
        Ok(match value {
            serde_json::Value::Object(mut object) => {
                object.insert("target".to_owned(), target);
                serde_json::Value::Object(object)
            }
            other => serde_json::json!({"target": target, "result": other}),
        })
    }

    /// A progress note on stderr (text mode only, so JSON on stdout stays clean).
    pub fn note(&self, message: impl AsRef<str>) {
        if !self.json {
            eprintln!("{}", message.as_ref());
        }
    }
}

/// Renders rows as an aligned text table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (index, cell) in cells.iter().enumerate() {
            let width = widths.get(index).copied().unwrap_or(0);
            if index + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text.trim_end().to_owned() + "\n"
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

/// The first 12 characters of an ID (schematic IDs are 64 hex characters).
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Starts logging to stderr, filtered by `RUST_LOG` (default: warnings only); colours only
/// when stderr is a terminal, so logs written to files and pipes carry no ANSI codes.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // A second initialisation (tests calling twice) is harmless, so its error is ignored.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
