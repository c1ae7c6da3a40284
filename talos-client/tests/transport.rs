//! mTLS, roles and endpoint failover against an in-process node.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use secrecy::ExposeSecret;
use sim::pki::Pki;
use support::{Harness, NodeConfig};
use talos_client::identity::Role;
use talos_client::{TalosClient, methods};

#[tokio::test]
async fn the_upstream_ed25519_key_label_connects() {
    let harness = Harness::start(NodeConfig::default()).await;
    let issued = harness.pki.issue_client(&["os:admin"]).unwrap();
    assert!(
        issued
            .key_pem
            .expose_secret()
            .starts_with("-----BEGIN ED25519 PRIVATE KEY-----")
    );
    let identity = talos_client::identity::ClientIdentity::from_pem(
        harness.pki.ca_pem().as_bytes(),
        issued.cert_pem.as_bytes(),
        issued.key_pem.expose_secret().as_bytes(),
    )
    .unwrap();
    let client = TalosClient::builder()
        .endpoint(harness.addr().to_string())
        .identity(identity)
        .build()
        .unwrap();
    assert_eq!(
        client.node("10.0.0.2").version().await.unwrap().tag,
        "v1.13.2"
    );
}

#[tokio::test]
async fn a_server_signed_by_another_ca_is_refused() {
    let harness = Harness::start(NodeConfig::default()).await;
    let other_ca = Pki::generate().unwrap();
    let client = TalosClient::builder()
        .endpoint(harness.addr().to_string())
        .identity(support::identity(&other_ca, &["os:admin"]))
        .build()
        .unwrap();
    let error = client.node("10.0.0.2").version().await.unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(error.to_string().contains("cannot connect"), "{error}");
    assert!(
        harness.node.calls().is_empty(),
        "no request may reach the node"
    );
}

#[tokio::test]
async fn a_client_without_certificate_is_refused_by_the_node() {
    let harness = Harness::start(NodeConfig::default()).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(harness.pki.ca_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(harness.addr())
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
    assert!(harness.node.calls().is_empty());
}

#[tokio::test]
async fn a_reader_certificate_on_an_admin_call_names_the_needed_and_held_roles() {
    let harness = Harness::start(NodeConfig::default()).await;
    let reader = harness.client(&["os:reader"]);
    let error = reader
        .node("10.0.0.2")
        .read("/proc/sys/kernel/random/boot_id")
        .await
        .unwrap_err();
    assert!(error.is_permission_denied());
    let message = error.to_string();
    assert!(message.contains("needs os:admin"), "{message}");
    assert!(message.contains("has os:reader"), "{message}");
    // The node did see (and refuse) the call.
    assert_eq!(harness.node.methods(), ["/machine.MachineService/Read"]);
}

#[tokio::test]
async fn require_role_checks_locally_without_calling() {
    let harness = Harness::start(NodeConfig::default()).await;
    let reader = harness.client(&["os:reader"]);
    assert_eq!(reader.roles().iter().collect::<Vec<_>>(), [&Role::Reader]);
    reader.require_role(methods::VERSION).unwrap();
    let error = reader.require_role(methods::LIFECYCLE_UPGRADE).unwrap_err();
    assert!(error.is_permission_denied());
    assert!(error.to_string().contains("needs os:admin"), "{error}");
    let operator = harness.client(&["os:operator"]);
    operator.require_role(methods::REBOOT).unwrap();
    assert!(harness.node.calls().is_empty());
}

#[tokio::test]
async fn calls_fail_over_to_the_next_endpoint_when_one_is_unreachable() {
    let harness = Harness::start(NodeConfig::default()).await;
    let client = harness.client_via(&[support::dead_endpoint(), harness.addr()], &["os:admin"]);
    assert_eq!(
        client.node("10.0.0.2").version().await.unwrap().tag,
        "v1.13.2"
    );
    // The working endpoint is preferred from now on.
    client.node("10.0.0.2").service_list().await.unwrap();
    assert_eq!(harness.node.calls().len(), 2);
}

#[tokio::test]
async fn reads_fail_over_when_an_endpoint_answers_unavailable() {
    let first = Harness::start(NodeConfig {
        down_for_calls: 100,
        ..NodeConfig::default()
    })
    .await;
    first.node.go_down(&mut first.node.state(), "");
    let (_, second) = first
        .another_endpoint(NodeConfig {
            version_tag: "v1.13.9".to_owned(),
            ..NodeConfig::default()
        })
        .await;
    let client = first.client_via(&[first.addr(), second.addr()], &["os:admin"]);
    assert_eq!(
        client.node("10.0.0.2").version().await.unwrap().tag,
        "v1.13.9"
    );
    // A state-changing call is not retried elsewhere once sent: the failing endpoint is
    // no longer preferred, so it goes to the working one directly.
    client
        .node("10.0.0.2")
        .service_restart("kubelet")
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unreachable_cluster_reports_every_endpoint() {
    let dead = support::dead_endpoint();
    let pki = Pki::generate().unwrap();
    let client = TalosClient::builder()
        .endpoint(dead.to_string())
        .identity(support::identity(&pki, &["os:admin"]))
        .build()
        .unwrap();
    let error = client.node("10.0.0.2").version().await.unwrap_err();
    assert!(error.is_unavailable());
    assert!(error.to_string().contains(&dead.to_string()), "{error}");
}

#[test]
fn building_without_endpoints_or_identity_fails_clearly() {
    let pki = Pki::generate().unwrap();
    let error = TalosClient::builder()
        .identity(support::identity(&pki, &["os:admin"]))
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
        .identity(support::identity(&pki, &["os:admin"]))
        .build()
        .unwrap_err();
    assert!(
        error.to_string().contains("endpoint \"http://10.0.0.2\""),
        "{error}"
    );
}

#[tokio::test]
async fn calls_move_to_the_next_endpoint_when_a_connected_one_goes_away() {
    let first = Harness::start(NodeConfig::default()).await;
    let (second_node, second) = first.another_endpoint(NodeConfig::default()).await;
    let client = first.client_via(&[first.addr(), second.addr()], &["os:admin"]);
    client.node("10.0.0.2").version().await.unwrap();
    assert_eq!(first.node.calls().len(), 1);
    let Harness {
        server,
        node: first_node,
        ..
    } = first;
    server.shutdown().await;

    // A read moves on at once, whatever the closed connection reports.
    client.node("10.0.0.2").version().await.unwrap();
    assert_eq!(second_node.calls().len(), 1);
    // A restart goes to the endpoint that answered last.
    client
        .node("10.0.0.2")
        .service_restart("kubelet")
        .await
        .unwrap();
    assert_eq!(
        second_node.methods().last().unwrap(),
        "/machine.MachineService/ServiceRestart"
    );
    assert_eq!(first_node.calls().len(), 1);
}

#[tokio::test]
async fn a_state_changing_call_moves_on_only_when_the_endpoint_refuses_connections() {
    let first = Harness::start(NodeConfig::default()).await;
    let (second_node, second) = first.another_endpoint(NodeConfig::default()).await;
    let client = first.client_via(&[first.addr(), second.addr()], &["os:admin"]);
    client.node("10.0.0.2").version().await.unwrap();
    let Harness { server, .. } = first;
    server.shutdown().await;
    // The first attempt may meet the closing connection (not retried: it might have been
    // sent); once the endpoint refuses connections the call goes to the next endpoint.
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        outcomes.push(client.node("10.0.0.2").service_restart("kubelet").await);
    }
    for outcome in &outcomes {
        if let Err(error) = outcome {
            assert!(error.is_unavailable(), "{error}");
        }
    }
    assert!(outcomes.last().unwrap().is_ok(), "{outcomes:?}");
    assert!(
        second_node
            .methods()
            .iter()
            .any(|method| method.ends_with("/ServiceRestart"))
    );
}

#[tokio::test]
async fn a_talosconfig_context_connects_through_its_endpoints_and_identity() {
    let harness = Harness::start(NodeConfig::default()).await;
    let context = talos_client::config::Context::new(
        "sim",
        [harness.addr().to_string()],
        ["10.0.0.2"],
        harness.identity(&["os:reader"]),
    )
    .unwrap();
    let client = TalosClient::connect(&context).unwrap();
    assert_eq!(client.endpoints(), [harness.addr().to_string()]);
    assert_eq!(client.roles().to_string(), "os:reader");
    let node = client.node(&context.nodes()[0]);
    assert_eq!(node.version().await.unwrap().tag, "v1.13.2");
    assert_eq!(harness.node.calls()[0].node_values, ["10.0.0.2"]);
}

#[tokio::test]
async fn a_talosconfig_written_as_yaml_connects() {
    let harness = Harness::start(NodeConfig::default()).await;
    let context = talos_client::config::Context::new(
        "sim",
        [harness.addr().to_string()],
        Vec::<String>::new(),
        harness.identity(&["os:admin"]),
    )
    .unwrap();
    let yaml = talos_client::config::TalosConfig::new(context)
        .to_yaml()
        .unwrap();
    let config = talos_client::config::TalosConfig::from_yaml(&yaml).unwrap();
    let client = TalosClient::connect(config.context(None).unwrap()).unwrap();
    assert_eq!(
        client.node("10.0.0.2").version().await.unwrap().tag,
        "v1.13.2"
    );
}

#[tokio::test]
async fn a_call_the_node_never_answers_times_out() {
    let harness = Harness::start(NodeConfig {
        version_hangs: true,
        ..NodeConfig::default()
    })
    .await;
    let client = TalosClient::builder()
        .endpoint(harness.addr().to_string())
        .identity(harness.identity(&["os:admin"]))
        .request_timeout(std::time::Duration::from_millis(200))
        .build()
        .unwrap();
    let error = client.node("10.0.0.2").version().await.unwrap_err();
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
