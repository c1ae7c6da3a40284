//! Contract test against Tailscale's official OpenAPI description.
//!
//! Every kind of request the client sends is captured from a mock server and checked:
//! the method and path exist, every query parameter is declared, the body matches the
//! operation's request schema. Every response fixture the other tests decode is checked
//! against the response schema of the operation it stands for. Schemas are made strict
//! (`additionalProperties: false` on every object with `properties`) so that a field name
//! the client or a fixture invents, or misspells, fails; `format` is validated.
//!
//! The checks read `tests/contract/tailscale-openapi.subset.json`: the document's facts
//! for the operations in [`OPERATIONS`], committed so the tests need nothing outside the
//! repository, written by `cargo xtask contracts` with the extraction in
//! `tests/contract/subset.rs`. When `../shared` sits beside the workspace,
//! `the_committed_subset_is_current` checks it against the full document.
//!
//! Known deviations of the real API from the document are listed in `SPEC-QUIRKS.md`
//! and below as explicit, asserted exceptions: if one stops occurring, the test says so.

#[path = "../contract/subset.rs"]
mod subset;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Value, json};
use tailscale_client::{
    AuthKey, Credentials, Device, DeviceRoutes, Policy, PolicyFormat, TailscaleClient,
};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::common::{catch_all, fixture, json_fixture, quick_retries};
use subset::{OPERATIONS, SPEC_FROM_ROOT, SUBSET_FROM_ROOT};

/// Paths the client uses that the document does not describe (SPEC-QUIRKS.md, quirk 1).
const UNDOCUMENTED_PATHS: &[&str] = &["/oauth/token"];

/// Said when a request is not in the subset: it may be in the full document.
const MISSING_HINT: &str = " subset (if the document has it, list it in OPERATIONS and run \
     `cargo xtask contracts`)";

/// `(fixture, JSON pointer, reason)`: validation failures the real API really produces.
const KNOWN_FIXTURE_DEVIATIONS: &[(&str, &str, &str)] = &[
    (
        "devices_list.json",
        "/devices/2/created",
        "external devices have created = \"\" although the spec says date-time (quirk 3)",
    ),
    (
        "error_policy_tests_failed.json",
        "",
        "policy errors carry `data`, which the Error schema does not declare (quirk 4)",
    ),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The committed subset's text.
fn committed_subset() -> String {
    let path = workspace_root().join(SUBSET_FROM_ROOT);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run `cargo xtask contracts` with ../shared beside the workspace",
            path.display()
        )
    })
}

/// The committed subset of the document, parsed once.
fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| serde_json::from_str(&committed_subset()).unwrap())
}

/// Inlines every local `$ref` (siblings of `$ref`, e.g. `description`, are dropped).
fn resolve(value: &Value, depth: usize) -> Value {
    assert!(depth < 64, "reference cycle in the spec");
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let pointer = reference.strip_prefix('#').expect("local reference");
                let target = spec()
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling {reference}"));
                return resolve(target, depth + 1);
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), resolve(v, depth)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, depth)).collect()),
        other => other.clone(),
    }
}

/// Forbids properties a schema does not name, recursively.
fn strict(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out: serde_json::Map<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), strict(v))).collect();
            if out.contains_key("properties") && !out.contains_key("additionalProperties") {
                out.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(strict).collect()),
        other => other.clone(),
    }
}

/// Validation errors of `instance` against `schema`, as `(pointer, message)`.
fn violations(schema: &Value, instance: &Value) -> Vec<(String, String)> {
    let schema = strict(&resolve(schema, 0));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    validator
        .iter_errors(instance)
        .map(|e| (e.instance_path.to_string(), e.to_string()))
        .collect()
}

/// The spec path template matching a concrete path (relative to `/api/v2`).
fn template_for(concrete: &str) -> Option<String> {
    let wanted: Vec<&str> = concrete.trim_start_matches('/').split('/').collect();
    spec()["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|template| {
            let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            parts.len() == wanted.len()
                && parts
                    .iter()
                    .zip(&wanted)
                    .all(|(t, w)| (t.starts_with('{') && !w.is_empty()) || t == w)
        })
        .max_by_key(|template| template.split('/').filter(|p| !p.starts_with('{')).count())
        .cloned()
}

fn operation(template: &str, method: &str) -> Option<(Value, Value)> {
    let item = spec()["paths"].get(template)?;
    let op = item.get(method.to_ascii_lowercase())?;
    Some((resolve(item, 0), resolve(op, 0)))
}

/// Everything wrong with one captured request.
fn request_problems(request: &Request) -> Vec<String> {
    let method = request.method.as_str();
    let full_path = request.url.path();
    let Some(relative) = full_path.strip_prefix("/api/v2") else {
        return vec![format!("{method} {full_path}: not under /api/v2")];
    };
    if UNDOCUMENTED_PATHS.contains(&relative) {
        return Vec::new();
    }
    let Some(template) = template_for(relative) else {
        return vec![format!(
            "{method} {relative}: no such path in the spec{MISSING_HINT}"
        )];
    };
    let Some((item, op)) = operation(&template, method) else {
        return vec![format!(
            "{method} {template}: no such operation in the spec{MISSING_HINT}"
        )];
    };
    let mut problems = Vec::new();
    let what = format!("{method} {template}");

    let params: Vec<Value> = item["parameters"]
        .as_array()
        .into_iter()
        .chain(op["parameters"].as_array())
        .flatten()
        .cloned()
        .collect();
    let declared: BTreeSet<String> = params
        .iter()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    // Quirk 2: list devices declares a pseudo parameter standing for filters on any
    // top-level device field.
    let filters_allowed = declared.contains("<field>=<value> filters");
    let device_fields: BTreeSet<String> = spec()["components"]["schemas"]["Device"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for (name, value) in request.url.query_pairs() {
        let ok = declared.contains(name.as_ref())
            || (filters_allowed && device_fields.contains(name.as_ref()));
        if !ok {
            problems.push(format!("{what}: undeclared query parameter {name}"));
        }
        let schema = params
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == name.as_ref())
            .map(|p| &p["schema"]);
        if let Some(schema) = schema {
            // Query values are text; read them as the JSON type the schema declares.
            let instance = match schema["type"].as_str() {
                Some("boolean" | "integer" | "number") => {
                    serde_json::from_str(&value).unwrap_or(Value::String(value.to_string()))
                }
                _ => Value::String(value.to_string()),
            };
            for (_, message) in violations(schema, &instance) {
                problems.push(format!("{what}: query parameter {name}={value}: {message}"));
            }
        }
    }
    for p in params
        .iter()
        .filter(|p| p["in"] == "query" && p["required"] == true)
    {
        let name = p["name"].as_str().unwrap();
        if !request.url.query_pairs().any(|(n, _)| n == name) {
            problems.push(format!("{what}: required query parameter {name} missing"));
        }
    }
    if let Some(accept) = request.headers.get("accept").and_then(|v| v.to_str().ok()) {
        let produced = &op["responses"]["200"]["content"];
        if produced.is_object() && produced.get(accept).is_none() {
            problems.push(format!(
                "{what}: Accept {accept} is not a declared 200 answer"
            ));
        }
    }
    if request.headers.contains_key("if-match")
        && !params
            .iter()
            .any(|p| p["in"] == "header" && p["name"] == "If-Match")
    {
        problems.push(format!("{what}: If-Match is not declared"));
    }

    let body = &request.body;
    let request_body = &op["requestBody"];
    if body.is_empty() {
        if request_body["required"] == true {
            problems.push(format!("{what}: required body missing"));
        }
        return problems;
    }
    let media = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let Some(schema) = request_body["content"]
        .get(&media)
        .map(|c| c["schema"].clone())
    else {
        problems.push(format!("{what}: body of type {media:?} not declared"));
        return problems;
    };
    let instance = if media == "application/hujson" {
        let text = String::from_utf8(body.clone()).unwrap();
        if let Err(e) = Policy::parse(text.clone()) {
            problems.push(format!("{what}: hujson body does not parse: {e}"));
        }
        Value::String(text)
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{what}: body is not json: {e}"));
                return problems;
            }
        }
    };
    for (pointer, message) in violations(&schema, &instance) {
        problems.push(format!("{what}: body {pointer}: {message}"));
    }
    problems
}

/// Mounts a fixture answer for every endpoint and returns a client for it.
async fn scripted_server() -> (MockServer, TailscaleClient) {
    let server = MockServer::start().await;
    let answers: Vec<(&str, &str, ResponseTemplate)> = vec![
        (
            "POST",
            "^/api/v2/oauth/token$",
            json_fixture("oauth_token.json"),
        ),
        (
            "POST",
            "^/api/v2/tailnet/-/keys$",
            json_fixture("key_created.json"),
        ),
        (
            "GET",
            "^/api/v2/tailnet/-/keys$",
            json_fixture("keys_list.json"),
        ),
        (
            "GET",
            "^/api/v2/tailnet/-/keys/[^/]+$",
            json_fixture("key_revoked.json"),
        ),
        (
            "DELETE",
            "^/api/v2/tailnet/-/keys/[^/]+$",
            ResponseTemplate::new(200),
        ),
        (
            "GET",
            "^/api/v2/tailnet/-/devices$",
            json_fixture("devices_list.json"),
        ),
        (
            "GET",
            "^/api/v2/device/[^/]+$",
            json_fixture("device_get.json"),
        ),
        (
            "DELETE",
            "^/api/v2/device/[^/]+$",
            ResponseTemplate::new(200),
        ),
        (
            "GET",
            "^/api/v2/device/[^/]+/routes$",
            json_fixture("device_routes.json"),
        ),
        (
            "POST",
            "^/api/v2/device/[^/]+/routes$",
            json_fixture("device_routes_approved.json"),
        ),
        (
            "POST",
            "^/api/v2/device/[^/]+/(authorized|tags|key|name)$",
            ResponseTemplate::new(200),
        ),
        (
            "GET",
            "^/api/v2/tailnet/-/acl$",
            ResponseTemplate::new(200)
                .set_body_raw(fixture("policy.hujson"), "application/hujson")
                .insert_header("etag", "\"abc\""),
        ),
        (
            "POST",
            "^/api/v2/tailnet/-/acl$",
            ResponseTemplate::new(200).set_body_json(json!({})),
        ),
        (
            "POST",
            "^/api/v2/tailnet/-/acl/validate$",
            ResponseTemplate::new(200),
        ),
    ];
    for (m, p, answer) in answers {
        Mock::given(method(m))
            .and(path_regex(p))
            .respond_with(answer)
            .mount(&server)
            .await;
    }
    catch_all(&server).await;
    let client = TailscaleClient::builder()
        .base_url(server.uri())
        .credentials(Credentials::oauth(
            "kClient1CNTRL",
            "tskey-client-x",
            ["all"],
        ))
        .retry_policy(quick_retries())
        .disable_timers()
        .build()
        .unwrap();
    (server, client)
}

#[tokio::test]
async fn every_request_the_client_sends_matches_the_spec() {
    let (server, client) = scripted_server().await;
    let node = "nQqJ2r8CNTRL";
    let cidr = "10.96.0.0/12".parse().unwrap();

    let keys = client.keys();
    keys.create()
        .reusable(true)
        .ephemeral(false)
        .preauthorized(true)
        .tags(["tag:talos"])
        .expiry(std::time::Duration::from_secs(86_400))
        .description("talos rollout")
        .send()
        .await
        .unwrap();
    keys.create().tags(["tag:talos"]).send().await.unwrap();
    keys.list().await.unwrap();
    keys.get("kOld4Rt9CNTRL").await.unwrap();
    keys.delete("kOld4Rt9CNTRL").await.unwrap();

    let devices = client.devices();
    devices
        .list()
        .hostname("talos-cp-1")
        .tag("tag:talos")
        .ephemeral(false)
        .send()
        .await
        .unwrap();
    devices.list().send().await.unwrap();
    devices.get(node).await.unwrap();
    devices.delete(node).await.unwrap();
    devices.set_authorized(node, true).await.unwrap();
    devices.set_tags(node, &["tag:talos"]).await.unwrap();
    devices.set_key_expiry_disabled(node, true).await.unwrap();
    devices.rename(node, "talos-cp-1").await.unwrap();
    let query = client.node_device("talos-cp-1").tags(["tag:talos"]);
    let found = query.find().await.unwrap().unwrap();
    query.remove_stale_duplicates(&found).await.unwrap();
    query
        .wait_for_online(std::time::Duration::from_secs(1))
        .await
        .unwrap();

    let routes = client.routes();
    routes.get(node).await.unwrap();
    routes.set(node, &[cidr]).await.unwrap();
    routes.approve(node, &[cidr]).await.unwrap();
    routes.revoke(node, &[cidr]).await.unwrap();
    routes
        .wait_until_advertised(node, &[cidr], std::time::Duration::from_secs(1))
        .await
        .unwrap();

    let policy_api = client.policy();
    let mut policy = policy_api.get(PolicyFormat::HuJson).await.unwrap();
    policy_api.get(PolicyFormat::Json).await.unwrap();
    policy
        .ensure_access("tag:talos-admin", "tag:talos")
        .unwrap();
    policy_api.validate(&policy).await.unwrap();
    policy_api.set(&policy).await.unwrap();
    let unconditional = Policy::parse(policy.text()).unwrap();
    policy_api.set(&unconditional).await.unwrap();
    policy_api
        .check_key_tags(&["tag:talos"], None)
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    let problems: Vec<String> = requests.iter().flat_map(request_problems).collect();
    assert!(
        problems.is_empty(),
        "requests deviating from the spec:\n{}",
        problems.join("\n")
    );

    // Every operation the client implements was exercised above.
    let covered: BTreeSet<String> = requests
        .iter()
        .filter_map(|r| {
            let relative = r.url.path().strip_prefix("/api/v2")?;
            Some(format!(
                "{} {}",
                r.method,
                template_for(relative).unwrap_or_else(|| relative.to_owned())
            ))
        })
        .collect();
    let expected: BTreeSet<String> = OPERATIONS
        .iter()
        .map(|(_, request)| (*request).to_owned())
        .chain(["POST /oauth/token".to_owned()])
        .collect();
    assert_eq!(covered, expected);
}

/// The `operation` names of every `Endpoint { operation: "...", .. }` in `src/`.
fn endpoint_operations_in_source() -> BTreeSet<String> {
    fn visit(dir: &std::path::Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(&path, found);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (_, rest) in text
                .match_indices("Endpoint {")
                .map(|(i, _)| text.split_at(i))
            {
                let Some(after) = rest.split_once("operation: \"").map(|(_, a)| a) else {
                    continue;
                };
                if let Some((name, _)) = after.split_once('"') {
                    found.insert(name.to_owned());
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    visit(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut found,
    );
    found
}

#[test]
fn the_operation_list_names_every_endpoint_of_the_client() {
    let listed: BTreeSet<String> = OPERATIONS.iter().map(|(o, _)| (*o).to_owned()).collect();
    assert_eq!(
        endpoint_operations_in_source(),
        listed,
        "an endpoint was added or renamed: list it in OPERATIONS (tests/contract/subset.rs), \
         run `cargo xtask contracts` and exercise it in \
         every_request_the_client_sends_matches_the_spec"
    );
}

#[tokio::test]
async fn deliberately_wrong_requests_are_caught() {
    let server = MockServer::start().await;
    let http = reqwest::Client::new();
    let base = format!("{}/api/v2", server.uri());
    let cases: Vec<(reqwest::RequestBuilder, &str)> = vec![
        (
            http.get(format!("{base}/tailnet/-/devicez")),
            "no such path",
        ),
        (
            http.patch(format!("{base}/device/n1/routes")),
            "no such operation",
        ),
        (
            http.get(format!("{base}/tailnet/-/devices?fields=all&hostnam=x")),
            "undeclared query parameter hostnam",
        ),
        (
            http.get(format!("{base}/tailnet/-/keys")),
            "required query parameter all missing",
        ),
        (
            http.get(format!("{base}/tailnet/-/keys?all=yes")),
            "query parameter all=yes",
        ),
        (
            http.get(format!("{base}/device/n1?fields=everything")),
            "query parameter fields=everything",
        ),
        (
            http.post(format!("{base}/tailnet/-/keys")).json(&json!({
                "keyType": "auth",
                "capabilities": {"devices": {"create": {"reusable": true}}},
                "expirySecond": 60
            })),
            "expirySecond",
        ),
        (
            http.post(format!("{base}/tailnet/-/keys")).json(&json!({
                "capabilities": {"devices": {"create": {"reusable": "yes"}}}
            })),
            "/capabilities/devices/create/reusable",
        ),
        (
            http.post(format!("{base}/device/n1/routes"))
                .json(&json!({"routes": "10.0.0.0/8"})),
            "body /routes",
        ),
        (
            http.post(format!("{base}/device/n1/tags"))
                .header("content-type", "text/plain")
                .body("tag:a"),
            "not declared",
        ),
        (
            http.get(format!("{base}/tailnet/-/acl"))
                .header("accept", "text/plain"),
            "Accept text/plain",
        ),
    ];
    let expected: Vec<&str> = cases.iter().map(|(_, e)| *e).collect();
    for (request, _) in cases {
        request.send().await.unwrap();
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), expected.len());
    for (request, expected) in requests.iter().zip(expected) {
        let problems = request_problems(request);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{} {}: expected a problem mentioning {expected:?}, got {problems:?}",
            request.method,
            request.url
        );
    }
}

/// `(fixture, method, path template, status)`: what each response fixture stands for.
const RESPONSE_FIXTURES: &[(&str, &str, &str, &str)] = &[
    (
        "devices_list.json",
        "get",
        "/tailnet/{tailnet}/devices",
        "200",
    ),
    ("device_get.json", "get", "/device/{deviceId}", "200"),
    (
        "device_routes.json",
        "get",
        "/device/{deviceId}/routes",
        "200",
    ),
    (
        "device_routes_approved.json",
        "post",
        "/device/{deviceId}/routes",
        "200",
    ),
    ("key_created.json", "post", "/tailnet/{tailnet}/keys", "200"),
    (
        "key_revoked.json",
        "get",
        "/tailnet/{tailnet}/keys/{keyId}",
        "200",
    ),
    ("keys_list.json", "get", "/tailnet/{tailnet}/keys", "200"),
    (
        "policy_validate_failed.json",
        "post",
        "/tailnet/{tailnet}/acl/validate",
        "200",
    ),
    (
        "error_policy_tests_failed.json",
        "post",
        "/tailnet/{tailnet}/acl",
        "400",
    ),
    (
        "error_tags_invalid.json",
        "post",
        "/device/{deviceId}/tags",
        "400",
    ),
    (
        "error_precondition_failed.json",
        "post",
        "/tailnet/{tailnet}/acl",
        "412",
    ),
];

#[test]
fn every_response_fixture_matches_the_spec() {
    let mut problems = Vec::new();
    let mut seen_deviations = BTreeSet::new();
    for (name, method, template, status) in RESPONSE_FIXTURES {
        let response = &spec()["paths"][template][method]["responses"][status];
        let response = resolve(response, 0);
        let schema = &response["content"]["application/json"]["schema"];
        assert!(
            schema.is_object(),
            "{method} {template} {status} has no json schema"
        );
        let instance: Value = serde_json::from_str(&fixture(name)).unwrap();
        for (pointer, message) in violations(schema, &instance) {
            let known = KNOWN_FIXTURE_DEVIATIONS
                .iter()
                .find(|(f, p, _)| f == name && *p == pointer);
            match known {
                Some(k) => {
                    seen_deviations.insert(k.1);
                }
                None => problems.push(format!("{name} {pointer}: {message}")),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "fixtures deviating from the spec:\n{}",
        problems.join("\n")
    );
    let listed: BTreeSet<&str> = KNOWN_FIXTURE_DEVIATIONS.iter().map(|k| k.1).collect();
    assert_eq!(
        seen_deviations, listed,
        "a listed deviation no longer occurs; update the quirk list"
    );
}

#[test]
fn the_hujson_fixture_is_what_the_policy_endpoint_declares() {
    let response = resolve(
        &spec()["paths"]["/tailnet/{tailnet}/acl"]["get"]["responses"]["200"],
        0,
    );
    let schema = &response["content"]["application/hujson"]["schema"];
    assert!(schema.is_object(), "GET /acl declares no hujson answer");
    assert!(violations(schema, &Value::String(fixture("policy.hujson"))).is_empty());
    Policy::parse(fixture("policy.hujson")).unwrap();
}

/// Files in `tests/fixtures/` checked elsewhere than in [`RESPONSE_FIXTURES`], and why.
const OTHER_FIXTURES: &[(&str, &str)] = &[
    (
        "oauth_token.json",
        "the token endpoint is not in the spec (quirk 1)",
    ),
    (
        "policy.hujson",
        "the_hujson_fixture_is_what_the_policy_endpoint_declares",
    ),
];

#[test]
fn every_fixture_file_is_checked_against_the_spec() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let checked: BTreeSet<String> = RESPONSE_FIXTURES
        .iter()
        .map(|f| f.0)
        .chain(OTHER_FIXTURES.iter().map(|f| f.0))
        .map(str::to_owned)
        .collect();
    assert_eq!(on_disk, checked, "list new fixtures in RESPONSE_FIXTURES");
}

/// Every field name the model types use exists, with the same spelling, in the schema.
#[test]
fn model_field_names_exist_in_the_schemas() {
    fn names(value: &Value) -> BTreeSet<String> {
        value.as_object().unwrap().keys().cloned().collect()
    }
    let schemas = &spec()["components"]["schemas"];
    let cases = [
        ("Device", serde_json::to_value(Device::default()).unwrap()),
        ("Key", serde_json::to_value(AuthKey::default()).unwrap()),
        (
            "DeviceRoutes",
            serde_json::to_value(DeviceRoutes::default()).unwrap(),
        ),
    ];
    for (schema, model) in cases {
        let declared = names(&schemas[schema]["properties"]);
        let unknown: Vec<_> = names(&model).difference(&declared).cloned().collect();
        assert!(
            unknown.is_empty(),
            "{schema}: fields not in the spec: {unknown:?}"
        );
    }
    let connectivity =
        serde_json::to_value(tailscale_client::ClientConnectivity::default()).unwrap();
    let declared = names(&schemas["Device"]["properties"]["clientConnectivity"]["properties"]);
    assert!(names(&connectivity).is_subset(&declared));
}

/// When `../shared` sits beside the workspace, the committed subset is exactly what
/// `cargo xtask contracts` makes of the full document.
#[test]
fn the_committed_subset_is_current() {
    match subset::expected_subset(&workspace_root()) {
        Ok(Some(expected)) => assert!(
            expected == committed_subset(),
            "{SUBSET_FROM_ROOT} is stale: run `cargo xtask contracts` and commit the result"
        ),
        Ok(None) => println!(
            "note: {SPEC_FROM_ROOT} (from the workspace root) is absent; \
             the committed subset was not compared with it"
        ),
        Err(e) => panic!("{e}"),
    }
}

/// The extraction drops prose, extension keys, unused paths and schemas, and inlines
/// parameter and response references: the committed subset dressed up with all of them
/// extracts to itself, and a property called `description` survives.
#[test]
fn the_extraction_keeps_only_the_checked_facts() {
    let mut document: Value = serde_json::from_str(&committed_subset()).unwrap();
    let keys = "/paths/~1tailnet~1{tailnet}~1keys/get";
    let all = document
        .pointer(&format!("{keys}/parameters/0"))
        .unwrap()
        .clone();
    let ok = document
        .pointer(&format!("{keys}/responses/200"))
        .unwrap()
        .clone();
    let prose = json!({
        "description": "d", "summary": "s", "title": "t", "example": 1,
        "examples": {"e": {"value": 1}}, "externalDocs": {"url": "u"}, "x-extra": true
    });
    let dress = |value: &mut Value| {
        for (k, v) in prose.as_object().unwrap() {
            value[k] = v.clone();
        }
    };
    let mut parameter = all;
    dress(&mut parameter);
    dress(&mut parameter["schema"]);
    let mut response = ok;
    dress(&mut response);
    response["headers"] = json!({"ETag": {"schema": {"type": "string"}}});
    document["components"]["parameters"] = json!({ "all": parameter });
    document["components"]["responses"] = json!({ "keys": response });
    let operation = document.pointer_mut(keys).unwrap();
    dress(operation);
    operation["operationId"] = json!("listTailnetKeys");
    operation["parameters"][0] = json!({"$ref": "#/components/parameters/all"});
    operation["responses"]["200"] = json!({"$ref": "#/components/responses/keys"});
    let key = &mut document["components"]["schemas"]["Key"];
    dress(key);
    dress(&mut key["properties"]["id"]);
    document["components"]["schemas"]["Unused"] = json!({"type": "object"});
    document["paths"]["/unused"] = json!({"get": {"responses": {}}});

    let extracted = subset::subset_text(&document.to_string()).unwrap();
    assert!(
        extracted == committed_subset(),
        "extracting the dressed-up subset did not give the subset back:\n{extracted}"
    );
    assert!(spec()["components"]["schemas"]["Key"]["properties"]["description"].is_object());
}
