//! Devices: list with filters, get, delete, authorize, tags, key expiry, rename.

use serde_json::json;
use tailscale_client::{Deleted, Error};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{answer_times, api_error, catch_all, client_for, json_fixture};

#[tokio::test]
async fn list_requests_all_fields_and_decodes_real_quirks() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/tailnet/-/devices"))
        .and(query_param("fields", "all"))
        .respond_with(json_fixture("devices_list.json"))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;

    let devices = client_for(&server).devices().list().send().await.unwrap();

    assert_eq!(devices.len(), 3);
    let node = &devices[0];
    assert!(node.connected_to_control);
    assert_eq!(node.last_seen, None, "no lastSeen while connected");
    assert_eq!(node.expires, None, "zero time means no expiry");
    assert_eq!(node.advertised_routes.len(), 2);
    assert_eq!(node.distro.as_ref().unwrap().name, "talos");
    let connectivity = node.client_connectivity.as_ref().unwrap();
    assert_eq!(connectivity.client_supports["hairPinning"], None);
    assert!(connectivity.latency["Amsterdam"].preferred);
    let external = &devices[2];
    assert!(external.is_external);
    assert_eq!(external.created, None, "empty created decodes to None");
    assert!(
        external.advertised_routes.is_empty(),
        "fields absent without fields=all"
    );
}

#[tokio::test]
async fn list_sends_server_side_filters() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/tailnet/-/devices"))
        .and(query_param("fields", "all"))
        .and(query_param("hostname", "talos-cp-1"))
        .and(query_param("tags", "tag:talos"))
        .and(query_param("isEphemeral", "false"))
        .respond_with(json_fixture("devices_list.json"))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    client_for(&server)
        .devices()
        .list()
        .hostname("talos-cp-1")
        .tag("tag:talos")
        .ephemeral(false)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn get_asks_for_all_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/device/nQqJ2r8CNTRL"))
        .and(query_param("fields", "all"))
        .respond_with(json_fixture("device_get.json"))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let device = client_for(&server)
        .devices()
        .get("nQqJ2r8CNTRL")
        .await
        .unwrap();
    assert_eq!(device.device_id(), "nQqJ2r8CNTRL");
    assert_eq!(device.enabled_routes, ["10.244.0.0/16".parse().unwrap()]);
}

#[tokio::test]
async fn get_of_an_unknown_device_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/device/nNope"))
        .respond_with(api_error(404, "not found"))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = client_for(&server)
        .devices()
        .get("nNope")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn delete_handles_gone_devices_and_reports_foreign_ones() {
    let server = MockServer::start().await;
    answer_times(
        &server,
        "DELETE",
        "/api/v2/device/nOldTalos8CNTRL",
        ResponseTemplate::new(200),
        1,
    )
    .await;
    answer_times(
        &server,
        "DELETE",
        "/api/v2/device/nGone",
        api_error(404, "not found"),
        1,
    )
    .await;
    answer_times(
        &server,
        "DELETE",
        "/api/v2/device/nShared9CNTRL",
        api_error(501, "cannot delete devices outside of your tailnet"),
        1,
    )
    .await;
    catch_all(&server).await;
    let devices = client_for(&server);
    let devices = devices.devices();
    assert_eq!(
        devices.delete("nOldTalos8CNTRL").await.unwrap(),
        Deleted::Deleted
    );
    assert_eq!(devices.delete("nGone").await.unwrap(), Deleted::AlreadyGone);
    let err = devices.delete("nShared9CNTRL").await.unwrap_err();
    assert_eq!(err.status(), Some(501));
    assert!(!err.is_retryable(), "501 is not retried");
    assert!(err.to_string().contains("outside of your tailnet"));
}

#[tokio::test]
async fn setters_send_their_bodies_and_accept_empty_or_brace_answers() {
    let server = MockServer::start().await;
    let cases = [
        ("authorized", json!({"authorized": true})),
        ("tags", json!({"tags": ["tag:talos", "tag:k8s"]})),
        ("key", json!({"keyExpiryDisabled": true})),
        ("name", json!({"name": "talos-cp-1"})),
    ];
    for (i, (endpoint, body)) in cases.iter().enumerate() {
        // Alternate the two success shapes the API uses: empty body and `{}`.
        let answer = if i % 2 == 0 {
            ResponseTemplate::new(200)
        } else {
            ResponseTemplate::new(200).set_body_json(json!({}))
        };
        Mock::given(method("POST"))
            .and(path(format!("/api/v2/device/nQqJ2r8CNTRL/{endpoint}")))
            .and(body_json(body))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
    }
    catch_all(&server).await;
    let client = client_for(&server);
    let devices = client.devices();
    devices.set_authorized("nQqJ2r8CNTRL", true).await.unwrap();
    devices
        .set_tags("nQqJ2r8CNTRL", &["tag:talos", "tag:k8s"])
        .await
        .unwrap();
    devices
        .set_key_expiry_disabled("nQqJ2r8CNTRL", true)
        .await
        .unwrap();
    devices.rename("nQqJ2r8CNTRL", "talos-cp-1").await.unwrap();
}

#[tokio::test]
async fn malformed_tags_are_refused_locally() {
    let server = MockServer::start().await;
    catch_all(&server).await;
    let err = client_for(&server)
        .devices()
        .set_tags("nQqJ2r8CNTRL", &["talos"])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    assert!(server.received_requests().await.unwrap().is_empty());
}
