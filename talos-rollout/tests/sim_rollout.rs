//! End to end through the real adapters: talos-client over mTLS gRPC, factory-client and
//! tailscale-client over HTTP, against the simulated seed cluster (tokio time paused, except
//! where a test waits through the sim's reboots on real time with short timings).
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rollout_core::RolloutSpec;
use rollout_core::machine::{Phase, RolloutEvent, Summary};
use rollout_core::plan::Plan;
use rollout_core::spec::FailurePolicy;
use sim::talos::Timings;
use sim::{Sim, SimBuilder};
use support::{NODES, ROUTE, SimClients};
use tailscale_client::TailscaleClient;
use talos_client::TalosClient;
use talos_rollout::profile::ExtensionProfile;
use talos_rollout::profiles::TailscaleProfile;
use talos_rollout::profiles::tailscale::{Health, IdentityToken, KeyRotation, check_health};
use talos_rollout::report::{EventLog, Report};
use talos_rollout::{Event, ExtensionRollout};

struct World {
    sim: Sim,
    talos: TalosClient,
    tailscale: TailscaleClient,
    rollout: ExtensionRollout,
    profile: Arc<dyn ExtensionProfile>,
    events: talos_rollout::driver::EventStream,
    artifacts: tempfile::TempDir,
}

/// The seed sim, clients over real wire protocols, and the front door rolling the Tailscale
/// profile with a key valid for `key_lifetime`.
async fn world(key_lifetime: Duration, edit: impl FnOnce(&mut RolloutSpec)) -> World {
    world_on(Sim::builder(), key_lifetime, edit).await
}

/// As [`world`], on a sim built from `sim`.
async fn world_on(
    sim: SimBuilder,
    key_lifetime: Duration,
    edit: impl FnOnce(&mut RolloutSpec),
) -> World {
    let sim = sim.start().await.unwrap();
    let clients = SimClients::connect(&sim);
    let key = clients.mint_key(Some(key_lifetime)).await;
    world_with(sim, clients, |profile| profile.auth_key(key), edit)
}

/// The front door over `sim` with the Tailscale profile (tag:k8s, the route) as `login`
/// finishes it.
fn world_with(
    sim: Sim,
    clients: SimClients,
    login: impl FnOnce(TailscaleProfile) -> TailscaleProfile,
    edit: impl FnOnce(&mut RolloutSpec),
) -> World {
    let SimClients {
        talos,
        factory,
        tailscale,
    } = clients;
    let artifacts = tempfile::tempdir().unwrap();
    let mut spec = RolloutSpec {
        soak: Duration::from_secs(10),
        ..RolloutSpec::default()
    };
    edit(&mut spec);
    let profile: Arc<dyn ExtensionProfile> = Arc::new(login(
        TailscaleProfile::new(tailscale.clone()).routes([ROUTE]),
    ));
    let (rollout, events) = ExtensionRollout::builder()
        .talos(talos.clone())
        .factory(factory)
        .shared_profile(Arc::clone(&profile))
        .cluster("sim")
        .nodes(NODES)
        .spec(spec)
        .artifacts(artifacts.path())
        .build()
        .unwrap();
    World {
        sim,
        talos,
        tailscale,
        rollout,
        profile,
        events,
        artifacts,
    }
}

impl World {
    /// The dry run (after checking discovery found one etcd leader).
    async fn plan(&self) -> Plan {
        let facts = self.rollout.discover().await.unwrap();
        assert_eq!(
            facts.nodes.iter().filter(|n| n.etcd_leader).count(),
            1,
            "{facts:?}"
        );
        self.rollout.plan().await.unwrap()
    }

    /// Runs the rollout; returns its summary and every event it sent.
    async fn run(&mut self) -> (Summary, Vec<Event>) {
        let summary = self.rollout.run().await.unwrap();
        let events = support::drain_events(&mut self.events);
        (summary, events)
    }

    /// The report a tool writes after `run`: the final validation of every node.
    async fn report(&self, plan: &Plan, summary: &Summary, events: &[Event]) -> Report {
        let mut log = EventLog::default();
        for event in events {
            log.record(event, Instant::now());
        }
        let ports = self.rollout.ports();
        talos_rollout::report::build(plan, summary, &log, ports, self.profile.as_ref(), None).await
    }
}

#[tokio::test(start_paused = true)]
async fn the_seed_cluster_gets_tailscale_through_the_real_clients() {
    let mut world = world(Duration::from_secs(7 * 24 * 3600), |_| {}).await;
    let plan = world.plan().await;
    let (summary, events) = world.run().await;
    let failures: Vec<&Event> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Rollout(RolloutEvent::NodeFailed { .. })
                    | Event::Run(talos_rollout::RunEvent::Diagnosis(_))
            )
        })
        .collect();
    assert!(summary.succeeded(), "{summary:?} {failures:#?}");

    let target = plan.nodes[0].to.schematic_id.clone().unwrap();
    for node in NODES {
        let client = world.talos.node(node);
        assert_eq!(
            client.schematic_id().await.unwrap().as_deref(),
            Some(target.as_str())
        );
        let device = world
            .tailscale
            .node_device(node)
            .find()
            .await
            .unwrap()
            .unwrap();
        assert!(device.device.connected_to_control, "{node} online");
        let routes = world
            .tailscale
            .routes()
            .get(device.device.device_id())
            .await
            .unwrap();
        assert_eq!(
            routes.enabled_routes,
            [ROUTE.parse().unwrap()],
            "{node} routes approved"
        );
    }
    assert!(
        world
            .sim
            .cluster()
            .snapshot("k8s-1")
            .unwrap()
            .services
            .contains_key("ext-tailscale")
    );
    let nodes: Vec<String> = NODES.iter().map(|node| (*node).to_owned()).collect();
    let round = check_health(&world.talos, &world.tailscale, &nodes, "tailscale").await;
    assert_eq!(round.health, Health::Healthy, "{round:#?}");
    assert!(
        round
            .nodes
            .iter()
            .all(|node| node.unapproved_routes.is_empty() && node.not_checked.is_empty())
    );

    // A least-privilege monitor (os:reader, which the sim's RBAC enforces) sees the same
    // health from non-sensitive resources and the tailnet device, and says what it skipped.
    let reader = TalosClient::connect(
        world
            .sim
            .talosconfig_with_roles(&["os:reader"])
            .unwrap()
            .context(None)
            .unwrap(),
    )
    .unwrap();
    let as_reader = check_health(&reader, &world.tailscale, &nodes, "tailscale").await;
    assert_eq!(as_reader.health, Health::Healthy, "{as_reader:#?}");
    for (node, full) in as_reader.nodes.iter().zip(&round.nodes) {
        assert_eq!(node.device, full.device);
        assert_eq!(node.advertised_routes, [ROUTE]);
        assert_eq!(node.schematic_id.as_deref(), Some(target.as_str()));
        let skipped = node.not_checked.join("; ");
        assert!(
            skipped.contains("TS_ROUTES") && skipped.contains("os:admin"),
            "{skipped}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn nodes_log_in_with_an_oauth_secret_or_a_federated_identity_and_nothing_is_minted() {
    for variable in ["TS_AUTHKEY", "TS_ID_TOKEN"] {
        let sim = Sim::builder().start().await.unwrap();
        let clients = SimClients::connect(&sim);
        let (_, oauth_secret) = sim.tailnet().oauth_client();
        let oauth_secret = oauth_secret.clone();
        let (client_id, token) = sim.tailnet().federated_identity();
        let (client_id, token) = (client_id.to_owned(), token.clone());
        let login = move |profile: TailscaleProfile| match variable {
            "TS_AUTHKEY" => profile.oauth_secret(oauth_secret),
            _ => profile.workload_identity(client_id, IdentityToken::IdToken(token)),
        };
        let mut world = world_with(sim, clients, login, |_| {});
        let (summary, events) = world.run().await;
        assert!(summary.succeeded(), "{variable}: {summary:?}");
        assert!(
            !events.iter().any(|event| matches!(
                event,
                Event::Run(talos_rollout::RunEvent::CredentialProvisioned { .. })
            )),
            "nothing is minted by the rollout"
        );
        for node in NODES {
            let esc = world
                .talos
                .node(node)
                .extension_service_config("tailscale")
                .await
                .unwrap()
                .unwrap();
            assert!(esc.env_value(variable).is_some(), "{variable} on {node}");
            assert_eq!(
                esc.env_value("TS_EXTRA_ARGS"),
                Some("--advertise-tags=tag:k8s")
            );
            let device = world
                .tailscale
                .node_device(node)
                .find()
                .await
                .unwrap()
                .unwrap()
                .device;
            assert!(
                !device.is_ephemeral && device.authorized && device.has_tags(&["tag:k8s"]),
                "{device:?}"
            );
        }
        let nodes: Vec<String> = NODES.iter().map(|node| (*node).to_owned()).collect();
        let refused = KeyRotation::new(world.talos.clone(), world.tailscale.clone())
            .rotate(&nodes)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("no auth key on the node to rotate"),
            "{refused}"
        );
    }
}

#[tokio::test]
async fn health_names_what_does_not_hold_on_a_node_without_the_extension() {
    let world = world(Duration::from_secs(7 * 24 * 3600), |_| {}).await;
    let round = check_health(
        &world.talos,
        &world.tailscale,
        &["k8s-2".to_owned()],
        "tailscale",
    )
    .await;
    assert_eq!(round.health, Health::Unhealthy, "{round:#?}");
    let node = &round.nodes[0];
    assert_eq!(node.hostname.as_deref(), Some("k8s-2"));
    assert_eq!(node.extension_installed, Some(false));
    let problems = node.problems.join("; ");
    for expected in [
        "extension tailscale is not installed",
        "service ext-tailscale is not running",
        "no tailnet device with hostname k8s-2",
    ] {
        assert!(problems.contains(expected), "{problems}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_expired_key_is_diagnosed_from_the_real_log_and_the_node_rolled_back() {
    let mut world = world(Duration::from_secs(60), |spec| {
        spec.failure_policy = FailurePolicy::Rollback;
        spec.timeouts.verify = Duration::from_secs(120);
    })
    .await;
    tokio::time::sleep(Duration::from_secs(61)).await;
    let plan = world.plan().await;
    let original = plan.nodes[0].from.clone();
    let first = plan.nodes[0].node.clone();
    let (summary, events) = world.run().await;

    assert_eq!(summary.halted_by.as_deref(), Some(first.as_str()));
    assert!(
        summary.nodes.contains(&(first.clone(), Phase::RolledBack)),
        "{summary:?}"
    );
    let diagnosis = support::first_diagnosis(&events);
    // containerboot exits on the bad key, so ext-tailscale never runs: verification fails.
    assert_eq!(diagnosis.failure.phase, Phase::Verify);
    assert!(
        diagnosis
            .failure
            .reason
            .contains("service ext-tailscale running"),
        "{}",
        diagnosis.failure.reason
    );
    assert!(
        diagnosis
            .causes
            .iter()
            .any(|cause| cause.id == "invalid_or_expired_auth_key"),
        "{diagnosis:#?}"
    );
    let node = world.talos.node(&first);
    assert_eq!(node.schematic_id().await.unwrap(), original.schematic_id);
    let others: Vec<&str> = NODES.iter().copied().filter(|n| *n != first).collect();
    for other in others {
        let untouched = world.talos.node(other).schematic_id().await.unwrap();
        assert_eq!(
            untouched, original.schematic_id,
            "{other} must not be touched"
        );
    }
}

/// Talos v1.10.4 takes the legacy `MachineService.Upgrade`, which reboots the node by itself.
/// The node never comes back: the rollout sends the install once, waits for the new boot in
/// AwaitReboot on its own clock, and fails there within the await-reboot timeout with what to
/// do next. (Real time with short sim timings: gRPC calls to the sim are in flight throughout.)
#[tokio::test]
async fn a_legacy_install_is_sent_once_and_a_node_that_never_returns_fails_in_await_reboot() {
    let timings = Timings {
        shutdown: Duration::from_millis(50),
        reboot: Duration::from_millis(200),
        boot: Duration::from_millis(100),
        install: Duration::ZERO,
        service_restart: Duration::from_millis(200),
    };
    let await_reboot = Duration::from_secs(3);
    let mut world = world_on(
        Sim::builder().talos_version("v1.10.4").timings(timings),
        Duration::from_secs(7 * 24 * 3600),
        |spec| {
            spec.timeouts.await_reboot = await_reboot;
            spec.timeouts.install = Duration::from_secs(30);
            spec.timeouts.check_interval = Duration::from_millis(200);
        },
    )
    .await;
    for node in NODES {
        world.sim.faults().node_never_returns(node);
    }
    let plan = world.plan().await;
    assert!(plan.nodes.iter().all(|node| node.from.version == "v1.10.4"));
    let first = plan.nodes[0].node.clone();

    let (summary, events) = world.run().await;

    assert_eq!(summary.halted_by.as_deref(), Some(first.as_str()));
    let failure = support::rollout_events(&events)
        .into_iter()
        .find_map(|e| match e {
            RolloutEvent::NodeFailed { node, failure } if node == first => Some(failure),
            _ => None,
        })
        .unwrap();
    assert_eq!(failure.phase, Phase::AwaitReboot, "{}", failure.reason);
    assert!(
        failure.reason.contains("did not come back") && failure.reason.contains("resume"),
        "{}",
        failure.reason
    );
    // The phase above shows the failure came from the await-reboot timeout, not from a
    // helper waiting inside the install call (15 min) or the install timeout (30 s).

    // Exactly one install reached the cluster, and only on the first node.
    let journal =
        std::fs::read_to_string(world.artifacts.path().join("sim").join("journal.jsonl")).unwrap();
    let installs: Vec<String> = journal
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|entry| entry["entry"] == "step_started" && entry["step"]["step"] == "install")
        .map(|entry| entry["node"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(installs, std::slice::from_ref(&first), "{journal}");
    let snapshot = world.sim.cluster().snapshot(&first).unwrap();
    assert!(!snapshot.up, "the node went down for the legacy upgrade");
    for other in NODES.iter().filter(|n| **n != first) {
        assert!(world.sim.cluster().snapshot(other).unwrap().up, "{other}");
    }
}

/// Every n-th apid call breaks all connections before the sim handles it (the request never
/// reaches the node), for each n in a range that moves the drop across every kind of call a
/// rollout makes: discovery, backup, apply, install, reboot waits, gates and the final
/// validation. On the legacy path (Talos v1.10) a dropped `Upgrade` once left the node
/// probed until its install timeout; a dropped read in the final validation reported a
/// converged node as failed. Every run converges, each node reboots once, and the report
/// passes.
#[tokio::test(start_paused = true)]
async fn connections_dropped_at_any_call_never_stop_the_rollout() {
    for version in ["v1.10.4", "v1.14.0"] {
        for every in 12..=40 {
            let mut world = world_on(
                Sim::builder().talos_version(version),
                Duration::from_secs(7 * 24 * 3600),
                |_| {},
            )
            .await;
            world.sim.faults().apid_drops_connections(every);
            let (summary, events) = world.run().await;
            let context = format!("{version}, every {every}th call dropped");
            let failures: Vec<String> = support::rollout_events(&events)
                .into_iter()
                .filter_map(|event| match event {
                    RolloutEvent::NodeFailed { node, failure } => {
                        Some(format!("{node}: {}: {}", failure.phase, failure.reason))
                    }
                    _ => None,
                })
                .collect();
            let tail: Vec<_> = events.iter().rev().take(12).collect();
            assert!(summary.succeeded(), "{context}: {failures:#?} {tail:#?}");
            let plan = events
                .iter()
                .find_map(|event| match event {
                    Event::Run(talos_rollout::RunEvent::Plan(plan)) => Some((**plan).clone()),
                    _ => None,
                })
                .unwrap();
            let report = world.report(&plan, &summary, &events).await;
            let failing: Vec<_> = report
                .nodes
                .iter()
                .map(|node| (&node.node, &node.failing_checks))
                .collect();
            assert!(report.succeeded, "{context}: {failing:?}");
            for node in NODES {
                let snapshot = world.sim.cluster().snapshot(node).unwrap();
                assert_eq!(snapshot.boots, 2, "{context}: {node} rebooted once");
            }
        }
    }
}
