//! Policy file: get with ETag, validate, set with If-Match, key tag pre-check.

use tailscale_client::{Error, Policy, PolicyFormat};
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{answer_times, api_error, catch_all, client_for, fixture};

const ACL: &str = "/api/v2/tailnet/-/acl";
const ETAG: &str = "\"e0b2816b418b3f266309d94426ac7fe5f3a0d84b\"";

fn hujson_policy() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(fixture("policy.hujson"), "application/hujson")
        .insert_header("etag", ETAG)
}

#[tokio::test]
async fn get_returns_the_hujson_text_and_its_etag() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ACL))
        .and(header("accept", "application/hujson"))
        .respond_with(hujson_policy())
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let policy = client_for(&server)
        .policy()
        .get(PolicyFormat::HuJson)
        .await
        .unwrap();
    assert_eq!(policy.etag(), Some(ETAG));
    assert_eq!(policy.text(), fixture("policy.hujson"));
    assert_eq!(
        policy.tag_owners("tag:talos").unwrap(),
        ["autogroup:admin", "tag:talos-admin"]
    );
}

#[tokio::test]
async fn get_as_json_asks_for_json() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ACL))
        .and(header("accept", "application/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(
                    r#"{"acls":[{"action":"accept","src":["*"],"dst":["*:*"]}]}"#,
                    "application/json",
                )
                .insert_header("etag", ETAG),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let policy = client_for(&server)
        .policy()
        .get(PolicyFormat::Json)
        .await
        .unwrap();
    assert!(policy.allows_access("tag:a", "tag:b"));
}

#[tokio::test]
async fn set_sends_the_edited_text_with_if_match_and_keeps_comments() {
    let server = MockServer::start().await;
    let mut policy = Policy::parse(fixture("policy.hujson"))
        .unwrap()
        .with_etag(ETAG);
    policy
        .ensure_route_auto_approver(&"10.96.0.0/12".parse().unwrap(), "tag:talos")
        .unwrap();
    let edited = policy.text().to_owned();
    assert!(edited.contains("/* Subnet routes from the nodes are approved automatically. */"));
    Mock::given(method("POST"))
        .and(path(ACL))
        .and(header("if-match", ETAG))
        .and(header("content-type", "application/hujson"))
        .and(header("accept", "application/json"))
        .and(body_string(edited.clone()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(policy.value())
                .insert_header("etag", "\"new-hash\""),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let saved = client_for(&server).policy().set(&policy).await.unwrap();
    assert_eq!(saved.etag(), Some("\"new-hash\""));
    assert_eq!(saved.text(), edited);
}

#[tokio::test]
async fn a_concurrent_edit_is_a_typed_conflict() {
    let server = MockServer::start().await;
    answer_times(
        &server,
        "POST",
        ACL,
        ResponseTemplate::new(412).set_body_raw(
            fixture("error_precondition_failed.json"),
            "application/json",
        ),
        1,
    )
    .await;
    catch_all(&server).await;
    let policy = Policy::parse(fixture("policy.hujson"))
        .unwrap()
        .with_etag("stale-hash");
    let err = client_for(&server).policy().set(&policy).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        sent.headers["if-match"], "\"stale-hash\"",
        "the etag is quoted"
    );
}

#[tokio::test]
async fn failing_policy_tests_on_save_carry_the_details() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(ACL))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            fixture("error_policy_tests_failed.json"),
            "application/json",
        ))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let policy = Policy::parse(fixture("policy.hujson")).unwrap();
    let err = client_for(&server).policy().set(&policy).await.unwrap_err();
    let Error::BadRequest { details, .. } = &err else {
        panic!("unexpected {err}")
    };
    assert_eq!(details[0].user.as_deref(), Some("tag:talos-admin"));
    assert!(err.to_string().contains("want: Accept, got: Drop"), "{err}");
}

#[tokio::test]
async fn validate_reports_failures_that_come_with_status_200() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/tailnet/-/acl/validate"))
        .and(header("content-type", "application/hujson"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("policy_validate_failed.json"), "application/json"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/tailnet/-/acl/validate"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let client = client_for(&server);
    let policy = Policy::parse(fixture("policy.hujson")).unwrap();
    let failed = client.policy().validate(&policy).await.unwrap();
    assert!(!failed.passed());
    assert_eq!(failed.data[0].errors.len(), 1);
    let passed = client.policy().validate(&policy).await.unwrap();
    assert!(passed.passed());
}

#[tokio::test]
async fn key_tags_are_checked_against_tag_owners() {
    let server = MockServer::start().await;
    answer_times(&server, "GET", ACL, hujson_policy(), 2).await;
    catch_all(&server).await;
    let client = client_for(&server);
    client
        .policy()
        .check_key_tags(&["tag:talos"], Some("tag:talos-admin"))
        .await
        .unwrap();
    let err = client
        .policy()
        .check_key_tags(&["tag:talos", "tag:router"], Some("tag:talos-admin"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::TagsNotOwned { tags } if tags == &["tag:router"]),
        "{err}"
    );
}

#[tokio::test]
async fn forbidden_policy_read_names_the_scope() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ACL))
        .respond_with(api_error(403, "forbidden"))
        .mount(&server)
        .await;
    catch_all(&server).await;
    let err = client_for(&server)
        .policy()
        .get(PolicyFormat::HuJson)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("`policy_file:read` scope"),
        "{err}"
    );
}

#[tokio::test]
async fn modify_reads_again_and_reapplies_the_edit_after_a_concurrent_save() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ACL))
        .respond_with(hujson_policy())
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/tailnet/-/acl/validate"))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ACL))
        .respond_with(ResponseTemplate::new(412).set_body_raw(
            fixture("error_precondition_failed.json"),
            "application/json",
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(ACL))
        .and(header("if-match", ETAG))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("{}", "application/json")
                .insert_header("etag", "\"new-hash\""),
        )
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let mut edits = 0;
    let modified = client_for(&server)
        .policy()
        .modify(3, |policy| {
            edits += 1;
            policy.ensure_tag_owner("tag:k8s", "autogroup:admin")
        })
        .await
        .unwrap();
    assert_eq!(edits, 2, "the edit is applied to the re-read policy");
    assert_eq!(modified.attempts, 2);
    assert!(modified.before.tag_owners("tag:k8s").is_none());
    let saved = modified.saved.unwrap();
    assert_eq!(saved.etag(), Some("\"new-hash\""));
    assert_eq!(
        saved.tag_owners("tag:k8s").unwrap(),
        ["autogroup:admin"],
        "{}",
        saved.text()
    );
}

#[tokio::test]
async fn modify_writes_nothing_when_the_edit_changes_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ACL))
        .respond_with(hujson_policy())
        .expect(1)
        .mount(&server)
        .await;
    catch_all(&server).await;
    let modified = client_for(&server)
        .policy()
        .modify(3, |_| Ok(false))
        .await
        .unwrap();
    assert!(modified.saved.is_none());
    assert_eq!(modified.attempts, 1);
    let posts = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.method.as_str() == "POST")
        .count();
    assert_eq!(posts, 0);
}

#[tokio::test]
async fn modify_gives_up_on_a_file_that_keeps_changing_without_overwriting_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ACL))
        .respond_with(hujson_policy())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v2/tailnet/-/acl/validate"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    answer_times(
        &server,
        "POST",
        ACL,
        ResponseTemplate::new(412).set_body_raw(
            fixture("error_precondition_failed.json"),
            "application/json",
        ),
        2,
    )
    .await;
    catch_all(&server).await;
    let err = client_for(&server)
        .policy()
        .modify(2, |policy| {
            policy.ensure_tag_owner("tag:k8s", "autogroup:admin")
        })
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
}
