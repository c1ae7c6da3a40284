//! Shared mechanics of the SDK's clients, each written once: the retry policy
//! ([`backoff`]), the `Retry-After` reader ([`retry_after`]), the private-file writer
//! ([`private_file`]), the plain-http rule for base URLs ([`cleartext`]), the bounds parsers
//! apply to untrusted text ([`limits`]) and minimal edits of hand-written YAML ([`yaml_text`]).
//!
//! The default build has no async runtime; the `tokio` feature adds
//! `backoff::retry` on tokio's timer.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use sdk_support::{backoff::Backoff, retry_after};
//!
//! let policy = Backoff::default();
//! let asked = retry_after::parse("2", SystemTime::now(), policy.retry_after_cap());
//! let computed = policy.delays().next();
//! assert_eq!(policy.honour_retry_after(computed, asked), Some(Duration::from_secs(2)));
//! ```

pub mod backoff;
pub mod cleartext;
pub mod limits;
pub mod private_file;
pub mod retry_after;
pub mod yaml_text;
