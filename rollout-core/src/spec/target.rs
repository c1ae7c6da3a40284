//! What the nodes should run: extensions added to their current schematic, or a whole schematic.

use serde::{Deserialize, Serialize};

/// The target schematic of the rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum TargetSchematic {
    /// Keep what each node runs and add these official extensions besides the profile's
    /// (empty: only the profile's).
    AddExtensions(Vec<String>),
    /// Replace the schematic with this one (schematic YAML as the Image Factory accepts it).
    Schematic(String),
}

impl Default for TargetSchematic {
    fn default() -> Self {
        TargetSchematic::AddExtensions(Vec::new())
    }
}

impl TargetSchematic {
    pub(crate) fn validate(&self) -> crate::Result<()> {
        match self {
            TargetSchematic::AddExtensions(extensions) => {
                for name in extensions {
                    let valid = name
                        .split_once('/')
                        .is_some_and(|(org, ext)| !org.is_empty() && !ext.is_empty())
                        && !name.contains(char::is_whitespace);
                    if !valid {
                        return Err(crate::Error::spec(
                            "target.add_extensions",
                            format!(
                                "{name:?} is not an official extension name like siderolabs/tailscale"
                            ),
                        ));
                    }
                }
                Ok(())
            }
            TargetSchematic::Schematic(yaml) if yaml.trim().is_empty() => Err(crate::Error::spec(
                "target.schematic",
                "the schematic YAML is empty",
            )),
            TargetSchematic::Schematic(_) => Ok(()),
        }
    }
}
