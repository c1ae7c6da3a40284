//! The routes: `/version`, discovery, nodes (GET, list, cordon PATCH), pods (GET, list with
//! `fieldSelector`, DELETE, the eviction subresource), PodDisruptionBudgets (GET, list) and
//! leases (GET, list, POST, PUT, DELETE); every request is recorded, and all of them answer
//! 503 while the API is switched off.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroup, APIGroupList, APIResource, APIResourceList, APIVersions, GroupVersionForDiscovery,
    ListMeta,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::state::{LEASE_GROUP, NodeRecord};
use super::status::{ApiError, success};
use super::{KUBERNETES_VERSION, KubeApi};

type ApiResult = Result<Response, ApiError>;

/// The router of the fake, over `api`.
pub(crate) fn router(api: KubeApi) -> Router {
    let namespaced_pods = "/api/v1/namespaces/{namespace}/pods";
    let leases = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases";
    Router::new()
        .route("/version", get(version))
        .route("/api", get(api_versions))
        .route("/api/v1", get(core_resources))
        .route("/apis", get(api_groups))
        .route("/api/v1/nodes", get(list_nodes))
        .route("/api/v1/nodes/{name}", get(get_node).patch(patch_node))
        .route("/api/v1/pods", get(list_all_pods))
        .route(namespaced_pods, get(list_namespaced_pods))
        .route(
            &format!("{namespaced_pods}/{{name}}"),
            get(get_pod).delete(delete_pod),
        )
        .route(
            &format!("{namespaced_pods}/{{name}}/eviction"),
            post(evict_pod),
        )
        .route("/apis/policy/v1/poddisruptionbudgets", get(list_all_pdbs))
        .route(
            "/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets",
            get(list_namespaced_pdbs),
        )
        .route(leases, get(list_leases).post(create_lease))
        .route(
            &format!("{leases}/{{name}}"),
            get(get_lease).put(replace_lease).delete(delete_lease),
        )
        .fallback(|| async { ApiError::unknown_path() })
        .layer(middleware::from_fn_with_state(api.clone(), gatekeeper))
        .with_state(api)
}

/// Records the request, then refuses it while the API is switched off.
async fn gatekeeper(State(api): State<KubeApi>, request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), ToString::to_string);
    api.record_request(format!("{} {target}", request.method()));
    if api.inner.faults.is_kube_api_unavailable() {
        return ApiError::unavailable().into_response();
    }
    next.run(request).await
}

fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body could not be decoded: {e}")))
}

fn list<T: k8s_openapi::ListableResource + serde::Serialize>(
    items: Vec<T>,
    resource_version: u64,
) -> Response {
    let list = k8s_openapi::List {
        items,
        metadata: ListMeta {
            resource_version: Some(resource_version.to_string()),
            ..ListMeta::default()
        },
    };
    Json(list).into_response()
}

async fn version() -> Response {
    let minor = KUBERNETES_VERSION.split('.').nth(1).unwrap_or_default();
    Json(k8s_openapi::apimachinery::pkg::version::Info {
        git_version: KUBERNETES_VERSION.to_owned(),
        major: "1".to_owned(),
        minor: minor.to_owned(),
        platform: "linux/amd64".to_owned(),
        ..Default::default()
    })
    .into_response()
}

async fn api_versions() -> Response {
    Json(APIVersions {
        versions: vec!["v1".to_owned()],
        server_address_by_client_cidrs: vec![],
    })
    .into_response()
}

async fn core_resources() -> Response {
    let resource = |name: &str, kind: &str, namespaced: bool, verbs: &[&str]| APIResource {
        name: name.to_owned(),
        kind: kind.to_owned(),
        namespaced,
        singular_name: String::new(),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        ..APIResource::default()
    };
    let mut eviction = resource("pods/eviction", "Eviction", true, &["create"]);
    eviction.group = Some("policy".to_owned());
    eviction.version = Some("v1".to_owned());
    Json(APIResourceList {
        group_version: "v1".to_owned(),
        resources: vec![
            resource("nodes", "Node", false, &["get", "list", "patch"]),
            resource("pods", "Pod", true, &["delete", "get", "list"]),
            eviction,
        ],
    })
    .into_response()
}

async fn api_groups() -> Response {
    let group = |name: &str| {
        let version = GroupVersionForDiscovery {
            group_version: format!("{name}/v1"),
            version: "v1".to_owned(),
        };
        APIGroup {
            name: name.to_owned(),
            preferred_version: Some(version.clone()),
            server_address_by_client_cidrs: None,
            versions: vec![version],
        }
    };
    Json(APIGroupList {
        groups: vec![group("policy"), group(LEASE_GROUP)],
    })
    .into_response()
}

async fn list_nodes(State(api): State<KubeApi>) -> Response {
    let (records, rv): (Vec<(String, NodeRecord)>, u64) = {
        let state = api.lock();
        (
            state
                .nodes
                .iter()
                .map(|(n, r)| (n.clone(), r.clone()))
                .collect(),
            state.resource_version(),
        )
    };
    let nodes = records.iter().map(|(n, r)| api.render_node(n, r)).collect();
    list(nodes, rv)
}

async fn get_node(State(api): State<KubeApi>, Path(name): Path<String>) -> ApiResult {
    api.node(&name)
        .map(|node| Json(node).into_response())
        .ok_or_else(|| ApiError::not_found("", "nodes", &name))
}

/// A strategic-merge or merge PATCH; the fake keeps `spec.unschedulable`, labels and
/// annotations from the patched object (for these fields both patch types merge alike).
async fn patch_node(
    State(api): State<KubeApi>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !matches!(
        content_type,
        "application/strategic-merge-patch+json" | "application/merge-patch+json"
    ) {
        return Err(ApiError::unsupported_media_type(content_type));
    }
    let patch: Value = json(&body)?;
    let node = api
        .node(&name)
        .ok_or_else(|| ApiError::not_found("", "nodes", &name))?;
    let mut object = serde_json::to_value(&node)
        .map_err(|e| ApiError::bad_request(format!("the node could not be encoded: {e}")))?;
    merge_patch(&mut object, &patch);
    let patched: k8s_openapi::api::core::v1::Node = serde_json::from_value(object)
        .map_err(|e| ApiError::invalid("", "nodes", &name, &e.to_string()))?;
    {
        let mut state = api.lock();
        let rv = state.next_resource_version();
        let Some(record) = state.nodes.get_mut(&name) else {
            return Err(ApiError::not_found("", "nodes", &name));
        };
        record.unschedulable = patched
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false);
        record.labels = patched.metadata.labels.unwrap_or_default();
        record.annotations = patched.metadata.annotations.unwrap_or_default();
        record.resource_version = rv;
    }
    get_node(State(api), Path(name)).await
}

/// RFC 7386: objects merge key by key, `null` removes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// `fieldSelector` terms the fake understands: `spec.nodeName`, `metadata.name`,
/// `metadata.namespace`, with `=` or `==`.
fn pod_filter(query: &BTreeMap<String, String>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(selector) = query.get("fieldSelector").filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    selector
        .split(',')
        .map(|term| {
            let (field, value) = term
                .split_once("==")
                .or_else(|| term.split_once('='))
                .ok_or_else(|| ApiError::bad_request(format!("invalid selector: '{term}'")))?;
            match field {
                "spec.nodeName" | "metadata.name" | "metadata.namespace" => {
                    Ok((field.to_owned(), value.to_owned()))
                }
                _ => Err(ApiError::bad_request(format!(
                    "field label not supported: {field}"
                ))),
            }
        })
        .collect()
}

fn pod_field(pod: &Pod, field: &str) -> String {
    match field {
        "spec.nodeName" => pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        "metadata.name" => pod.metadata.name.clone(),
        _ => pod.metadata.namespace.clone(),
    }
    .unwrap_or_default()
}

fn list_pods(
    api: &KubeApi,
    namespace: Option<&str>,
    query: &BTreeMap<String, String>,
) -> ApiResult {
    let filter = pod_filter(query)?;
    let state = api.lock();
    let pods = state
        .pods
        .iter()
        .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
        .map(|(_, pod)| pod)
        .filter(|pod| filter.iter().all(|(f, v)| pod_field(pod, f) == *v))
        .cloned()
        .collect();
    Ok(list(pods, state.resource_version()))
}

async fn list_all_pods(
    State(api): State<KubeApi>,
    Query(query): Query<BTreeMap<String, String>>,
) -> ApiResult {
    list_pods(&api, None, &query)
}

async fn list_namespaced_pods(
    State(api): State<KubeApi>,
    Path(namespace): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> ApiResult {
    list_pods(&api, Some(&namespace), &query)
}

async fn get_pod(
    State(api): State<KubeApi>,
    Path((namespace, name)): Path<(String, String)>,
) -> ApiResult {
    api.lock()
        .pods
        .get(&(namespace, name.clone()))
        .map(|pod| Json(pod).into_response())
        .ok_or_else(|| ApiError::not_found("", "pods", &name))
}

async fn delete_pod(
    State(api): State<KubeApi>,
    Path((namespace, name)): Path<(String, String)>,
) -> ApiResult {
    let key = (namespace.clone(), name.clone());
    let now = api.now();
    let (termination, pod) = {
        let mut state = api.lock();
        if !state.pods.contains_key(&key) {
            return Err(ApiError::not_found("", "pods", &name));
        }
        let termination = state.start_termination(&key, now);
        (termination, state.pods.get(&key).cloned())
    };
    api.terminate(&namespace, &name, termination);
    Ok(Json(pod).into_response())
}

/// `POST …/pods/{name}/eviction` (policy/v1 or v1beta1 bodies).
async fn evict_pod(
    State(api): State<KubeApi>,
    Path((namespace, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let eviction: Value = json(&body)?;
    if let Some(body_name) = eviction.pointer("/metadata/name").and_then(Value::as_str)
        && body_name != name
    {
        return Err(ApiError::bad_request(format!(
            "name in URL does not match name in Eviction object: {name} != {body_name}"
        )));
    }
    let now = api.now();
    let faults = api.inner.faults.clone();
    let termination = api.lock().evict(&namespace, &name, now, |ns, pdb| {
        faults.is_pdb_never_allowing(ns, pdb)
    })?;
    api.terminate(&namespace, &name, termination);
    Ok(success(StatusCode::CREATED))
}

fn list_pdbs(api: &KubeApi, namespace: Option<&str>) -> Response {
    let state = api.lock();
    let pdbs = state
        .pdbs
        .iter()
        .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
        .map(|(_, pdb)| api.render_pdb(&state, pdb))
        .collect();
    list(pdbs, state.resource_version())
}

async fn list_all_pdbs(State(api): State<KubeApi>) -> Response {
    list_pdbs(&api, None)
}

async fn list_namespaced_pdbs(
    State(api): State<KubeApi>,
    Path(namespace): Path<String>,
) -> Response {
    list_pdbs(&api, Some(&namespace))
}

async fn list_leases(State(api): State<KubeApi>, Path(namespace): Path<String>) -> Response {
    let state = api.lock();
    let leases: Vec<Lease> = state
        .leases
        .iter()
        .filter(|((ns, _), _)| *ns == namespace)
        .map(|(_, lease)| lease.clone())
        .collect();
    list(leases, state.resource_version())
}

async fn get_lease(
    State(api): State<KubeApi>,
    Path((namespace, name)): Path<(String, String)>,
) -> ApiResult {
    api.lease(&namespace, &name)
        .map(|lease| Json(lease).into_response())
        .ok_or_else(|| ApiError::not_found(LEASE_GROUP, "leases", &name))
}

async fn create_lease(
    State(api): State<KubeApi>,
    Path(namespace): Path<String>,
    body: Bytes,
) -> ApiResult {
    let lease: Lease = json(&body)?;
    let now = api.now();
    let created = api.lock().create_lease(&namespace, lease, now)?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn replace_lease(
    State(api): State<KubeApi>,
    Path((namespace, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let lease: Lease = json(&body)?;
    let replaced = api.lock().replace_lease(&namespace, &name, lease)?;
    Ok(Json(replaced).into_response())
}

async fn delete_lease(
    State(api): State<KubeApi>,
    Path((namespace, name)): Path<(String, String)>,
) -> ApiResult {
    let removed = api.lock().leases.remove(&(namespace, name.clone()));
    removed
        .map(|_| success(StatusCode::OK))
        .ok_or_else(|| ApiError::not_found(LEASE_GROUP, "leases", &name))
}
