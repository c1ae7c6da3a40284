//! The simulated tailnet enforces auth key properties, shapes devices and errors like the
//! Tailscale admin API, and lets devices appear late (tokio time is paused here).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sim::clock::SimClock;
use sim::tailnet::{Registration, Tailnet, TailnetOptions};
use sim::{Faults, HttpServer};

/// Long enough that no other timer (a client's idle-connection expiry, ≤ 90 s) can move a paused
/// clock past it while a request is in flight.
const APPEAR_DELAY: Duration = Duration::from_secs(3600);

struct Api {
    tailnet: Tailnet,
    faults: Faults,
    server: HttpServer,
    http: reqwest::Client,
    token: String,
}

impl Api {
    async fn start_with(options: TailnetOptions) -> Self {
        let faults = Faults::default();
        let tailnet = Tailnet::new(options, SimClock::start(), faults.clone()).unwrap();
        let server = tailnet.serve().await.unwrap();
        let token = tailnet.api_key().expose_secret().to_owned();
        Self {
            tailnet,
            faults,
            server,
            http: reqwest::Client::new(),
            token,
        }
    }

    async fn start() -> Self {
        Self::start_with(TailnetOptions {
            appear_delay: APPEAR_DELAY,
            ..TailnetOptions::default()
        })
        .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v2{path}", self.server.url())
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.bearer_auth(&self.token).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, body)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(self.url(path))).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    async fn create_key(&self, create: Value, expiry_seconds: Option<u64>) -> (u16, Value) {
        let mut body = json!({ "capabilities": { "devices": { "create": create } } });
        if let Some(expiry) = expiry_seconds {
            body["expirySeconds"] = json!(expiry);
        }
        self.post("/tailnet/-/keys", body).await
    }

    async fn tagged_key(&self, reusable: bool) -> SecretString {
        let (status, key) = self
            .create_key(
                json!({ "reusable": reusable, "preauthorized": true, "tags": ["tag:k8s"] }),
                None,
            )
            .await;
        assert_eq!(status, 200, "{key}");
        SecretString::from(key["key"].as_str().unwrap().to_owned())
    }

    fn register(&self, host: &str, key: &SecretString, routes: &[&str]) -> Result<String, String> {
        let mut registration = Registration::new(host, key.clone());
        registration.advertise_routes = routes.iter().map(|r| (*r).to_owned()).collect();
        self.tailnet
            .register(&registration)
            .map_err(|e| e.message().to_owned())
    }

    async fn devices(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/tailnet/-/devices{query}")).await;
        assert_eq!(status, 200, "{body}");
        body["devices"].as_array().unwrap().clone()
    }
}

#[tokio::test(start_paused = true)]
async fn requests_without_a_valid_token_get_401_with_a_message_body() {
    let api = Api::start().await;
    let response = api
        .http
        .get(api.url("/tailnet/-/devices"))
        .bearer_auth("tskey-api-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].is_string(), "{body}");
}

#[tokio::test(start_paused = true)]
async fn basic_auth_with_the_token_as_user_name_is_accepted() {
    let api = Api::start().await;
    let response = api
        .http
        .get(api.url("/tailnet/-/keys"))
        .basic_auth(&api.token, None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test(start_paused = true)]
async fn a_key_with_a_tag_missing_from_tag_owners_is_rejected_with_the_real_message() {
    let api = Api::start().await;
    let (status, body) = api
        .create_key(json!({ "tags": ["tag:k8s", "tag:madeup"] }), None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "requested tags [tag:madeup] are invalid or not permitted"
    );
}

#[tokio::test(start_paused = true)]
async fn a_key_longer_than_90_days_is_rejected() {
    let api = Api::start().await;
    let (status, body) = api.create_key(json!({}), Some(91 * 24 * 3600)).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test(start_paused = true)]
async fn the_key_secret_is_only_in_the_create_response() {
    let api = Api::start().await;
    let (_, created) = api.create_key(json!({ "reusable": true }), None).await;
    assert!(created["key"].as_str().unwrap().starts_with("tskey-auth-"));
    let (status, fetched) = api
        .get(&format!(
            "/tailnet/-/keys/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    assert!(fetched.get("key").is_none(), "{fetched}");
    assert_eq!(fetched["invalid"], false);
}

#[tokio::test(start_paused = true)]
async fn a_device_appears_late_connected_and_with_routes_only_under_fields_all() {
    let api = Api::start().await;
    let key = api.tagged_key(true).await;
    api.register("k8s-1", &key, &["10.43.0.0/16"]).unwrap();
    assert!(
        api.devices("").await.is_empty(),
        "device must not appear at once"
    );

    tokio::time::advance(APPEAR_DELAY).await;

    let default = api.devices("").await;
    assert_eq!(default.len(), 1);
    let device = &default[0];
    assert_eq!(device["hostname"], "k8s-1");
    assert_eq!(device["connectedToControl"], true);
    assert!(device.get("lastSeen").is_none(), "{device}");
    assert!(device.get("advertisedRoutes").is_none(), "{device}");
    assert_eq!(device["tags"], json!(["tag:k8s"]));
    assert_eq!(device["authorized"], true);
    let all = api.devices("?fields=all").await;
    assert_eq!(all[0]["advertisedRoutes"], json!(["10.43.0.0/16"]));
    assert_eq!(all[0]["enabledRoutes"], json!([]));
}

#[tokio::test(start_paused = true)]
async fn a_single_use_key_cannot_register_a_second_device_and_is_then_gone() {
    let api = Api::start().await;
    let (_, created) = api.create_key(json!({ "preauthorized": true }), None).await;
    let key = SecretString::from(created["key"].as_str().unwrap().to_owned());
    api.register("k8s-1", &key, &[]).unwrap();
    let second = api.register("k8s-2", &key, &[]).unwrap_err();
    assert_eq!(second, "invalid key: API key does not exist");
    let (status, _) = api
        .get(&format!(
            "/tailnet/-/keys/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test(start_paused = true)]
async fn an_expired_key_fails_registration_and_reads_as_invalid() {
    let api = Api::start().await;
    let (_, created) = api.create_key(json!({ "reusable": true }), Some(60)).await;
    let key = SecretString::from(created["key"].as_str().unwrap().to_owned());
    tokio::time::advance(Duration::from_secs(61)).await;
    let error = api.register("k8s-1", &key, &[]).unwrap_err();
    assert_eq!(error, "invalid key: API key does not exist");
    let (_, fetched) = api
        .get(&format!(
            "/tailnet/-/keys/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(fetched["invalid"], true);
}

#[tokio::test(start_paused = true)]
async fn a_revoked_key_fails_registration() {
    let api = Api::start().await;
    let (_, created) = api.create_key(json!({ "reusable": true }), None).await;
    let id = created["id"].as_str().unwrap();
    let response = api
        .send(api.http.delete(api.url(&format!("/tailnet/-/keys/{id}"))))
        .await;
    assert_eq!(response.0, 200);
    let key = SecretString::from(created["key"].as_str().unwrap().to_owned());
    assert!(api.register("k8s-1", &key, &[]).is_err());
    let (_, fetched) = api.get(&format!("/tailnet/-/keys/{id}")).await;
    assert!(fetched["revoked"].is_string(), "{fetched}");
}

#[tokio::test(start_paused = true)]
async fn a_second_device_with_the_same_hostname_gets_a_dash_one_name() {
    let api = Api::start().await;
    let key = api.tagged_key(true).await;
    api.register("k8s-1", &key, &[]).unwrap();
    api.register("k8s-1", &key, &[]).unwrap();
    tokio::time::advance(APPEAR_DELAY).await;
    let mut names: Vec<String> = api
        .devices("?hostname=k8s-1")
        .await
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["k8s-1-1.tail5a1c0.ts.net", "k8s-1.tail5a1c0.ts.net"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_device_without_a_preauthorized_key_needs_authorization() {
    let api = Api::start().await;
    let (_, created) = api
        .create_key(json!({ "reusable": true, "tags": ["tag:k8s"] }), None)
        .await;
    let key = SecretString::from(created["key"].as_str().unwrap().to_owned());
    let id = api.register("k8s-1", &key, &[]).unwrap();
    tokio::time::advance(APPEAR_DELAY).await;
    assert_eq!(
        api.get(&format!("/device/{id}")).await.1["authorized"],
        false
    );
    let (status, _) = api
        .post(
            &format!("/device/{id}/authorized"),
            json!({ "authorized": true }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        api.get(&format!("/device/{id}")).await.1["authorized"],
        true
    );
}

#[tokio::test(start_paused = true)]
async fn approving_routes_replaces_the_enabled_set() {
    let api = Api::start().await;
    let key = api.tagged_key(true).await;
    let id = api.register("k8s-1", &key, &["10.43.0.0/16"]).unwrap();
    tokio::time::advance(APPEAR_DELAY).await;
    let (status, routes) = api
        .post(
            &format!("/device/{id}/routes"),
            json!({ "routes": ["10.43.0.0/16"] }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(routes["enabledRoutes"], json!(["10.43.0.0/16"]));
    let (_, fetched) = api.get(&format!("/device/{id}/routes")).await;
    assert_eq!(fetched["advertisedRoutes"], json!(["10.43.0.0/16"]));
    assert_eq!(fetched["enabledRoutes"], json!(["10.43.0.0/16"]));
}

#[tokio::test(start_paused = true)]
async fn auto_approvers_enable_advertised_routes_of_tagged_devices() {
    let policy = r#"{"tagOwners": {"tag:k8s": ["autogroup:admin"]},
        "autoApprovers": {"routes": {"10.43.0.0/16": ["tag:k8s"]}}}"#;
    let api = Api::start_with(TailnetOptions {
        policy: policy.to_owned(),
        appear_delay: APPEAR_DELAY,
        ..TailnetOptions::default()
    })
    .await;
    let key = api.tagged_key(true).await;
    let id = api.register("k8s-1", &key, &["10.43.0.0/16"]).unwrap();
    tokio::time::advance(APPEAR_DELAY).await;
    let (_, routes) = api.get(&format!("/device/{id}/routes")).await;
    assert_eq!(routes["enabledRoutes"], json!(["10.43.0.0/16"]));
}

#[tokio::test(start_paused = true)]
async fn a_disconnected_device_reports_last_seen() {
    let api = Api::start().await;
    let key = api.tagged_key(true).await;
    let id = api.register("k8s-1", &key, &[]).unwrap();
    tokio::time::advance(APPEAR_DELAY).await;
    api.tailnet.disconnect(&id);
    let (_, device) = api.get(&format!("/device/{id}")).await;
    assert_eq!(device["connectedToControl"], false);
    assert!(device["lastSeen"].is_string(), "{device}");
}

#[tokio::test(start_paused = true)]
async fn a_node_with_persisted_state_logs_in_again_as_the_same_device() {
    let api = Api::start().await;
    let key = api.tagged_key(false).await;
    let id = api.register("k8s-1", &key, &[]).unwrap();
    api.tailnet.disconnect(&id);
    let mut again = Registration::new("k8s-1", key.clone());
    again.known_device = Some(id.clone());
    assert_eq!(api.tailnet.register(&again).unwrap(), id);
    tokio::time::advance(APPEAR_DELAY).await;
    assert_eq!(api.devices("").await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn policy_updates_need_the_current_etag() {
    let api = Api::start().await;
    let current = api
        .http
        .get(api.url("/tailnet/-/acl"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        current.headers()["content-type"].to_str().unwrap(),
        "application/hujson"
    );
    let etag = current.headers()["etag"].to_str().unwrap().to_owned();
    let new_policy = r#"{"tagOwners": {"tag:k8s": ["autogroup:admin"], "tag:ci": []}}"#;
    let (stale, body) = api
        .send(
            api.http
                .post(api.url("/tailnet/-/acl"))
                .header("If-Match", "\"0123456789abcdef\"")
                .body(new_policy),
        )
        .await;
    assert_eq!(stale, 412);
    assert_eq!(body["message"], "precondition failed, invalid old hash");
    let updated = api
        .http
        .post(api.url("/tailnet/-/acl"))
        .bearer_auth(&api.token)
        .header("If-Match", &etag)
        .header("Accept", "application/json")
        .body(new_policy)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status().as_u16(), 200);
    assert_ne!(updated.headers()["etag"].to_str().unwrap(), etag);
    let body: Value = updated.json().await.unwrap();
    assert_eq!(body["tagOwners"]["tag:ci"], json!([]));
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_fault_answers_429_with_retry_after_then_recovers() {
    let api = Api::start().await;
    api.faults.tailnet_rate_limited(1, Duration::from_secs(7));
    let limited = api
        .http
        .get(api.url("/tailnet/-/devices"))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    assert_eq!(api.get("/tailnet/-/devices").await.0, 200);
}

#[tokio::test(start_paused = true)]
async fn an_oauth_token_works_and_its_keys_must_be_tagged() {
    let api = Api::start().await;
    let (id, secret) = api.tailnet.oauth_client();
    let response = api
        .http
        .post(api.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret.expose_secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let token: Value = response.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    let oauth = Api {
        token: token["access_token"].as_str().unwrap().to_owned(),
        ..api
    };
    let (untagged, _) = oauth.create_key(json!({}), None).await;
    assert_eq!(untagged, 400);
    let (tagged, _) = oauth.create_key(json!({ "tags": ["tag:k8s"] }), None).await;
    assert_eq!(tagged, 200);
}

#[tokio::test(start_paused = true)]
async fn fault_device_never_connects_and_routes_never_advertised() {
    let api = Api::start().await;
    api.faults
        .device_never_connects("k8s-2")
        .routes_never_advertised("k8s-2");
    let key = api.tagged_key(true).await;
    let id = api.register("k8s-2", &key, &["10.43.0.0/16"]).unwrap();
    tokio::time::advance(APPEAR_DELAY * 10).await;
    let (_, device) = api.get(&format!("/device/{id}?fields=all")).await;
    assert_eq!(device["connectedToControl"], false);
    assert_eq!(device["advertisedRoutes"], json!([]));
}

#[tokio::test(start_paused = true)]
async fn an_oauth_secret_as_auth_key_makes_an_ephemeral_unauthorized_device_by_default() {
    let api = Api::start().await;
    let (_, secret) = api.tailnet.oauth_client();
    let mut plain = Registration::new("k8s-1", secret.clone());
    plain.advertise_tags = vec!["tag:k8s".to_owned()];
    let ephemeral = api.tailnet.register(&plain).unwrap();

    let tuned = format!(
        "{}?ephemeral=false&preauthorized=true",
        secret.expose_secret()
    );
    let mut tuned = Registration::new("k8s-2", SecretString::from(tuned));
    tuned.advertise_tags = vec!["tag:k8s".to_owned()];
    let durable = api.tailnet.register(&tuned).unwrap();

    let mut untagged = Registration::new("k8s-3", secret.clone());
    untagged.advertise_tags.clear();
    assert_eq!(
        api.tailnet.register(&untagged).unwrap_err().message(),
        "oauth authkeys require --advertise-tags"
    );
    tokio::time::advance(APPEAR_DELAY).await;
    let (_, first) = api.get(&format!("/device/{ephemeral}")).await;
    assert_eq!(
        (first["isEphemeral"].clone(), first["authorized"].clone()),
        (json!(true), json!(false))
    );
    let (_, second) = api.get(&format!("/device/{durable}")).await;
    assert_eq!(
        (second["isEphemeral"].clone(), second["authorized"].clone()),
        (json!(false), json!(true))
    );
}

#[tokio::test(start_paused = true)]
async fn a_logged_in_node_given_a_new_key_stays_the_same_device() {
    let api = Api::start().await;
    let old_key = api.tagged_key(true).await;
    let id = api.register("k8s-1", &old_key, &["10.43.0.0/16"]).unwrap();
    let new_key = api.tagged_key(true).await;
    let mut rotated = Registration::new("k8s-1", new_key);
    rotated.known_device = Some(id.clone());
    rotated.advertise_routes = vec!["10.43.0.0/16".to_owned()];
    assert_eq!(api.tailnet.register(&rotated).unwrap(), id);
    tokio::time::advance(APPEAR_DELAY).await;
    assert_eq!(api.devices("").await.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_federated_identity_mints_a_single_use_key_only_for_a_trusted_token_with_tags() {
    let api = Api::start().await;
    let (client_id, token) = api.tailnet.federated_identity();
    let tags = ["tag:k8s".to_owned()];
    let wrong = SecretString::from("eyJfake.other.token");
    let refuse = |client_id: &str, token: &SecretString, tags: &[String]| {
        api.tailnet
            .federated_login_key(client_id, token, tags)
            .unwrap_err()
            .to_string()
    };
    assert!(refuse(client_id, token, &[]).contains("require --advertise-tags"));
    assert!(refuse(client_id, &wrong, &tags).contains("token exchange failed with status 401"));
    let attribute = format!("{client_id}?reusable=true");
    assert!(refuse(&attribute, token, &tags).contains("unknown optional config attribute"));

    let permanent = format!("{client_id}?ephemeral=false&preauthorized=true");
    let key = api
        .tailnet
        .federated_login_key(&permanent, token, &tags)
        .unwrap();
    let mut registration = Registration::new("k8s-1", key.clone());
    registration.advertise_tags = tags.to_vec();
    api.tailnet.register(&registration).unwrap();
    let mut again = Registration::new("k8s-2", key);
    again.advertise_tags = tags.to_vec();
    assert!(
        api.tailnet.register(&again).is_err(),
        "the minted key is single-use"
    );
}
