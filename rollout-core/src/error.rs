//! The crate's error type: what went wrong and what the user can do next.

/// Everything that can go wrong in the pure core: bad input, refused plans, and requests the
/// state machine cannot honour.
///
/// Messages are lower-case, carry no secrets and say what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The rollout spec is invalid; nothing was changed.
    #[error("invalid rollout spec: {field}: {reason}")]
    InvalidSpec {
        /// The offending field (dotted path).
        field: String,
        /// Why it is invalid and how to fix it.
        reason: String,
    },
    /// An extension profile's settings or configuration are invalid; nothing was changed.
    #[error("invalid {profile} configuration: {reason}")]
    InvalidExtensionConfig {
        /// The profile (`tailscale`, `nut-client`, ...).
        profile: String,
        /// Why it is invalid and how to fix it.
        reason: String,
    },
    /// The planner refused the rollout for a node.
    #[error("plan refused for node {node}: {reason}")]
    PlanRefused {
        /// Node the refusal is about.
        node: String,
        /// Why, and what to change.
        reason: String,
    },
    /// The schematic resolver could not produce a target schematic.
    #[error("cannot resolve the target schematic: {reason}")]
    SchematicResolution {
        /// Why, and what to change.
        reason: String,
    },
    /// A rollback was asked for a node the rollout never changed (or already rolled back).
    #[error("nothing to roll back on node {node}: {reason}")]
    NothingToRollBack {
        /// Node.
        node: String,
        /// Why.
        reason: String,
    },
    /// A node named on input is not part of the plan.
    #[error("node {node} is not part of the plan; check the node name against `plan()` output")]
    UnknownNode {
        /// The name that was given.
        node: String,
    },
}

impl Error {
    /// True when the error is about bad input (spec, tailscale config, plan) and nothing was changed.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidSpec { .. }
                | Error::InvalidExtensionConfig { .. }
                | Error::PlanRefused { .. }
                | Error::SchematicResolution { .. }
                | Error::UnknownNode { .. }
                | Error::NothingToRollBack { .. }
        )
    }

    /// An invalid-spec error naming the field (dotted path) and the fix.
    pub fn spec(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidSpec {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An invalid-configuration error for a profile (for profile crates and the front door).
    pub fn extension_config(profile: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidExtensionConfig {
            profile: profile.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias for the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
