//! `meta/v1` Status bodies with the reasons and codes the apiserver sends, as axum responses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusCause, StatusDetails};

/// A failure the fake answers with a Status body.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    code: StatusCode,
    reason: Option<&'static str>,
    message: String,
    details: Option<Box<StatusDetails>>,
}

impl ApiError {
    fn new(code: StatusCode, reason: Option<&'static str>, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 404 `NotFound`: `<kind>[.<group>] "<name>" not found`.
    pub(crate) fn not_found(group: &str, kind: &str, name: &str) -> Self {
        let qualified = qualified(group, kind);
        Self::new(
            StatusCode::NOT_FOUND,
            Some("NotFound"),
            format!("{qualified} \"{name}\" not found"),
        )
        .with_details(group, kind, name)
    }

    /// 404 `NotFound` for a path the server does not serve.
    pub(crate) fn unknown_path() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Some("NotFound"),
            "the server could not find the requested resource",
        )
    }

    /// 409 `Conflict` for a stale resourceVersion.
    pub(crate) fn conflict(group: &str, kind: &str, name: &str) -> Self {
        let qualified = qualified(group, kind);
        Self::new(
            StatusCode::CONFLICT,
            Some("Conflict"),
            format!(
                "Operation cannot be fulfilled on {qualified} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        )
        .with_details(group, kind, name)
    }

    /// 409 `AlreadyExists` for a create of an existing name.
    pub(crate) fn already_exists(group: &str, kind: &str, name: &str) -> Self {
        let qualified = qualified(group, kind);
        Self::new(
            StatusCode::CONFLICT,
            Some("AlreadyExists"),
            format!("{qualified} \"{name}\" already exists"),
        )
        .with_details(group, kind, name)
    }

    /// 422 `Invalid`.
    pub(crate) fn invalid(group: &str, kind: &str, name: &str, message: &str) -> Self {
        let qualified = qualified(group, kind);
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Invalid"),
            format!("{qualified} \"{name}\" is invalid: {message}"),
        )
        .with_details(group, kind, name)
    }

    /// 400 `BadRequest`.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("BadRequest"), message)
    }

    /// 415 `UnsupportedMediaType`.
    pub(crate) fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("UnsupportedMediaType"),
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got {content_type})"
            ),
        )
    }

    /// 503 `ServiceUnavailable`.
    pub(crate) fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("ServiceUnavailable"),
            "the server is currently unable to handle the request",
        )
    }

    /// 429 `TooManyRequests` from the eviction subresource: the budget allows no disruption.
    pub(crate) fn disruption_budget(pdb: &str, desired: i32, current: i32) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            Some("TooManyRequests"),
            "Cannot evict pod as it would violate the pod's disruption budget.",
        );
        error.details = Some(Box::new(StatusDetails {
            causes: Some(vec![StatusCause {
                reason: Some("DisruptionBudget".to_owned()),
                message: Some(format!(
                    "The disruption budget {pdb} needs {desired} healthy pods and has {current} currently"
                )),
                field: None,
            }]),
            ..StatusDetails::default()
        }));
        error
    }

    /// 500 without a reason: more than one budget selects the pod.
    pub(crate) fn several_budgets() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        )
    }

    fn with_details(mut self, group: &str, kind: &str, name: &str) -> Self {
        self.details = Some(Box::new(StatusDetails {
            name: Some(name.to_owned()),
            group: (!group.is_empty()).then(|| group.to_owned()),
            kind: Some(kind.to_owned()),
            ..StatusDetails::default()
        }));
        self
    }
}

fn qualified(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    }
}

/// A `Success` Status with `code` (201 for an eviction, 200 for a delete).
pub(crate) fn success(code: StatusCode) -> Response {
    let body = Status {
        status: Some("Success".to_owned()),
        code: Some(i32::from(code.as_u16())),
        ..Status::default()
    };
    (code, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Status {
            status: Some("Failure".to_owned()),
            code: Some(i32::from(self.code.as_u16())),
            reason: self.reason.map(str::to_owned),
            message: Some(self.message),
            details: self.details.map(|d| *d),
            metadata: Default::default(),
        };
        (self.code, Json(body)).into_response()
    }
}
