//! The factory's HTTP surface: routes, plain-text errors, JSON lists served as text.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use factory_client::{Schematic, SchematicId};
use serde_json::{Value, json};

use super::{ImageFactory, catalog, with_v_prefix};

const X_REQUEST_ID: &str = "x-request-id";

pub(super) fn router(factory: ImageFactory) -> Router {
    Router::new()
        .route("/schematics", post(create_schematic))
        .route("/schematics/{id}", get(get_schematic))
        .route("/versions", get(versions))
        .route("/version/{version}/extensions/official", get(extensions))
        .route("/version/{version}/overlays/official", get(overlays))
        .fallback(|| async { plain_error(StatusCode::NOT_FOUND, "404 page not found") })
        .layer(middleware::from_fn_with_state(
            factory.clone(),
            common_behaviour,
        ))
        .with_state(factory)
}

/// `Server` and `X-Request-ID` on every answer, and the 5xx burst fault.
async fn common_behaviour(
    State(factory): State<ImageFactory>,
    request: Request,
    next: Next,
) -> Response {
    let request_id = request
        .headers()
        .get(X_REQUEST_ID)
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .unwrap_or(HeaderValue::from_static("sim"))
        });
    let mut response = if factory.shared.faults.take_factory_server_error() {
        plain_error(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::SERVER,
        HeaderValue::from_static("image-factory v1.5.0 (sim)"),
    );
    headers.insert(X_REQUEST_ID, request_id);
    response
}

/// An error the way Go's `http.Error` writes it: plain text with a trailing newline.
fn plain_error(status: StatusCode, message: &str) -> Response {
    let mut response = (status, format!("{message}\n")).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A JSON list as `json.NewEncoder(w).Encode` sends it: sniffed as text, newline-terminated.
fn json_as_text(value: &Value) -> Response {
    let mut response = (StatusCode::OK, format!("{value}\n")).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn create_schematic(State(factory): State<ImageFactory>, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return plain_error(StatusCode::BAD_REQUEST, "yaml: invalid UTF-8 in schematic");
    };
    if text.trim().is_empty() {
        return plain_error(StatusCode::BAD_REQUEST, "EOF");
    }
    let schematic = match Schematic::from_yaml(text) {
        Ok(schematic) => schematic,
        Err(error) => {
            let message = match &error {
                factory_client::Error::InvalidSchematic(detail) => detail.to_string(),
                other => other.to_string(),
            };
            return plain_error(StatusCode::BAD_REQUEST, &message);
        }
    };
    if !schematic.owner.is_empty() {
        return plain_error(
            StatusCode::BAD_REQUEST,
            "owner field is only supported in Enterprise edition",
        );
    }
    let canonical = schematic.to_canonical_yaml();
    let id = factory.add_schematic(schematic);
    let body = json!({ "id": id.to_string(), "schematic": canonical });
    let mut response = (StatusCode::CREATED, format!("{body}\n")).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn get_schematic(State(factory): State<ImageFactory>, Path(id): Path<String>) -> Response {
    let Some(schematic) = id
        .parse::<SchematicId>()
        .ok()
        .and_then(|id| factory.schematic(&id))
    else {
        return plain_error(StatusCode::NOT_FOUND, "schematic not found");
    };
    let mut response = (StatusCode::OK, schematic.to_canonical_yaml()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    response
}

async fn versions(State(factory): State<ImageFactory>) -> Response {
    json_as_text(&json!(factory.versions()))
}

/// Parses the path version like the factory: strict semver, with or without `v`; a parse
/// failure is a 500, an unknown version a 404.
fn offered_version(
    factory: &ImageFactory,
    raw: &str,
) -> Result<(String, semver::Version), (StatusCode, String)> {
    let parsed = semver::Version::parse(raw.trim_start_matches('v')).map_err(|_| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal server error".to_owned(),
        )
    })?;
    let version = with_v_prefix(raw);
    if !factory.versions().contains(&version) {
        return Err((
            StatusCode::NOT_FOUND,
            format!("version {version} is not available"),
        ));
    }
    Ok((version, parsed))
}

async fn extensions(State(factory): State<ImageFactory>, Path(raw): Path<String>) -> Response {
    match offered_version(&factory, &raw) {
        Ok((version, _)) => {
            let list: Vec<Value> = factory
                .shared
                .options
                .extensions
                .iter()
                .map(|extension| extension.to_json(&version))
                .collect();
            json_as_text(&Value::Array(list))
        }
        Err((status, message)) => plain_error(status, &message),
    }
}

async fn overlays(State(factory): State<ImageFactory>, Path(raw): Path<String>) -> Response {
    match offered_version(&factory, &raw) {
        Ok((_, parsed)) => json_as_text(&catalog::overlays_json(&parsed)),
        Err((status, message)) => plain_error(status, &message),
    }
}
