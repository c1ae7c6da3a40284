//! Exit statuses shared by every tool, and turning a tool's result into one.

use std::fmt;
use std::process::ExitCode;

/// Everything worked (or, for `status`, every node is healthy).
pub const SUCCESS: u8 = 0;
/// The operation failed, or (for `status`) a node is unhealthy.
pub const FAILURE: u8 = 1;
/// The input was invalid; nothing was changed. Clap uses the same status for bad flags.
pub const INVALID_INPUT: u8 = 2;
/// The state could not be read (for `status`: a node or API did not answer).
pub const UNKNOWN: u8 = 3;

/// An error that means "the user asked for something impossible": exits with
/// [`INVALID_INPUT`] instead of [`FAILURE`].
#[derive(Debug)]
pub struct InvalidInput(pub String);

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidInput {}

/// Shorthand for an [`InvalidInput`] error.
pub fn invalid_input(message: impl Into<String>) -> anyhow::Error {
    InvalidInput(message.into()).into()
}

/// Prints the error chain on stderr and maps the result to the process exit status.
pub fn finish(result: anyhow::Result<u8>) -> ExitCode {
    match result {
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            eprintln!("error: {error:#}");
            let invalid = error.downcast_ref::<InvalidInput>().is_some()
                || error
                    .downcast_ref::<talos_rollout::Error>()
                    .is_some_and(talos_rollout::Error::is_invalid_input)
                || error
                    .downcast_ref::<talos_rollout::core::Error>()
                    .is_some_and(talos_rollout::core::Error::is_invalid_input);
            let status = if invalid { INVALID_INPUT } else { FAILURE };
            ExitCode::from(status)
        }
    }
}
