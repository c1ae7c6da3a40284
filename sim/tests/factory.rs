//! The simulated Image Factory answers like the real one: real schematic IDs, plain-text
//! errors, JSON lists served as text, and a 5xx burst fault.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use factory_client::{Schematic, SchematicId};
use serde_json::Value;
use sim::Faults;
use sim::factory::{FactoryOptions, ImageError, ImageFactory, default_versions};

const TAILSCALE_SCHEMATIC: &str = "customization:\n  systemExtensions:\n    officialExtensions:\n      - siderolabs/i915\n      - siderolabs/mei\n      - siderolabs/tailscale\n";

async fn start() -> (ImageFactory, Faults, sim::HttpServer) {
    let faults = Faults::default();
    let factory = ImageFactory::new(FactoryOptions::default(), faults.clone());
    let server = factory.serve().await.unwrap();
    (factory, faults, server)
}

#[tokio::test]
async fn posting_a_schematic_returns_201_with_the_offline_id_and_canonical_text() {
    let (_factory, _faults, server) = start().await;
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/schematics", server.url()))
        .body(TAILSCALE_SCHEMATIC)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    let expected = Schematic::from_yaml(TAILSCALE_SCHEMATIC).unwrap();
    assert_eq!(body["id"], expected.id().to_string());
    assert_eq!(body["schematic"], expected.to_canonical_yaml());

    let fetched = http
        .get(format!("{}/schematics/{}", server.url(), expected.id()))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status().as_u16(), 200);
    assert_eq!(fetched.text().await.unwrap(), expected.to_canonical_yaml());
}

#[tokio::test]
async fn an_invalid_schematic_gets_a_plain_text_400() {
    let (_factory, _faults, server) = start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/schematics", server.url()))
        .body("customization:\n  something: true\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    assert!(text.ends_with('\n') && text.len() > 1, "{text:?}");
}

#[tokio::test]
async fn an_unknown_schematic_is_404_schematic_not_found() {
    let (_factory, _faults, server) = start().await;
    let response = reqwest::get(format!(
        "{}/schematics/{}",
        server.url(),
        SchematicId::EMPTY
    ))
    .await
    .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(response.text().await.unwrap(), "schematic not found\n");
}

#[tokio::test]
async fn version_lists_are_json_served_as_text_plain() {
    let (_factory, _faults, server) = start().await;
    let response = reqwest::get(format!("{}/versions", server.url()))
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let versions: Vec<String> = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert!(versions.contains(&"v1.10.4".to_owned()));

    let extensions: Vec<Value> = serde_json::from_str(
        &reqwest::get(format!(
            "{}/version/1.10.4/extensions/official",
            server.url()
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap(),
    )
    .unwrap();
    let tailscale = extensions
        .iter()
        .find(|e| e["name"] == "siderolabs/tailscale")
        .unwrap();
    assert!(
        tailscale["ref"]
            .as_str()
            .unwrap()
            .starts_with("ghcr.io/siderolabs/tailscale:")
    );
}

#[tokio::test]
async fn unknown_versions_are_404_and_malformed_versions_500() {
    let (_factory, _faults, server) = start().await;
    let unknown = reqwest::get(format!(
        "{}/version/v1.99.0/extensions/official",
        server.url()
    ))
    .await
    .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    let malformed = reqwest::get(format!("{}/version/vfoo/extensions/official", server.url()))
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 500);
}

#[tokio::test]
async fn the_server_error_burst_fails_the_next_requests_then_recovers() {
    let (_factory, faults, server) = start().await;
    faults.factory_server_errors(2);
    let url = format!("{}/versions", server.url());
    for _ in 0..2 {
        let response = reqwest::get(&url).await.unwrap();
        assert_eq!(response.status().as_u16(), 500);
        assert_eq!(response.text().await.unwrap(), "internal server error\n");
    }
    assert_eq!(reqwest::get(&url).await.unwrap().status().as_u16(), 200);
}

#[test]
fn an_image_carries_the_schematic_extensions_and_the_schematic_pseudo_extension() {
    let factory = ImageFactory::new(FactoryOptions::default(), Faults::default());
    let id = factory.add_schematic(Schematic::from_yaml(TAILSCALE_SCHEMATIC).unwrap());
    let installed = factory.image_extensions(&id, "v1.10.5").unwrap();
    let names: Vec<&str> = installed.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["i915", "mei", "tailscale", "schematic"]);
    assert_eq!(installed[3].version, id.to_string());
    assert_eq!(installed[0].version, "20250509-v1.10.5");
}

#[test]
fn an_image_with_an_unknown_extension_cannot_be_built() {
    let factory = ImageFactory::new(FactoryOptions::default(), Faults::default());
    let schematic = Schematic::builder().extension("siderolabs/nope").build();
    let id = factory.add_schematic(schematic);
    assert!(matches!(
        factory.image_extensions(&id, "v1.10.5"),
        Err(ImageError::ExtensionNotAvailable { .. })
    ));
}

#[test]
fn every_served_version_builds_the_service_extensions_with_their_services() {
    let factory = ImageFactory::new(FactoryOptions::default(), Faults::default());
    let schematic = Schematic::builder()
        .extensions([
            "siderolabs/iscsi-tools",
            "siderolabs/nut-client",
            "siderolabs/tailscale",
        ])
        .build();
    let id = factory.add_schematic(schematic);
    for version in default_versions() {
        let installed = factory.image_extensions(&id, &version).unwrap();
        let services: Vec<(String, Option<String>)> = installed
            .iter()
            .filter_map(|e| e.service.as_ref())
            .map(|s| (s.id(), s.config.clone()))
            .collect();
        assert_eq!(
            services,
            [
                ("ext-iscsid".to_owned(), None),
                ("ext-nut-client".to_owned(), Some("nut-client".to_owned())),
                ("ext-tailscale".to_owned(), Some("tailscale".to_owned())),
            ],
            "Talos {version}"
        );
    }
}
