//! The iSCSI tools profile: `siderolabs/iscsi-tools`, which needs no config; Verify checks
//! that its `ext-iscsid` service runs.

use async_trait::async_trait;
use rollout_core::extension::NodeCheck;
use rollout_core::gate::CheckResult;
use rollout_core::plan::NodePlan;
use rollout_core::{NodeExtension, NodeFacts, PortError, PortErrorKind};

use crate::profile::{Credential, ExtensionProfile};

/// The official extension.
pub const EXTENSION: &str = "siderolabs/iscsi-tools";
/// The service the extension runs.
pub const SERVICE: &str = "ext-iscsid";

/// Rolls `siderolabs/iscsi-tools` out (for Longhorn, OpenEBS and other iSCSI storage).
///
/// # Usage
/// ```
/// use talos_rollout::profile::ExtensionProfile;
/// use talos_rollout::profiles::IscsiToolsProfile;
/// assert_eq!(IscsiToolsProfile.extensions(), ["siderolabs/iscsi-tools"]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct IscsiToolsProfile;

#[async_trait]
impl ExtensionProfile for IscsiToolsProfile {
    fn name(&self) -> &str {
        "iscsi-tools"
    }

    fn extensions(&self) -> Vec<String> {
        vec![EXTENSION.to_owned()]
    }

    fn node_extension(
        &self,
        _facts: &NodeFacts,
        _credential: Option<&Credential>,
    ) -> rollout_core::Result<NodeExtension> {
        Ok(NodeExtension {
            node_checks: vec![NodeCheck::ServiceRunning {
                service: SERVICE.to_owned(),
            }],
            ..NodeExtension::default()
        })
    }

    async fn check(&self, name: &str, _node: &NodePlan) -> CheckResult {
        CheckResult {
            name: name.to_owned(),
            passed: false,
            detail: "the iscsi-tools profile has no named checks".to_owned(),
        }
    }

    async fn act(&self, action: &str, _node: &NodePlan) -> Result<(), PortError> {
        Err(PortError::new(
            "iscsi-tools",
            action,
            PortErrorKind::Unsupported,
            "the iscsi-tools profile has no actions",
        ))
    }
}
