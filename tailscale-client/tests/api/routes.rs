//! Subnet routes: get, set, approve (merge), revoke, wait until advertised.

use std::time::Duration;

use serde_json::json;
use tailscale_client::{Error, IpNet};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{answer_times, catch_all, client_for, json_fixture};

const ROUTES: &str = "/api/v2/device/nQqJ2r8CNTRL/routes";

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[tokio::test]
async fn get_reads_advertised_and_enabled() {
    let server = MockServer::start().await;
    answer_times(
        &server,
        "GET",
        ROUTES,
        json_fixture("device_routes.json"),
        1,
    )
    .await;
    catch_all(&server).await;
    let routes = client_for(&server)
        .routes()
        .get("nQqJ2r8CNTRL")
        .await
        .unwrap();
    assert_eq!(routes.unapproved(), [net("10.96.0.0/12")]);
}

#[tokio::test]
async fn set_replaces_the_enabled_list() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ROUTES))
        .and(body_json(json!({"routes": []})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"advertisedRoutes": ["10.96.0.0/12"], "enabledRoutes": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let routes = client_for(&server)
        .routes()
        .set("nQqJ2r8CNTRL", &[])
        .await
        .unwrap();
    assert!(routes.enabled_routes.is_empty());
}

#[tokio::test]
async fn set_with_an_empty_answer_reads_the_routes_back() {
    let server = MockServer::start().await;
    answer_times(&server, "POST", ROUTES, ResponseTemplate::new(200), 1).await;
    answer_times(
        &server,
        "GET",
        ROUTES,
        json_fixture("device_routes_approved.json"),
        1,
    )
    .await;
    catch_all(&server).await;
    let routes = client_for(&server)
        .routes()
        .set("nQqJ2r8CNTRL", &[net("10.244.0.0/16"), net("10.96.0.0/12")])
        .await
        .unwrap();
    assert_eq!(routes.enabled_routes.len(), 2);
}

#[tokio::test]
async fn approve_merges_with_what_is_enabled_and_reports_unadvertised() {
    let server = MockServer::start().await;
    answer_times(
        &server,
        "GET",
        ROUTES,
        json_fixture("device_routes.json"),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(ROUTES))
        .and(body_json(
            json!({"routes": ["10.244.0.0/16", "10.96.0.0/12", "192.168.50.0/24"]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "advertisedRoutes": ["10.96.0.0/12", "10.244.0.0/16"],
            "enabledRoutes": ["10.244.0.0/16", "10.96.0.0/12", "192.168.50.0/24"]
        })))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let approval = client_for(&server)
        .routes()
        .approve(
            "nQqJ2r8CNTRL",
            &[net("10.96.0.0/12"), net("192.168.50.0/24")],
        )
        .await
        .unwrap();
    assert_eq!(approval.not_advertised, [net("192.168.50.0/24")]);
    assert_eq!(approval.routes.enabled_routes.len(), 3);
}

#[tokio::test]
async fn approve_on_a_device_without_routes_accepts_go_null_lists() {
    let server = MockServer::start().await;
    answer_times(
        &server,
        "GET",
        ROUTES,
        ResponseTemplate::new(200)
            .set_body_json(json!({ "advertisedRoutes": null, "enabledRoutes": null })),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(ROUTES))
        .and(body_json(json!({"routes": ["10.96.0.0/12"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "advertisedRoutes": null, "enabledRoutes": ["10.96.0.0/12"]
        })))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let approval = client_for(&server)
        .routes()
        .approve("nQqJ2r8CNTRL", &[net("10.96.0.0/12")])
        .await
        .unwrap();
    assert_eq!(approval.not_advertised, [net("10.96.0.0/12")]);
    assert_eq!(approval.routes.enabled_routes, [net("10.96.0.0/12")]);
}

#[tokio::test]
async fn approving_enabled_routes_writes_nothing() {
    let server = MockServer::start().await;
    answer_times(
        &server,
        "GET",
        ROUTES,
        json_fixture("device_routes_approved.json"),
        1,
    )
    .await;
    catch_all(&server).await;
    let approval = client_for(&server)
        .routes()
        .approve("nQqJ2r8CNTRL", &[net("10.96.0.0/12")])
        .await
        .unwrap();
    assert!(!approval.changed());
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "only the GET"
    );
}

#[tokio::test]
async fn revoke_removes_only_the_named_routes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ROUTES))
        .respond_with(json_fixture("device_routes_approved.json"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ROUTES))
        .and(body_json(json!({"routes": ["10.244.0.0/16"]})))
        .respond_with(json_fixture("device_routes.json"))
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let routes = client_for(&server)
        .routes()
        .revoke("nQqJ2r8CNTRL", &[net("10.96.0.0/12")])
        .await
        .unwrap();
    assert_eq!(routes.enabled_routes, [net("10.244.0.0/16")]);
}

#[tokio::test(start_paused = true)]
async fn wait_until_advertised_polls_until_the_route_appears() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ROUTES))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "advertisedRoutes": [], "enabledRoutes": []
        })))
        .up_to_n_times(3)
        .expect(3)
        .mount(&server)
        .await;
    answer_times(
        &server,
        "GET",
        ROUTES,
        json_fixture("device_routes.json"),
        1,
    )
    .await;
    catch_all(&server).await;
    let start = tokio::time::Instant::now();
    let routes = client_for(&server)
        .routes()
        .wait_until_advertised(
            "nQqJ2r8CNTRL",
            &[net("10.96.0.0/12")],
            Duration::from_secs(120),
        )
        .await
        .unwrap();
    assert!(routes.is_advertised(&net("10.96.0.0/12")));
    // Backoff 1 s, 2 s, 4 s between the four polls.
    assert!(
        start.elapsed() >= Duration::from_secs(7),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn wait_until_advertised_times_out_naming_the_missing_route() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ROUTES))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "advertisedRoutes": ["10.244.0.0/16"], "enabledRoutes": []
        })))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = client_for(&server)
        .routes()
        .wait_until_advertised(
            "nQqJ2r8CNTRL",
            &[net("10.96.0.0/12")],
            Duration::from_secs(30),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("10.96.0.0/12"), "{err}");
}
