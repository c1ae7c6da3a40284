//! Minimal, verifiable edits of hand-written YAML: a tree that remembers where each scalar
//! starts ([`tree`]) and text splices at those positions ([`edit`]), so that comments,
//! ordering, quoting and every line an edit does not own stay byte for byte as they were.
//!
//! Callers re-parse the edited text and compare it with the intended change (the
//! machine-config image edit and the GitOps repository edits do).
//!
//! ```
//! use sdk_support::yaml_text::{edit, tree};
//!
//! let text = "# pinned\nversion: v1.10.4 # renovate\n";
//! let root = tree::parse(text).unwrap().unwrap();
//! let (_, value) = root.entry("version").unwrap();
//! let value = value.as_scalar().unwrap();
//! let end = edit::scalar_end(text, value).unwrap();
//! let edited = edit::Edit::replace(value.start..end, "v1.11.0").apply(text);
//! assert_eq!(edited, "# pinned\nversion: v1.11.0 # renovate\n");
//! ```

pub mod edit;
pub mod tree;

pub use yaml_rust2::scanner::{ScanError, TScalarStyle};
