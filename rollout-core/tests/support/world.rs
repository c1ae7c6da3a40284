//! A pure model of a Talos cluster + tailnet that answers the state machine's actions the way
//! the real system does: reboots take the node down for a while and give it a new boot ID,
//! the new image is staged by install and only runs after a reboot (A/B), the tailnet device
//! appears a few checks after the node is back, routes need approval, failures have real shapes.
//! The Tailscale profile's named checks and its action are answered by name (see
//! [`super::tailscale_post_verify`]); an unknown name fails the test.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{BTreeMap, VecDeque};

use rollout_core::extension::PostVerifyStep;
use rollout_core::gate::{CheckResult, GateStage, GateVerdict};
use rollout_core::machine::{
    Action, BootProbe, LiveNode, NodeRequest, Observation, Outcome, RollbackMethod, Step,
};
use rollout_core::plan::Plan;
use rollout_core::{EscDigest, PortError, PortErrorKind};

use super::{APPROVE_ROUTES, DEVICE_ONLINE, ROUTES_ADVERTISED, ROUTES_APPROVED};

/// What "same end state" compares for one node: name, running image, install image, ESCs,
/// reboots, routes approved.
pub type Fingerprint = (
    String,
    Image,
    Option<String>,
    BTreeMap<String, EscDigest>,
    u32,
    bool,
    bool,
);

/// Injected trouble for one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The call fails with a retryable `Unavailable`.
    Transient,
    /// The call fails for good.
    Fatal,
    /// A gate check sees its condition false this time.
    GateFalse,
    /// The call is carried out but its answer is lost (dropped connection, client time limit).
    LostReply,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub version: String,
    pub schematic_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimNode {
    pub running: Image,
    /// The other boot entry (A/B).
    pub previous: Option<Image>,
    /// What the next reboot boots (after an install).
    pub staged: Option<Image>,
    pub install_image: Option<String>,
    pub escs: BTreeMap<String, EscDigest>,
    pub boot_seq: u32,
    pub down_probes: u32,
    pub tailnet_checks_until_online: u32,
    pub routes_approved: bool,
    pub backup: Option<(Option<String>, BTreeMap<String, EscDigest>)>,
    /// The node boots the new image without the extension (a broken schematic).
    pub broken_upgrade: bool,
    /// Once rebooted, the node stays down for good.
    pub never_returns_after_reboot: bool,
    /// How many boot probes a legacy upgrade keeps the node up and busy (stage upgrading,
    /// not ready) before it reboots by itself, as real nodes do while the installer runs.
    pub legacy_upgrade_probes: u32,
    /// Probes left of a legacy upgrade in progress; while it runs, another install, reboot
    /// or rollback is refused as busy ("sequence upgrade is already running").
    pub upgrading: u32,
    /// Cordoned in Kubernetes (by the rollout).
    pub cordoned: bool,
}

impl SimNode {
    fn boot_id(&self) -> String {
        format!("boot-{}", self.boot_seq)
    }

    fn reboot(&mut self) {
        self.boot_seq += 1;
        self.down_probes = if self.never_returns_after_reboot {
            u32::MAX
        } else {
            2
        };
        self.tailnet_checks_until_online = 2;
        self.routes_approved = false;
        if let Some(staged) = self.staged.take() {
            let old = std::mem::replace(&mut self.running, staged);
            self.previous = Some(old);
        }
    }
}

impl SimNode {
    /// The legacy upgrade accepted: busy for a while, then the node reboots by itself.
    fn start_legacy_upgrade(&mut self) {
        if self.legacy_upgrade_probes == 0 {
            self.reboot();
        } else {
            self.upgrading = self.legacy_upgrade_probes;
        }
    }
}

pub struct World {
    pub plan: Plan,
    pub nodes: BTreeMap<String, SimNode>,
    pub faults: VecDeque<Fault>,
    /// Every node action performed: (node, request).
    pub performed: Vec<(String, NodeRequest)>,
    /// Node actions that took effect (whether or not their answer arrived).
    pub effective: Vec<(String, NodeRequest)>,
    /// Steps refused for good on a node, every time (a drain a budget blocks).
    pub refused: Vec<(String, Step)>,
}

impl World {
    pub fn new(plan: &Plan) -> Self {
        let nodes = plan
            .nodes
            .iter()
            .map(|node| {
                let running = Image {
                    version: node.from.version.clone(),
                    schematic_id: node.from.schematic_id.clone(),
                };
                let escs = match (&node.extension.esc, node.is_skipped()) {
                    (Some(esc), true) => BTreeMap::from([(esc.name.clone(), esc.digest.clone())]),
                    _ => BTreeMap::new(),
                };
                let running = if node.is_skipped() {
                    Image {
                        version: node.to.version.clone(),
                        schematic_id: node.to.schematic_id.clone(),
                    }
                } else {
                    running
                };
                let sim = SimNode {
                    running,
                    previous: None,
                    staged: None,
                    install_image: node.from.install_image.clone(),
                    escs,
                    boot_seq: 0,
                    down_probes: 0,
                    tailnet_checks_until_online: 2,
                    routes_approved: false,
                    backup: None,
                    broken_upgrade: false,
                    never_returns_after_reboot: false,
                    legacy_upgrade_probes: 0,
                    upgrading: 0,
                    cordoned: false,
                };
                (node.node.clone(), sim)
            })
            .collect();
        World {
            plan: plan.clone(),
            nodes,
            faults: VecDeque::new(),
            refused: Vec::new(),
            performed: Vec::new(),
            effective: Vec::new(),
        }
    }

    pub fn live(&self) -> BTreeMap<String, LiveNode> {
        self.nodes
            .iter()
            .filter(|(_, node)| node.down_probes == 0)
            .map(|(name, node)| (name.clone(), live_of(node)))
            .collect()
    }

    fn image_for(&self, reference: &str) -> Image {
        for node in &self.plan.nodes {
            if node.to.install_image.as_deref() == Some(reference) {
                return Image {
                    version: node.to.version.clone(),
                    schematic_id: node.to.schematic_id.clone(),
                };
            }
            if node.from.install_image.as_deref() == Some(reference) {
                return Image {
                    version: node.from.version.clone(),
                    schematic_id: node.from.schematic_id.clone(),
                };
            }
        }
        panic!("unknown image {reference}");
    }

    /// Whether an install on `node` reboots it by itself, as the legacy `MachineService.Upgrade`
    /// of every Talos before the 1.13 lifecycle API does.
    pub fn installs_reboot(&self, node: &str) -> bool {
        let version = &self.plan.node(node).unwrap().from.version;
        !talos_client::version::supports_lifecycle_api(version)
    }

    /// Performs an action and returns what the driver would observe.
    pub fn perform(&mut self, action: &Action) -> Observation {
        let fault = self.faults.pop_front().unwrap_or(Fault::None);
        match action {
            Action::EnsureSchematic { schematic, .. } => {
                let result = match fault {
                    Fault::Transient => Err(unavailable("factory", "create schematic")),
                    _ => Ok(schematic.id.clone()),
                };
                Observation::SchematicEnsured {
                    expected_id: schematic.id.clone(),
                    result,
                }
            }
            Action::Node { node, request, .. } => {
                self.performed.push((node.clone(), request.clone()));
                let step = request.step();
                let mut result = self.perform_node(node, request, fault);
                if result.is_ok() {
                    self.effective.push((node.clone(), request.clone()));
                }
                if fault == Fault::LostReply {
                    result = Err(unavailable("talos", "call"));
                }
                Observation::Node {
                    node: node.clone(),
                    step,
                    result,
                }
            }
        }
    }

    fn perform_node(
        &mut self,
        name: &str,
        request: &NodeRequest,
        fault: Fault,
    ) -> Result<Outcome, PortError> {
        let plan = self.plan.node(name).unwrap().clone();
        let sim_is_down = self.nodes[name].down_probes > 0;
        if request.step() == Step::ProbeBoot {
            let node = self.nodes.get_mut(name).unwrap();
            if node.upgrading > 0 && fault != Fault::Transient {
                node.upgrading -= 1;
                if node.upgrading == 0 {
                    node.reboot();
                } else {
                    return Ok(Outcome::BootProbed(BootProbe::Up {
                        boot_id: node.boot_id(),
                        ready: false,
                    }));
                }
            }
            if node.down_probes > 0 || fault == Fault::Transient {
                node.down_probes = node.down_probes.saturating_sub(1);
                return Ok(Outcome::BootProbed(BootProbe::Down {
                    reason: "connection refused".into(),
                }));
            }
            return Ok(Outcome::BootProbed(BootProbe::Up {
                boot_id: node.boot_id(),
                ready: true,
            }));
        }
        if sim_is_down || fault == Fault::Transient {
            // Any call against a rebooting node fails; the node comes back after a few of them.
            let node = self.nodes.get_mut(name).unwrap();
            node.down_probes = node.down_probes.saturating_sub(1);
            return Err(unavailable("talos", "call"));
        }
        let refused = self.refused.contains(&(name.to_owned(), request.step()));
        if fault == Fault::Fatal || refused {
            return Err(PortError::new(
                "talos",
                "call",
                PortErrorKind::Rejected,
                "rejected by the node",
            ));
        }
        let reboots_node = matches!(
            request,
            NodeRequest::Install { .. } | NodeRequest::Reboot | NodeRequest::BootPrevious { .. }
        );
        if reboots_node && self.nodes[name].upgrading > 0 {
            return Err(busy());
        }
        let image_for = |reference: &str| self.image_for(reference);
        let mut done = Outcome::Done {
            reboot_started: false,
        };
        match request {
            NodeRequest::Inspect => return Ok(Outcome::Inspected(live_of(&self.nodes[name]))),
            NodeRequest::CheckGate {
                stage,
                expected_down,
            } => {
                let verdict = self.gate(name, *stage, expected_down, fault);
                return Ok(Outcome::GateChecked(verdict));
            }
            NodeRequest::BackupConfig => {
                let node = self.nodes.get_mut(name).unwrap();
                node.backup = Some((node.install_image.clone(), node.escs.clone()));
            }
            NodeRequest::ApplyConfig {
                install_image,
                esc_name,
            } => {
                let esc = plan.extension.esc.clone();
                let node = self.nodes.get_mut(name).unwrap();
                if let Some(image) = install_image {
                    node.install_image = Some(image.clone());
                }
                if let (Some(_), Some(esc)) = (esc_name, esc) {
                    node.escs.insert(esc.name, esc.digest);
                }
            }
            NodeRequest::Install { image } => {
                let mut staged = image_for(image);
                let reboots = self.installs_reboot(name);
                let node = self.nodes.get_mut(name).unwrap();
                if node.broken_upgrade {
                    staged.schematic_id = Some("broken".into());
                }
                node.staged = Some(staged);
                if reboots {
                    node.start_legacy_upgrade();
                    done = Outcome::Done {
                        reboot_started: true,
                    };
                }
            }
            NodeRequest::Reboot => self.nodes.get_mut(name).unwrap().reboot(),
            NodeRequest::ExtensionAction { action } => {
                assert_eq!(action, APPROVE_ROUTES, "{name}: unknown extension action");
                let node = self.nodes.get_mut(name).unwrap();
                assert_eq!(
                    node.tailnet_checks_until_online, 0,
                    "{name}: routes approved before the device was seen online"
                );
                node.routes_approved = true;
            }
            NodeRequest::RestoreConfig => {
                let node = self.nodes.get_mut(name).unwrap();
                let (image, escs) = node.backup.clone().expect("restore without a backup");
                node.install_image = image;
                node.escs = escs;
            }
            NodeRequest::BootPrevious { method } => match method {
                RollbackMethod::RollbackRpc => {
                    let node = self.nodes.get_mut(name).unwrap();
                    node.staged = node.previous.clone();
                    node.reboot();
                    done = Outcome::Done {
                        reboot_started: true,
                    };
                }
                RollbackMethod::Reinstall { image } => {
                    let staged = image_for(image);
                    let reboots = self.installs_reboot(name);
                    let node = self.nodes.get_mut(name).unwrap();
                    node.staged = Some(staged);
                    if reboots {
                        node.start_legacy_upgrade();
                        done = Outcome::Done {
                            reboot_started: true,
                        };
                    }
                }
            },
            NodeRequest::Cordon => self.nodes.get_mut(name).unwrap().cordoned = true,
            NodeRequest::Uncordon => self.nodes.get_mut(name).unwrap().cordoned = false,
            NodeRequest::Drain | NodeRequest::ProbeBoot => {}
        }
        Ok(done)
    }

    fn gate(
        &mut self,
        name: &str,
        stage: GateStage,
        expected_down: &[String],
        fault: Fault,
    ) -> GateVerdict {
        // The cluster health check sees every node it is asked about: all but the ones the
        // rollout declared expected to be down.
        let cluster_healthy = self
            .nodes
            .iter()
            .all(|(node, state)| state.down_probes == 0 || expected_down.contains(node));
        let plan = self.plan.node(name).unwrap().clone();
        let node = self.nodes.get_mut(name).unwrap();
        let mut checks = Vec::new();
        let mut check = |name: &str, passed: bool| {
            checks.push(CheckResult {
                name: name.into(),
                passed,
                detail: String::new(),
            })
        };
        match stage {
            GateStage::Precheck => check("cluster healthy", cluster_healthy),
            GateStage::Verify | GateStage::Soak => {
                check("version", node.running.version == plan.to.version);
                check(
                    "schematic",
                    node.running.schematic_id == plan.to.schematic_id,
                );
                let esc_ok = plan
                    .extension
                    .esc
                    .as_ref()
                    .is_none_or(|esc| node.escs.get(&esc.name) == Some(&esc.digest));
                check("esc applied", esc_ok);
                if stage == GateStage::Soak {
                    for name in &plan.extension.soak_checks {
                        check(name, named_check(node, name));
                    }
                }
            }
            GateStage::PostVerify(index) => {
                let Some(PostVerifyStep::Check { checks }) =
                    plan.extension.post_verify.get(usize::from(index))
                else {
                    panic!("{name}: post-verify gate {index} is not a check step of the plan");
                };
                for name in checks {
                    check(name, named_check(node, name));
                }
            }
            GateStage::RollbackVerify => {
                check(
                    "original version",
                    node.running.version == plan.from.version,
                );
                check(
                    "original schematic",
                    node.running.schematic_id == plan.from.schematic_id,
                );
            }
        }
        if fault == Fault::GateFalse {
            checks.push(CheckResult {
                name: "injected".into(),
                passed: false,
                detail: "fault".into(),
            });
        }
        GateVerdict {
            passed: checks.iter().all(|c| c.passed),
            checks,
        }
    }

    /// (running image, install image, escs, boot count) per node: what "same end state" compares.
    pub fn fingerprint(&self) -> Vec<Fingerprint> {
        self.nodes
            .iter()
            .map(|(name, node)| {
                (
                    name.clone(),
                    node.running.clone(),
                    node.install_image.clone(),
                    node.escs.clone(),
                    node.boot_seq,
                    node.routes_approved,
                    node.cordoned,
                )
            })
            .collect()
    }
}

/// Answers one of the Tailscale profile's named checks the way the tailnet would: the device
/// shows up online (with its routes) a few checks after the node is back.
fn named_check(node: &mut SimNode, name: &str) -> bool {
    match name {
        DEVICE_ONLINE => {
            let online = node.tailnet_checks_until_online == 0;
            node.tailnet_checks_until_online = node.tailnet_checks_until_online.saturating_sub(1);
            online
        }
        ROUTES_ADVERTISED => node.tailnet_checks_until_online == 0,
        ROUTES_APPROVED => node.routes_approved,
        other => panic!("unknown named check {other:?}"),
    }
}

fn live_of(node: &SimNode) -> LiveNode {
    LiveNode {
        boot_id: Some(node.boot_id()),
        version: node.running.version.clone(),
        schematic_id: node.running.schematic_id.clone(),
        install_image: node.install_image.clone(),
        extension_service_configs: node.escs.clone(),
    }
}

pub fn unavailable(port: &str, operation: &str) -> PortError {
    PortError::new(
        port,
        operation,
        PortErrorKind::Unavailable,
        "connection refused; the node may be rebooting",
    )
}

/// What a Talos node answers while it runs a sequence: `FailedPrecondition` "sequence ... is
/// already running".
pub fn busy() -> PortError {
    PortError::new(
        "talos",
        "call",
        PortErrorKind::Busy,
        "failed to acquire lock: sequence \"upgrade\" is already running",
    )
}
