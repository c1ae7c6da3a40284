//! A plan together with the secret configs it was computed from.

use std::collections::BTreeMap;
use std::fmt;

use super::Plan;
use crate::esc::{ExtensionServiceConfig, digest, redacted_environment};

/// Each node's `ExtensionServiceConfig` (they hold secrets: `Debug` shows names and redacted
/// environments only).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NodeConfigs(BTreeMap<String, ExtensionServiceConfig>);

impl NodeConfigs {
    /// Configs keyed by node.
    pub fn new(configs: BTreeMap<String, ExtensionServiceConfig>) -> Self {
        NodeConfigs(configs)
    }

    /// The config for `node`, if it gets one.
    pub fn get(&self, node: &str) -> Option<&ExtensionServiceConfig> {
        self.0.get(node)
    }

    /// Every (node, config) pair.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &ExtensionServiceConfig)> {
        self.0.iter()
    }

    /// Checks that these are exactly the configs `plan` was computed from: every node the
    /// plan gives a config has one here with the planned digest, and there are no others.
    ///
    /// # Errors
    /// [`crate::Error::InvalidExtensionConfig`] naming the first node that differs.
    pub fn check_against(&self, plan: &Plan) -> crate::Result<()> {
        let mismatch = |node: &str, what: &str| {
            crate::Error::extension_config(
                &plan.profile,
                format!(
                    "{node}: {what}; a plan only runs with the configs it was computed from (plan again, or \
                     resume with the patches the plan was written with)"
                ),
            )
        };
        for node in &plan.nodes {
            match (&node.extension.esc, self.0.get(&node.node)) {
                (Some(planned), Some(config)) if digest(config) == planned.digest => {}
                (Some(_), Some(_)) => {
                    return Err(mismatch(
                        &node.node,
                        "the config differs from the planned one",
                    ));
                }
                (Some(_), None) => {
                    return Err(mismatch(&node.node, "the planned config is missing"));
                }
                (None, Some(_)) => {
                    return Err(mismatch(
                        &node.node,
                        "a config was given that the plan does not have",
                    ));
                }
                (None, None) => {}
            }
        }
        if let Some(extra) = self.0.keys().find(|name| plan.node(name).is_none()) {
            return Err(crate::Error::UnknownNode {
                node: extra.clone(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for NodeConfigs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.0
                    .iter()
                    .map(|(node, config)| (node, (&config.name, redacted_environment(config)))),
            )
            .finish()
    }
}

/// A plan and the configs it was computed from; the only way to run a plan with configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The public plan (journaled, printed; no secrets).
    pub plan: Plan,
    configs: NodeConfigs,
}

impl Planned {
    /// Pairs a plan with its configs after checking that they match.
    ///
    /// # Errors
    /// As [`NodeConfigs::check_against`].
    pub fn new(plan: Plan, configs: NodeConfigs) -> crate::Result<Self> {
        configs.check_against(&plan)?;
        Ok(Planned { plan, configs })
    }

    /// The per-node configs.
    pub fn configs(&self) -> &NodeConfigs {
        &self.configs
    }

    /// Splits into the plan and its configs.
    pub fn into_parts(self) -> (Plan, NodeConfigs) {
        (self.plan, self.configs)
    }
}
