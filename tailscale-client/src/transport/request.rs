//! One API request as the client describes it, and a successful answer.

use reqwest::Method;
use serde::de::DeserializeOwned;

use super::JSON;
use crate::error::{Error, Result};

/// What an operation is called in errors, and the OAuth scope it needs (per the API
/// reference's `OAuth Scope:` lines).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint {
    pub(crate) operation: &'static str,
    pub(crate) scope: &'static str,
}

/// A request body.
pub(crate) enum Body {
    Json(serde_json::Value),
    HuJson(String),
}

/// One API request, relative to `{base}/api/v2`.
pub(crate) struct ApiRequest {
    pub(super) endpoint: Endpoint,
    pub(super) method: Method,
    pub(super) path: Vec<String>,
    pub(super) query: Vec<(&'static str, String)>,
    pub(super) body: Option<Body>,
    pub(super) accept: &'static str,
    pub(super) if_match: Option<String>,
    pub(super) idempotent: bool,
}

impl ApiRequest {
    /// A request with `method` to the path made of `segments` (each escaped on its own).
    pub(crate) fn new<S: Into<String>>(
        endpoint: Endpoint,
        method: Method,
        segments: impl IntoIterator<Item = S>,
    ) -> Self {
        let idempotent = method != Method::POST;
        ApiRequest {
            endpoint,
            method,
            path: segments.into_iter().map(Into::into).collect(),
            query: Vec::new(),
            body: None,
            accept: JSON,
            if_match: None,
            idempotent,
        }
    }

    pub(crate) fn get<S: Into<String>>(
        endpoint: Endpoint,
        segments: impl IntoIterator<Item = S>,
    ) -> Self {
        Self::new(endpoint, Method::GET, segments)
    }

    /// A POST that sets state and may safely be repeated.
    pub(crate) fn post_idempotent<S: Into<String>>(
        endpoint: Endpoint,
        segments: impl IntoIterator<Item = S>,
    ) -> Self {
        let mut request = Self::new(endpoint, Method::POST, segments);
        request.idempotent = true;
        request
    }

    pub(crate) fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    pub(crate) fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(Body::Json(body));
        self
    }

    pub(crate) fn body(mut self, body: Body) -> Self {
        self.body = Some(body);
        self
    }

    pub(crate) fn accept(mut self, media_type: &'static str) -> Self {
        self.accept = media_type;
        self
    }

    /// Adds `If-Match` (quoted, as the API expects) and marks the request not repeatable.
    pub(crate) fn if_match(mut self, etag: &str) -> Self {
        let trimmed = etag.trim();
        let quoted = if trimmed.starts_with('"') || trimmed.starts_with("W/") {
            trimmed.to_owned()
        } else {
            format!("\"{trimmed}\"")
        };
        self.if_match = Some(quoted);
        self.idempotent = false;
        self
    }
}

/// A successful answer. No `Debug`: the body of a key creation holds the key's secret.
pub(crate) struct ApiResponse {
    pub(crate) endpoint: Endpoint,
    pub(crate) etag: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl ApiResponse {
    /// Decodes a JSON body.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Decode {
            operation: self.endpoint.operation,
            reason: e.to_string(),
        })
    }

    /// The body as text.
    pub(crate) fn text(&self) -> Result<String> {
        String::from_utf8(self.body.clone()).map_err(|e| Error::Decode {
            operation: self.endpoint.operation,
            reason: e.to_string(),
        })
    }
}
