//! Performs one action through the ports and turns the result into an observation.

use std::sync::Arc;
use std::time::Duration;

use rollout_core::machine::{Action, BootProbe, NodeRequest, Observation, Outcome, RollbackMethod};
use rollout_core::{PortError, PortErrorKind};

use super::Inner;
use crate::event::RunEvent;
use crate::ports::ConfigChange;

fn artifacts_error(operation: &str, error: crate::Error) -> PortError {
    let message = error.to_string();
    PortError::new("artifacts", operation, PortErrorKind::Other, message).with_source(error)
}

fn done() -> Outcome {
    Outcome::Done {
        reboot_started: false,
    }
}

impl Inner {
    /// Runs `action` with its time limit; a limit hit is an `Unavailable` failure.
    pub(crate) async fn perform(self: Arc<Self>, action: Action) -> Observation {
        match action {
            Action::EnsureSchematic { schematic, timeout } => {
                let call = self.ports.factory.ensure_schematic(&schematic.yaml);
                let result = self
                    .limit(timeout, "factory", "register schematic", call)
                    .await;
                Observation::SchematicEnsured {
                    expected_id: schematic.id,
                    result,
                }
            }
            Action::Node {
                node,
                request,
                timeout,
            } => {
                let step = request.step();
                if let Some(kill_at) = &self.kill_at {
                    let node = node.clone();
                    kill_at.hit(&super::KillPoint::BeforeCall { step, node });
                }
                let result = self
                    .limit(timeout, "node", "step", self.perform_node(&node, request))
                    .await;
                if let Some(kill_at) = &self.kill_at {
                    let node = node.clone();
                    kill_at.hit(&super::KillPoint::AfterCall { step, node });
                }
                Observation::Node { node, step, result }
            }
        }
    }

    async fn limit<T>(
        &self,
        timeout: Duration,
        port: &str,
        operation: &str,
        call: impl std::future::Future<Output = Result<T, PortError>>,
    ) -> Result<T, PortError> {
        tokio::select! {
            result = call => result,
            () = self.ports.clock.sleep(timeout) => Err(PortError::new(
                port,
                operation,
                PortErrorKind::Unavailable,
                format!("no answer within {}s", timeout.as_secs()),
            )),
        }
    }

    async fn perform_node(&self, node: &str, request: NodeRequest) -> Result<Outcome, PortError> {
        let talos = &self.ports.talos;
        match request {
            NodeRequest::Inspect => talos.inspect(node).await.map(Outcome::Inspected),
            NodeRequest::CheckGate {
                stage,
                expected_down,
            } => Ok(Outcome::GateChecked(
                self.check_gate(node, stage, &expected_down).await,
            )),
            NodeRequest::BackupConfig => {
                let config = talos.read_machine_config(node).await?;
                crate::journal::write_backup(self.dir.dir(), node, &config)
                    .map_err(|e| artifacts_error("write backup", e))?;
                Ok(done())
            }
            NodeRequest::ApplyConfig {
                install_image,
                esc_name,
            } => {
                let extension_service_config = match esc_name {
                    Some(name) => {
                        let config = self.configs.get(node).filter(|config| config.name == name);
                        Some(config.cloned().ok_or_else(|| {
                            PortError::new(
                                "artifacts",
                                "apply config",
                                PortErrorKind::Other,
                                format!("the plan gives {node} the config {name}, but the driver has none for it"),
                            )
                        })?)
                    }
                    None => None,
                };
                talos
                    .apply_config_change(
                        node,
                        &ConfigChange {
                            install_image,
                            extension_service_config,
                        },
                    )
                    .await?;
                Ok(done())
            }
            NodeRequest::Cordon | NodeRequest::Drain | NodeRequest::Uncordon => {
                let kube = self.ports.kube.as_ref().ok_or_else(|| {
                    PortError::new(
                        "kube",
                        "cordon",
                        PortErrorKind::Unsupported,
                        "no kubernetes port was given",
                    )
                })?;
                let nodename = self.nodename(node);
                match request {
                    NodeRequest::Cordon => {
                        kube.cordon(&nodename).await?;
                    }
                    NodeRequest::Drain => {
                        let report = kube.drain(&nodename).await?;
                        let _ = self.events.send(
                            RunEvent::Drained {
                                node: node.to_owned(),
                                report,
                            }
                            .into(),
                        );
                    }
                    _ => {
                        kube.uncordon(&nodename).await?;
                    }
                }
                Ok(done())
            }
            NodeRequest::Install { image } => {
                let outcome = talos.install(node, &image).await?;
                Ok(Outcome::Done {
                    reboot_started: outcome.reboot_started,
                })
            }
            NodeRequest::Reboot => talos.reboot(node).await.map(|()| done()),
            NodeRequest::ProbeBoot => match talos.probe_boot(node).await {
                Err(error) if error.is_retryable() => Ok(Outcome::BootProbed(BootProbe::Down {
                    reason: error.message,
                })),
                other => other.map(Outcome::BootProbed),
            },
            NodeRequest::ExtensionAction { action } => {
                let plan = self.plan_node(node).ok_or_else(|| {
                    PortError::new(
                        "driver",
                        &action,
                        PortErrorKind::Other,
                        format!("{node} is not in the plan"),
                    )
                })?;
                self.profile.act(&action, plan).await.map(|()| done())
            }
            NodeRequest::RestoreConfig => {
                let config = if self.originals.contains_key(node) {
                    crate::originals::Originals::new(&self.dir)
                        .machine_config(&self.nodename(node))
                        .map_err(|e| artifacts_error("read original machine config", e))?
                } else {
                    crate::journal::read_backup(self.dir.dir(), node)
                        .map_err(|e| artifacts_error("read backup", e))?
                };
                talos
                    .apply_machine_config(node, &config)
                    .await
                    .map(|()| done())
            }
            NodeRequest::BootPrevious { method } => match method {
                RollbackMethod::RollbackRpc => talos.rollback(node).await.map(|()| Outcome::Done {
                    reboot_started: true,
                }),
                RollbackMethod::Reinstall { image } => {
                    let outcome = talos.install(node, &image).await?;
                    Ok(Outcome::Done {
                        reboot_started: outcome.reboot_started,
                    })
                }
            },
        }
    }

    fn nodename(&self, node: &str) -> String {
        self.plan_node(node)
            .map_or_else(|| node.to_owned(), |plan| plan.nodename.clone())
    }
}
