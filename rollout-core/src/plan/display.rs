//! Human-readable plan table.

use std::fmt;

use super::{NodeAction, Plan};
use crate::facts::NodeRole;

fn short(id: Option<&str>) -> &str {
    match id {
        Some(id) => id.get(..12).unwrap_or(id),
        None => "-",
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "#   NODE         ROLE          ACTION      VERSION           SCHEMATIC                   ESC"
        )?;
        for (index, node) in self.nodes.iter().enumerate() {
            let role = match (node.role, node.etcd_leader) {
                (NodeRole::ControlPlane, true) => "control*",
                (NodeRole::ControlPlane, false) => "control",
                (NodeRole::Worker, _) => "worker",
            };
            let action = match &node.action {
                NodeAction::Upgrade => "upgrade",
                NodeAction::ConfigOnly => "config-only",
                NodeAction::Skip { .. } => "skip",
            };
            let version = if node.from.version == node.to.version {
                node.to.version.clone()
            } else {
                format!("{}→{}", node.from.version, node.to.version)
            };
            let schematic = format!(
                "{}→{}",
                short(node.from.schematic_id.as_deref()),
                short(node.to.schematic_id.as_deref())
            );
            let esc = match &node.extension.esc {
                Some(esc) if esc.changed => format!("{} (new {})", esc.name, esc.digest),
                Some(esc) => format!("{} (unchanged)", esc.name),
                None => "-".to_owned(),
            };
            writeln!(
                f,
                "{:<3} {:<12} {:<13} {:<11} {:<17} {:<27} {}",
                index + 1,
                node.node,
                role,
                action,
                version,
                schematic,
                esc
            )?;
            if let NodeAction::Skip { reason } = &node.action {
                writeln!(f, "    skip: {reason}")?;
            }
            if node.drained(self.settings.drain) {
                writeln!(
                    f,
                    "    kubernetes: cordon, drain before the reboot; uncordon after verification"
                )?;
            }
        }
        writeln!(f, "(* = etcd leader, rolled last among the control plane)")?;
        for schematic in &self.schematics {
            writeln!(
                f,
                "schematic {}: {}",
                short(Some(&schematic.id)),
                schematic.extensions.join(", ")
            )?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        Ok(())
    }
}
