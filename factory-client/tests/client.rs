//! FactoryClient against a wiremock factory that answers like the real one: plain-text
//! error bodies, JSON lists served as text/plain, 201 for every create. A catch-all 500
//! responder, mounted last, fails any test that sends an unexpected request.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use factory_client::{
    Backoff, CreateWarning, Error, FactoryClient, OnIdMismatch, Schematic, SchematicId,
};
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TAILSCALE_ID: &str = "104c23dfe7c5bfeff6a4cc7e166d8b3bba0f371760592c7677c90c822bb1d109";

/// A fixture file's text, embedded at compile time (so a stale build directory or a
/// moved checkout cannot make the tests read the wrong path).
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("fixtures/", $name))
    };
}

/// A JSON body exactly as the factory sends lists: no content type set, so text/plain.
fn text_plain_json(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "text/plain; charset=utf-8")
}

/// A factory error: Go's http.Error, plain text with a trailing newline.
fn plain_error(status: u16, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(format!("{text}\n"), "text/plain; charset=utf-8")
        .insert_header("X-Content-Type-Options", "nosniff")
}

/// The factory's create answer: always 201 Created with a JSON body, even for duplicates.
fn created(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_raw(body, "application/json")
}

/// Mounts `response` for `method path`, which must be called exactly `times` times.
async fn expect_calls(
    server: &MockServer,
    verb: &str,
    route: impl AsRef<str>,
    response: ResponseTemplate,
    times: u64,
) {
    Mock::given(method(verb))
        .and(path(route.as_ref()))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

/// Expects one POST /schematics, answered with the tailscale schematic's ID and text.
async fn expect_tailscale_create(server: &MockServer) {
    let response = created(fixture!("create-tailscale.json"));
    expect_calls(server, "POST", "/schematics", response, 1).await;
}

async fn fail_unexpected_requests(server: &MockServer) {
    Mock::given(wiremock::matchers::any())
        .respond_with(plain_error(500, "unexpected request in test"))
        .with_priority(u8::MAX)
        .named("catch-all: unexpected request")
        .expect(0)
        .mount(server)
        .await;
}

fn fast_retries() -> Backoff {
    Backoff::new(Duration::from_millis(1), Duration::from_millis(5))
        .with_max_retries(2)
        .with_retry_after_cap(Duration::from_millis(5))
}

fn client(server: &MockServer) -> FactoryClient {
    FactoryClient::builder()
        .base_url(server.uri())
        .retry(fast_retries())
        .build()
        .unwrap()
}

fn tailscale_schematic() -> Schematic {
    Schematic::builder()
        .kernel_arg("net.ifnames=0")
        .extension("siderolabs/tailscale")
        .build()
}

#[tokio::test]
async fn create_posts_the_canonical_yaml_and_returns_the_matching_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/schematics"))
        .and(header("content-type", "application/yaml"))
        .and(body_string(fixture!("schematic-tailscale.yaml")))
        .respond_with(created(fixture!("create-tailscale.json")))
        .expect(1)
        .mount(&server)
        .await;
    fail_unexpected_requests(&server).await;

    let created = client(&server)
        .create_schematic(&tailscale_schematic())
        .await
        .unwrap();

    assert_eq!(created.id.to_string(), TAILSCALE_ID);
    assert_eq!(created.offline_id, created.id);
    assert!(created.warnings.is_empty());
    assert_eq!(
        created.canonical_yaml.as_deref(),
        Some(fixture!("schematic-tailscale.yaml"))
    );
}

#[tokio::test]
async fn create_accepts_factories_that_return_only_the_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/schematics"))
        .respond_with(created(fixture!("create-tailscale-legacy.json")))
        .mount(&server)
        .await;
    fail_unexpected_requests(&server).await;

    let created = client(&server)
        .create_schematic(&tailscale_schematic())
        .await
        .unwrap();

    assert_eq!(created.id.to_string(), TAILSCALE_ID);
    assert_eq!(created.canonical_yaml, None);
}

async fn factory_returning_another_id() -> MockServer {
    let server = MockServer::start().await;
    let body = format!("{{\"id\":\"{}\"}}\n", SchematicId::EMPTY);
    Mock::given(method("POST"))
        .and(path("/schematics"))
        .respond_with(created(&body))
        .mount(&server)
        .await;
    fail_unexpected_requests(&server).await;
    server
}

#[tokio::test]
async fn id_mismatch_is_a_warning_by_default() {
    let server = factory_returning_another_id().await;
    let schematic = Schematic::builder().kernel_arg("yes").build();

    let created = client(&server).create_schematic(&schematic).await.unwrap();

    assert_eq!(created.id, SchematicId::EMPTY);
    let [
        CreateWarning::IdMismatch {
            offline,
            server: reported,
            version_dependent,
        },
    ] = created.warnings.as_slice()
    else {
        panic!("expected one mismatch warning, got {:?}", created.warnings);
    };
    assert_eq!(*offline, schematic.id());
    assert_eq!(*reported, SchematicId::EMPTY);
    assert_eq!(version_dependent[0].value, "yes");
}

#[tokio::test]
async fn id_mismatch_is_an_error_when_the_caller_asks() {
    let server = factory_returning_another_id().await;
    let factory = FactoryClient::builder()
        .base_url(server.uri())
        .on_id_mismatch(OnIdMismatch::Error)
        .build()
        .unwrap();

    let err = factory
        .create_schematic(&tailscale_schematic())
        .await
        .unwrap_err();

    assert!(
        matches!(err, Error::IdMismatch { server, .. } if server == SchematicId::EMPTY),
        "{err}"
    );
}

#[tokio::test]
async fn a_400_is_an_invalid_schematic_with_the_factory_text_and_is_not_retried() {
    let server = MockServer::start().await;
    let text =
        "yaml: construct errors: line 1: field something not found in type schematic.Schematic";
    expect_calls(&server, "POST", "/schematics", plain_error(400, text), 1).await;
    fail_unexpected_requests(&server).await;

    let err = client(&server)
        .create_schematic(&tailscale_schematic())
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::SchematicRejected { message } if message == text),
        "{err}"
    );
    assert!(err.is_invalid_schematic());
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/schematics"))
        .respond_with(plain_error(500, "internal server error"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    expect_tailscale_create(&server).await;
    fail_unexpected_requests(&server).await;

    let created = client(&server)
        .create_schematic(&tailscale_schematic())
        .await
        .unwrap();

    assert_eq!(created.id.to_string(), TAILSCALE_ID);
}

#[tokio::test]
async fn persistent_server_errors_fail_after_the_retry_budget() {
    let server = MockServer::start().await;
    expect_calls(
        &server,
        "GET",
        "/versions",
        plain_error(503, "service not ready").insert_header("Retry-After", "30"),
        3,
    )
    .await;
    fail_unexpected_requests(&server).await;

    let err = client(&server).versions().await.unwrap_err();

    assert!(
        matches!(&err, Error::Http { status: 503, message, .. } if message == "service not ready"),
        "{err}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_retry_after_http_date_is_honoured() {
    let server = MockServer::start().await;
    // HTTP dates have whole seconds: three seconds from now is more than two away.
    let when = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(3));
    Mock::given(method("GET"))
        .and(path("/versions"))
        .respond_with(plain_error(503, "service not ready").insert_header("Retry-After", when))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    expect_calls(
        &server,
        "GET",
        "/versions",
        text_plain_json(fixture!("versions.json")),
        1,
    )
    .await;
    fail_unexpected_requests(&server).await;
    let factory = FactoryClient::builder()
        .base_url(server.uri())
        .retry(fast_retries().with_retry_after_cap(Duration::from_secs(10)))
        .build()
        .unwrap();

    let started = std::time::Instant::now();
    factory.versions().await.unwrap();

    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "retried after {:?}, before the date the server asked for",
        started.elapsed()
    );
}

#[tokio::test]
async fn get_schematic_parses_the_stored_yaml() {
    let server = MockServer::start().await;
    expect_calls(
        &server,
        "GET",
        format!("/schematics/{TAILSCALE_ID}"),
        ResponseTemplate::new(200)
            .set_body_raw(fixture!("schematic-tailscale.yaml"), "application/yaml"),
        1,
    )
    .await;
    fail_unexpected_requests(&server).await;

    let schematic = client(&server)
        .get_schematic(&TAILSCALE_ID.parse().unwrap())
        .await
        .unwrap();

    assert_eq!(schematic, tailscale_schematic());
}

#[tokio::test]
async fn unknown_schematic_is_not_found_and_not_retried() {
    let server = MockServer::start().await;
    expect_calls(
        &server,
        "GET",
        format!("/schematics/{}", SchematicId::EMPTY),
        plain_error(404, "schematic not found"),
        1,
    )
    .await;
    fail_unexpected_requests(&server).await;

    let err = client(&server)
        .get_schematic(&SchematicId::EMPTY)
        .await
        .unwrap_err();

    assert!(err.is_not_found(), "{err}");
    assert!(matches!(&err, Error::NotFound { message, .. } if message == "schematic not found"));
}

#[tokio::test]
async fn versions_and_broken_versions_are_read_from_text_plain_json() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/versions"))
        .and(query_param("broken", "true"))
        .respond_with(text_plain_json(fixture!("broken-versions.json")))
        .expect(1)
        .mount(&server)
        .await;
    expect_calls(
        &server,
        "GET",
        "/versions",
        text_plain_json(fixture!("versions.json")),
        1,
    )
    .await;
    fail_unexpected_requests(&server).await;
    let factory = client(&server);

    let versions = factory.versions().await.unwrap();
    let broken = factory.broken_versions().await.unwrap();

    assert_eq!(versions.first().map(String::as_str), Some("v1.9.5"));
    assert_eq!(versions.len(), 6);
    assert_eq!(broken, ["v1.10.3"]);
}

/// A factory serving the v1.11.1 catalog; the extension list must be fetched exactly
/// `extension_fetches` times.
async fn factory_with_catalog(extension_fetches: u64) -> MockServer {
    let server = MockServer::start().await;
    expect_calls(
        &server,
        "GET",
        "/version/v1.11.1/extensions/official",
        text_plain_json(fixture!("extensions-v1.11.1.json")),
        extension_fetches,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/version/v1.11.1/overlays/official"))
        .respond_with(text_plain_json(fixture!("overlays-v1.11.1.json")))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn extension_lists_are_fetched_once_per_version_and_resolve_names() {
    let server = factory_with_catalog(1).await;
    fail_unexpected_requests(&server).await;
    let factory = client(&server);

    let list = factory.official_extensions("1.11.1").await.unwrap();
    let tailscale = factory
        .resolve_extension("v1.11.1", "tailscale")
        .await
        .unwrap();
    let renamed = factory
        .resolve_extension("v1.11.1", "siderolabs/i915-ucode")
        .await
        .unwrap();

    assert_eq!(list.len(), 6);
    assert_eq!(list[4].r#ref, "ghcr.io/siderolabs/tailscale:1.86.5");
    assert_eq!(tailscale, "siderolabs/tailscale");
    assert_eq!(renamed, "siderolabs/i915");
}

#[tokio::test]
async fn overlays_are_listed() {
    let server = factory_with_catalog(0).await;
    fail_unexpected_requests(&server).await;

    let overlays = client(&server).official_overlays("v1.11.1").await.unwrap();

    assert_eq!(overlays[0].name, "rpi_generic");
    assert_eq!(overlays[0].image, "siderolabs/sbc-raspberrypi");
}

#[tokio::test]
async fn unknown_extension_is_caught_before_posting() {
    let server = factory_with_catalog(1).await;
    fail_unexpected_requests(&server).await;
    let schematic = Schematic::builder()
        .extension("siderolabs/tailscal")
        .build();

    let err = client(&server)
        .create_schematic_for_version(&schematic, "v1.11.1")
        .await
        .unwrap_err();

    assert!(
        matches!(&err, Error::UnknownExtension { name, .. } if name == "siderolabs/tailscal"),
        "{err}"
    );
    assert!(
        err.to_string().contains("siderolabs/tailscale"),
        "suggestion missing: {err}"
    );
}

#[tokio::test]
async fn known_extensions_are_checked_then_posted() {
    let server = factory_with_catalog(1).await;
    expect_tailscale_create(&server).await;
    fail_unexpected_requests(&server).await;

    let created = client(&server)
        .create_schematic_for_version(&tailscale_schematic(), "v1.11.1")
        .await
        .unwrap();

    assert_eq!(created.id.to_string(), TAILSCALE_ID);
}

#[tokio::test]
async fn unknown_version_is_not_found() {
    let server = MockServer::start().await;
    expect_calls(
        &server,
        "GET",
        "/version/v1.99.0/extensions/official",
        plain_error(404, "version v1.99.0 is not available"),
        1,
    )
    .await;
    fail_unexpected_requests(&server).await;

    let err = client(&server)
        .official_extensions("v1.99.0")
        .await
        .unwrap_err();

    assert!(err.is_not_found());
    assert!(err.to_string().contains("Talos version v1.99.0"), "{err}");
}

#[tokio::test]
async fn malformed_versions_fail_without_a_request() {
    let server = MockServer::start().await;
    fail_unexpected_requests(&server).await;

    let err = client(&server).official_overlays("vfoo").await.unwrap_err();

    assert!(matches!(err, Error::InvalidVersion { .. }), "{err}");
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let server = MockServer::start().await;
    expect_calls(
        &server,
        "GET",
        "/versions",
        text_plain_json(fixture!("versions.json")).set_delay(Duration::from_secs(10)),
        2,
    )
    .await;
    fail_unexpected_requests(&server).await;
    let factory = FactoryClient::builder()
        .base_url(server.uri())
        .timeout(Duration::from_millis(200))
        .retry(fast_retries().with_max_retries(1))
        .build()
        .unwrap();

    let err = factory.versions().await.unwrap_err();

    assert!(
        matches!(
            err,
            Error::Transport {
                timed_out: true,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn connection_failures_are_transport_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let factory = FactoryClient::builder()
        .base_url(url)
        .retry(fast_retries())
        .build()
        .unwrap();

    let err = factory.versions().await.unwrap_err();

    assert!(
        matches!(
            err,
            Error::Transport {
                timed_out: false,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_base_path_prefix_is_kept() {
    let server = MockServer::start().await;
    expect_calls(
        &server,
        "GET",
        "/factory/versions",
        text_plain_json(fixture!("versions.json")),
        1,
    )
    .await;
    fail_unexpected_requests(&server).await;
    let factory = FactoryClient::builder()
        .base_url(format!("{}/factory/", server.uri()))
        .build()
        .unwrap();

    assert_eq!(factory.versions().await.unwrap().len(), 6);
}

#[test]
fn installer_images_use_the_factory_host() {
    let factory = FactoryClient::new("https://factory.example.com:8443").unwrap();
    let image = factory
        .installer_image(&SchematicId::EMPTY, "1.11.1", "metal", false)
        .unwrap();
    assert_eq!(
        image.to_string(),
        format!(
            "factory.example.com:8443/metal-installer/{}:v1.11.1",
            SchematicId::EMPTY
        )
    );
    let default = FactoryClient::builder().build().unwrap();
    let legacy = default
        .installer_image(&SchematicId::EMPTY, "v1.9.0", "metal", true)
        .unwrap();
    assert_eq!(
        legacy.to_string(),
        format!(
            "factory.talos.dev/installer-secureboot/{}:v1.9.0",
            SchematicId::EMPTY
        )
    );
}

#[test]
fn invalid_base_urls_are_refused() {
    for url in [
        "factory.talos.dev",
        "ftp://factory.talos.dev",
        "https://factory.talos.dev/?x=1",
    ] {
        assert!(
            matches!(FactoryClient::new(url), Err(Error::InvalidUrl { .. })),
            "{url}"
        );
    }
}

#[test]
fn plain_http_is_refused_off_loopback_unless_allowed() {
    let refused = FactoryClient::new("http://factory.example.com");
    assert!(
        matches!(&refused, Err(Error::InvalidUrl { reason, .. }) if reason.contains("cleartext")),
        "{refused:?}"
    );
    assert!(FactoryClient::new("http://127.0.0.1:8080").is_ok());
    assert!(FactoryClient::new("http://localhost:8080").is_ok());
    let allowed = FactoryClient::builder()
        .base_url("http://factory.example.com")
        .allow_insecure_http(true)
        .build();
    assert!(allowed.is_ok(), "{allowed:?}");
}

/// Only 5xx answers and transport failures are retried: any other 4xx fails at once.
#[tokio::test]
async fn other_client_errors_are_not_retried() {
    for (status, text) in [(403, "access denied"), (429, "too many requests")] {
        let server = MockServer::start().await;
        expect_calls(&server, "GET", "/versions", plain_error(status, text), 1).await;
        fail_unexpected_requests(&server).await;

        let err = client(&server).versions().await.unwrap_err();

        assert!(
            matches!(&err, Error::Http { status: got, message, .. } if *got == status && message == text),
            "{err}"
        );
        assert!(!err.is_retryable());
    }
}
