//! Ports: the traits the driver executes actions through, with rollout-core's own types.

mod error;

pub use error::{PortError, PortErrorKind};
