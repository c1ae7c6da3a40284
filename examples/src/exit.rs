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
            eprintln!("error: {}", describe(&error));
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

/// The error and its causes joined with `: `, each cause once: a cause whose text the
/// message already contains (many errors print their source themselves) is skipped.
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "cannot read roles: {}", self.0)
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn each_cause_is_printed_once() {
        let io = std::io::Error::other("permission denied");
        let error = anyhow::Error::new(Wrapper(io)).context("status failed");
        assert_eq!(
            describe(&error),
            "status failed: cannot read roles: permission denied"
        );
    }
}
