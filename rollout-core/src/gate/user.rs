//! User checks: asynchronous, user-provided checks (storage health, application probes) that
//! gates reference by name with [`super::conditions::user`].

use async_trait::async_trait;

use crate::machine::CheckResult;
use crate::plan::NodePlan;

/// A check the user provides; the driver evaluates it before the gates that name it.
///
/// # Usage
/// ```
/// use async_trait::async_trait;
/// use rollout_core::gate::UserCheck;
/// use rollout_core::machine::CheckResult;
/// use rollout_core::plan::NodePlan;
///
/// struct CephHealthy;
///
/// #[async_trait]
/// impl UserCheck for CephHealthy {
///     fn name(&self) -> &str { "ceph-healthy" }
///     async fn check(&self, _node: &NodePlan) -> CheckResult {
///         CheckResult { name: "ceph-healthy".into(), passed: true, detail: "HEALTH_OK".into() }
///     }
/// }
/// ```
#[async_trait]
pub trait UserCheck: Send + Sync {
    /// The name gates and the spec refer to.
    fn name(&self) -> &str;

    /// Evaluates the check for a node (it should bound its own time).
    async fn check(&self, node: &NodePlan) -> CheckResult;
}
