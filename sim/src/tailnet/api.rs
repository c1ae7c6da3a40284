//! The admin API's HTTP surface: routes, authentication, request parsing and response shapes.

use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::api_error::ApiError;
use super::keys::{Caller, CreateKeyRequest};
use super::policy::Policy;
use super::{ACCESS_TOKEN_LIFETIME, AccessToken, Tailnet, ids};

pub(super) fn router(tailnet: Tailnet) -> Router {
    Router::new()
        .route("/api/v2/oauth/token", post(oauth_token))
        .route(
            "/api/v2/tailnet/{tailnet}/keys",
            get(list_keys).post(create_key),
        )
        .route(
            "/api/v2/tailnet/{tailnet}/keys/{id}",
            get(get_key).delete(delete_key),
        )
        .route("/api/v2/tailnet/{tailnet}/devices", get(list_devices))
        .route(
            "/api/v2/tailnet/{tailnet}/acl",
            get(get_policy).post(set_policy),
        )
        .route(
            "/api/v2/tailnet/{tailnet}/acl/validate",
            post(validate_policy),
        )
        .route("/api/v2/device/{id}", get(get_device).delete(delete_device))
        .route(
            "/api/v2/device/{id}/routes",
            get(get_routes).post(set_routes),
        )
        .route("/api/v2/device/{id}/tags", post(set_tags))
        .route("/api/v2/device/{id}/authorized", post(authorize))
        .route("/api/v2/device/{id}/key", post(set_key_expiry))
        .fallback(|| async { ApiError::not_found("not found") })
        .layer(middleware::from_fn_with_state(
            tailnet.clone(),
            rate_limit_fault,
        ))
        .with_state(tailnet)
}

type ApiResult = Result<Response, ApiError>;

async fn rate_limit_fault(
    State(tailnet): State<Tailnet>,
    request: Request,
    next: Next,
) -> Response {
    match tailnet.shared.faults.take_tailnet_rate_limit() {
        Some(retry_after) => ApiError::rate_limited(retry_after).into_response(),
        None => next.run(request).await,
    }
}

/// The authenticated caller of a request.
struct Authenticated(Caller);

impl FromRequestParts<Tailnet> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, tailnet: &Tailnet) -> Result<Self, ApiError> {
        let token = bearer_or_basic_user(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        if token == tailnet.shared.api_key.expose_secret() {
            return Ok(Self(Caller::Admin));
        }
        let now = tailnet.state().clock.instant();
        let mut tokens = tailnet.tokens();
        tokens.retain(|t| t.expires_at > now);
        tokens
            .iter()
            .find(|t| t.token == token)
            .map(|t| Self(t.caller.clone()))
            .ok_or_else(ApiError::unauthorized)
    }
}

/// The token of `Authorization: Bearer <t>` or `Basic base64(<t>:)`.
fn bearer_or_basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Some(token.trim().to_owned());
    }
    let (user, _password) = basic_credentials(value)?;
    Some(user)
}

fn basic_credentials(value: &str) -> Option<(String, String)> {
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn check_tailnet(tailnet: &Tailnet, name: &str) -> Result<(), ApiError> {
    if name == "-" || name == tailnet.shared.name {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("tailnet {name:?} not found")))
    }
}

fn parse_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

fn ok_json(value: Value) -> Response {
    (StatusCode::OK, Json(value)).into_response()
}

fn ok_empty() -> Response {
    StatusCode::OK.into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    client_secret: Option<String>,
    grant_type: Option<String>,
    scope: Option<String>,
}

async fn oauth_token(
    State(tailnet): State<Tailnet>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected an application/x-www-form-urlencoded body",
        );
    };
    if form.grant_type.as_deref() != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported",
        );
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(basic_credentials);
    let secret = form.client_secret.or(basic.map(|(_, secret)| secret));
    if secret.as_deref() != Some(tailnet.shared.oauth_client_secret.expose_secret()) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "invalid client credentials",
        );
    }
    let token = format!("tskey-api-{}-{}", ids::key_id(), ids::random_token(32));
    let expires_at = tailnet.state().clock.instant() + ACCESS_TOKEN_LIFETIME;
    tailnet.tokens().push(AccessToken {
        token: token.clone(),
        expires_at,
        caller: Caller::OAuthClient {
            tags: tailnet.shared.oauth_client_tags.clone(),
        },
    });
    ok_json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
        "scope": form.scope.unwrap_or_else(|| "all".to_owned()),
    }))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

async fn list_keys(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path(name): Path<String>,
) -> ApiResult {
    check_tailnet(&tailnet, &name)?;
    Ok(ok_json(json!({ "keys": tailnet.state().list_keys() })))
}

async fn create_key(
    State(tailnet): State<Tailnet>,
    Authenticated(caller): Authenticated,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    check_tailnet(&tailnet, &name)?;
    let request: CreateKeyRequest = parse_json(&body)?;
    Ok(ok_json(tailnet.state().create_key(request, &caller)?))
}

async fn get_key(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult {
    check_tailnet(&tailnet, &name)?;
    Ok(ok_json(tailnet.state().get_key(&id)?))
}

async fn delete_key(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult {
    check_tailnet(&tailnet, &name)?;
    tailnet.state().delete_key(&id)?;
    Ok(ok_empty())
}

/// `fields=all` (or a list containing the route fields) and the server-side filters.
fn split_device_query(query: Vec<(String, String)>) -> (bool, Vec<(String, String)>) {
    let mut all_fields = false;
    let mut filters = Vec::new();
    for (key, value) in query {
        if key == "fields" {
            all_fields |= value == "all";
        } else {
            filters.push((key, value));
        }
    }
    (all_fields, filters)
}

async fn list_devices(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path(name): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> ApiResult {
    check_tailnet(&tailnet, &name)?;
    let (all_fields, filters) = split_device_query(query);
    let devices = tailnet.state().list_devices(all_fields, &filters);
    Ok(ok_json(json!({ "devices": devices })))
}

async fn get_device(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path(id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> ApiResult {
    let (all_fields, _) = split_device_query(query);
    Ok(ok_json(tailnet.state().get_device(&id, all_fields)?))
}

async fn delete_device(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path(id): Path<String>,
) -> ApiResult {
    tailnet.state().delete_device(&id)?;
    Ok(ok_empty())
}

async fn get_routes(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path(id): Path<String>,
) -> ApiResult {
    Ok(ok_json(tailnet.state().device_routes(&id)?))
}

#[derive(Deserialize)]
struct RoutesBody {
    routes: Vec<String>,
}

async fn set_routes(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let RoutesBody { routes } = parse_json(&body)?;
    Ok(ok_json(tailnet.state().set_enabled_routes(&id, routes)?))
}

#[derive(Deserialize)]
struct TagsBody {
    tags: Vec<String>,
}

async fn set_tags(
    State(tailnet): State<Tailnet>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let TagsBody { tags } = parse_json(&body)?;
    tailnet.state().set_device_tags(&id, tags, &caller)?;
    Ok(ok_json(json!({})))
}

#[derive(Deserialize)]
struct AuthorizedBody {
    authorized: bool,
}

async fn authorize(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let AuthorizedBody { authorized } = parse_json(&body)?;
    tailnet.state().authorize_device(&id, authorized)?;
    Ok(ok_empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyExpiryBody {
    key_expiry_disabled: bool,
}

async fn set_key_expiry(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let KeyExpiryBody {
        key_expiry_disabled,
    } = parse_json(&body)?;
    tailnet
        .state()
        .set_key_expiry_disabled(&id, key_expiry_disabled)?;
    Ok(ok_empty())
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

/// The policy in the representation the request asked for, with its ETag.
fn policy_response(policy: &Policy, headers: &HeaderMap) -> Response {
    let (content_type, body) = if wants_json(headers) {
        ("application/json", policy.to_json_text())
    } else {
        ("application/hujson", policy.text().to_owned())
    };
    let mut response = (StatusCode::OK, body).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", policy.etag())) {
        response_headers.insert(header::ETAG, etag);
    }
    response
}

async fn get_policy(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    check_tailnet(&tailnet, &name)?;
    Ok(policy_response(tailnet.state().policy(), &headers))
}

async fn set_policy(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    check_tailnet(&tailnet, &name)?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::bad_request("policy must be UTF-8 text"))?;
    let if_match = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok());
    let mut state = tailnet.state();
    state.replace_policy(text, if_match)?;
    Ok(policy_response(state.policy(), &headers))
}

async fn validate_policy(
    State(tailnet): State<Tailnet>,
    Authenticated(_): Authenticated,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    check_tailnet(&tailnet, &name)?;
    let text = String::from_utf8_lossy(&body);
    if text.trim_start().starts_with('[') {
        return Ok(ok_json(json!({})));
    }
    Ok(match Policy::parse(&text) {
        Ok(_) => ok_json(json!({})),
        Err(message) => ok_json(json!({ "message": message })),
    })
}
