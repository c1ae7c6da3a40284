//! mTLS, roles and endpoint failover against the simulated cluster.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use secrecy::ExposeSecret;
use sim::pki::Pki;
use support::{
    NODE, calls, calls_at, client, client_via, identity, one_node, received_methods, start,
};
use talos_client::identity::Role;
use talos_client::{TalosClient, methods};

const ADMIN: &[&str] = &["os:admin"];

#[tokio::test]
async fn the_upstream_ed25519_key_label_connects() {
    let sim = start(one_node()).await;
    let issued = sim.pki().issue_client(ADMIN).unwrap();
    assert!(
        issued
            .key_pem
            .expose_secret()
            .starts_with("-----BEGIN ED25519 PRIVATE KEY-----")
    );
    let identity = talos_client::identity::ClientIdentity::from_pem(
        sim.pki().ca_pem().as_bytes(),
        issued.cert_pem.as_bytes(),
        issued.key_pem.expose_secret().as_bytes(),
    )
    .unwrap();
    let client = TalosClient::builder()
        .endpoint(sim.endpoint())
        .identity(identity)
        .build()
        .unwrap();
    assert_eq!(
        client.node(NODE).version().await.unwrap().tag,
        support::LIFECYCLE_VERSION
    );
}

#[tokio::test]
async fn a_server_signed_by_another_ca_is_refused() {
    let sim = start(one_node()).await;
    let other_ca = Pki::generate().unwrap();
    let client = TalosClient::builder()
        .endpoint(sim.endpoint())
        .identity(identity(&other_ca, ADMIN))
        .build()
        .unwrap();
    let error = client.node(NODE).version().await.unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(error.to_string().contains("cannot connect"), "{error}");
    assert!(calls(&sim).is_empty(), "no request may reach the node");
}

#[tokio::test]
async fn a_client_without_certificate_is_refused_by_the_node() {
    let sim = start(one_node()).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(sim.pki().ca_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(sim.endpoint())
        .await
        .unwrap();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    // TLS 1.3 reports the missing certificate after the handshake: the first read fails.
    let outcome = async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tls = connector.connect(name, tcp).await?;
        tls.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await?;
        let mut buf = [0u8; 64];
        let read = tls.read(&mut buf).await?;
        if read == 0 {
            return Err(std::io::Error::other("closed"));
        }
        Ok(())
    }
    .await;
    assert!(
        outcome.is_err(),
        "the node accepted a client without certificate"
    );
    assert!(calls(&sim).is_empty());
}

#[tokio::test]
async fn a_reader_certificate_on_an_admin_call_names_the_needed_and_held_roles() {
    let sim = start(one_node()).await;
    let reader = client(&sim, &["os:reader"]);
    let error = reader
        .node(NODE)
        .read("/proc/sys/kernel/random/boot_id")
        .await
        .unwrap_err();
    assert!(error.is_permission_denied());
    let message = error.to_string();
    assert!(message.contains("needs os:admin"), "{message}");
    assert!(message.contains("has os:reader"), "{message}");
    // The node did see (and refuse) the call.
    assert_eq!(received_methods(&sim), [methods::READ]);
}

#[tokio::test]
async fn require_role_checks_locally_without_calling() {
    let sim = start(one_node()).await;
    let reader = client(&sim, &["os:reader"]);
    assert_eq!(reader.roles().iter().collect::<Vec<_>>(), [&Role::Reader]);
    reader.require_role(methods::VERSION).unwrap();
    let error = reader.require_role(methods::LIFECYCLE_UPGRADE).unwrap_err();
    assert!(error.is_permission_denied());
    assert!(error.to_string().contains("needs os:admin"), "{error}");
    let operator = client(&sim, &["os:operator"]);
    operator.require_role(methods::REBOOT).unwrap();
    assert!(calls(&sim).is_empty());
}

#[tokio::test]
async fn calls_fail_over_to_the_next_endpoint_when_one_is_unreachable() {
    let sim = start(one_node()).await;
    let endpoints = [support::dead_endpoint().to_string(), sim.endpoint()];
    let client = client_via(&sim, &endpoints, ADMIN);
    assert_eq!(
        client.node(NODE).version().await.unwrap().tag,
        support::LIFECYCLE_VERSION
    );
    // The working endpoint is preferred from now on.
    client.node(NODE).service_list().await.unwrap();
    assert_eq!(calls(&sim).len(), 2);
}

#[tokio::test]
async fn reads_fail_over_when_an_endpoint_answers_unavailable() {
    let sim = start(one_node().apid_endpoints(2)).await;
    sim.faults().apid_endpoint_unavailable(0);
    let client = client_via(&sim, &sim.endpoints(), ADMIN);
    assert_eq!(
        client.node(NODE).version().await.unwrap().tag,
        support::LIFECYCLE_VERSION
    );
    let answered = calls_at(&sim, 1);
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(answered[0].method, methods::VERSION);
    // A state-changing call is not retried elsewhere once sent: the failing endpoint is
    // no longer preferred, so it goes to the working one directly.
    client.node(NODE).service_restart("kubelet").await.unwrap();
    assert!(
        !calls_at(&sim, 0)
            .iter()
            .any(|call| call.method == methods::SERVICE_RESTART)
    );
}

#[tokio::test]
async fn an_unreachable_cluster_reports_every_endpoint() {
    let dead = support::dead_endpoint();
    let pki = Pki::generate().unwrap();
    let client = TalosClient::builder()
        .endpoint(dead.to_string())
        .identity(identity(&pki, ADMIN))
        .build()
        .unwrap();
    let error = client.node(NODE).version().await.unwrap_err();
    assert!(error.is_unavailable());
    assert!(error.to_string().contains(&dead.to_string()), "{error}");
}

#[test]
fn building_without_endpoints_or_identity_fails_clearly() {
    let pki = Pki::generate().unwrap();
    let error = TalosClient::builder()
        .identity(identity(&pki, ADMIN))
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("no endpoints"), "{error}");
    let error = TalosClient::builder()
        .endpoint("10.0.0.2")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("no client identity"), "{error}");
    let error = TalosClient::builder()
        .endpoint("http://10.0.0.2")
        .identity(identity(&pki, ADMIN))
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("endpoint \"http://10.0.0.2\""),
        "{error}"
    );
}

#[tokio::test]
async fn calls_move_to_the_next_endpoint_when_a_connected_one_goes_away() {
    let mut sim = start(one_node().apid_endpoints(2)).await;
    let client = client_via(&sim, &sim.endpoints(), ADMIN);
    client.node(NODE).version().await.unwrap();
    assert_eq!(calls_at(&sim, 0).len(), 1);
    sim.stop_apid_endpoint(0).await;

    // A read moves on at once, whatever the closed connection reports.
    client.node(NODE).version().await.unwrap();
    assert_eq!(calls_at(&sim, 1).len(), 1);
    // A restart goes to the endpoint that answered last.
    client.node(NODE).service_restart("kubelet").await.unwrap();
    assert_eq!(
        calls_at(&sim, 1).last().unwrap().method,
        methods::SERVICE_RESTART
    );
    assert_eq!(calls_at(&sim, 0).len(), 1);
}

#[tokio::test]
async fn a_state_changing_call_moves_on_only_when_the_endpoint_refuses_connections() {
    let mut sim = start(one_node().apid_endpoints(2)).await;
    let client = client_via(&sim, &sim.endpoints(), ADMIN);
    client.node(NODE).version().await.unwrap();
    sim.stop_apid_endpoint(0).await;
    // The first attempt may meet the closing connection (not retried: it might have been
    // sent); once the endpoint refuses connections the call goes to the next endpoint.
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        outcomes.push(client.node(NODE).service_restart("kubelet").await);
    }
    for outcome in &outcomes {
        if let Err(error) = outcome {
            assert!(error.is_unavailable(), "{error}");
        }
    }
    assert!(outcomes.last().unwrap().is_ok(), "{outcomes:?}");
    assert!(
        calls_at(&sim, 1)
            .iter()
            .any(|call| call.method == methods::SERVICE_RESTART)
    );
}

#[tokio::test]
async fn a_talosconfig_context_connects_through_its_endpoints_and_identity() {
    let sim = start(one_node()).await;
    let context = talos_client::config::Context::new(
        "sim",
        [sim.endpoint()],
        [NODE],
        identity(sim.pki(), &["os:reader"]),
    )
    .unwrap();
    let client = TalosClient::connect(&context).unwrap();
    assert_eq!(client.endpoints(), [sim.endpoint()]);
    assert_eq!(client.roles().to_string(), "os:reader");
    let node = client.node(&context.nodes()[0]);
    assert_eq!(
        node.version().await.unwrap().tag,
        support::LIFECYCLE_VERSION
    );
    assert_eq!(calls(&sim)[0].node, [NODE]);
}

#[tokio::test]
async fn a_talosconfig_written_as_yaml_connects() {
    let sim = start(one_node()).await;
    let context = talos_client::config::Context::new(
        "sim",
        [sim.endpoint()],
        Vec::<String>::new(),
        identity(sim.pki(), ADMIN),
    )
    .unwrap();
    let yaml = talos_client::config::TalosConfig::new(context)
        .to_yaml()
        .unwrap();
    let config = talos_client::config::TalosConfig::from_yaml(&yaml).unwrap();
    let client = TalosClient::connect(config.context(None).unwrap()).unwrap();
    assert_eq!(
        client.node(NODE).version().await.unwrap().tag,
        support::LIFECYCLE_VERSION
    );
}

#[tokio::test]
async fn a_call_the_node_never_answers_times_out() {
    let sim = start(one_node()).await;
    sim.faults().version_hangs("k8s-1");
    let client = TalosClient::builder()
        .endpoint(sim.endpoint())
        .identity(identity(sim.pki(), ADMIN))
        .request_timeout(std::time::Duration::from_millis(200))
        .build()
        .unwrap();
    let error = client.node(NODE).version().await.unwrap_err();
    assert!(
        matches!(error, talos_client::Error::Timeout { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("/machine.MachineService/Version"),
        "{error}"
    );
}
