//! talosconfig: the file talosctl reads, its contexts, endpoints, nodes and client identity.

mod error;

pub use error::{ConfigError, ConfigProblem, Location};
