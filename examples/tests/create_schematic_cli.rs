//! The `create-schematic` tool against the simulated Image Factory: it prints the ID the
//! factory answers and the installer for the version, checks extensions before posting,
//! and exits 2 for invalid input and 1 when the factory cannot be reached.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Output;

use factory_client::Schematic;
use sim::factory::{FactoryOptions, ImageFactory};
use sim::{Faults, HttpServer};

/// The built `create-schematic` binary, next to this test in `target/<profile>/examples/`.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join("create-schematic");
    assert!(
        path.exists(),
        "{} not built; run cargo test -p examples",
        path.display()
    );
    path
}

async fn factory() -> (ImageFactory, HttpServer) {
    let factory = ImageFactory::new(FactoryOptions::default(), Faults::default());
    let server = factory.serve().await.unwrap();
    (factory, server)
}

async fn create_schematic(factory_url: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(binary())
        .args(["--factory-url", factory_url])
        .args(args)
        .output()
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn posts_the_schematic_and_prints_id_and_installer() {
    let (factory, server) = factory().await;
    let expected = Schematic::builder()
        .extension("siderolabs/tailscale")
        .build()
        .id();

    let output = create_schematic(
        &server.url(),
        &["--talos-version", "1.11.1", "--extension", "tailscale"],
    )
    .await;

    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let host = server.addr().to_string();
    assert_eq!(
        text(&output.stdout),
        format!("schematic: {expected}\ninstaller: {host}/metal-installer/{expected}:v1.11.1\n")
    );
    assert!(factory.schematic(&expected).is_some(), "not stored");
}

#[tokio::test]
async fn older_talos_gets_the_legacy_secureboot_installer_in_json() {
    let (_factory, server) = factory().await;

    let output = create_schematic(
        &server.url(),
        &["--talos-version", "v1.9.5", "--secureboot", "--json"],
    )
    .await;

    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let id = Schematic::default().id().to_string();
    assert_eq!(report["id"], id.as_str());
    assert_eq!(report["offline_id"], id.as_str());
    assert_eq!(report["id_mismatch"], false);
    assert_eq!(
        report["installer"],
        format!("{}/installer-secureboot/{id}:v1.9.5", server.addr())
    );
}

#[tokio::test]
async fn an_unknown_extension_exits_2_before_anything_is_posted() {
    let (factory, server) = factory().await;

    let output = create_schematic(
        &server.url(),
        &[
            "--talos-version",
            "v1.11.1",
            "--extension",
            "no-such-extension",
        ],
    )
    .await;

    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(
        text(&output.stderr).contains("not available for Talos v1.11.1"),
        "{}",
        text(&output.stderr)
    );
    assert!(factory.schematic(&Schematic::default().id()).is_none());
}

#[tokio::test]
async fn an_unreachable_factory_exits_1() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let output = create_schematic(&url, &["--talos-version", "v1.11.1"]).await;

    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("could not reach the factory"),
        "{}",
        text(&output.stderr)
    );
}
