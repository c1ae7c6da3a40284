//! Sends one API request: authentication, retries, and mapping answers to [`Error`]s.

use std::error::Error as _;

use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, ETAG, HeaderMap, IF_MATCH, RETRY_AFTER,
};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use tracing::Instrument;

use crate::client::ClientInner;
use crate::error::{ApiFinding, Error, Result};
use crate::retry::parse_retry_after;

/// Media type of HuJSON policy files.
pub(crate) const HUJSON: &str = "application/hujson";
/// Media type of JSON.
pub(crate) const JSON: &str = "application/json";

/// What an operation is called in errors, and the OAuth scope it needs (facts §1.6).
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
    endpoint: Endpoint,
    method: Method,
    path: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<Body>,
    accept: &'static str,
    if_match: Option<String>,
    idempotent: bool,
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

/// A successful answer.
#[derive(Debug)]
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

/// `{"message": ..., "data": [...]}`, the API's error body.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: Vec<ApiFinding>,
}

/// Renders a transport error with its causes, never including credentials.
pub(crate) fn describe_transport_error(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "request timed out".to_owned()
    } else if err.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

enum Attempt {
    Done(ApiResponse),
    Retry {
        error: Error,
        retry_after: Option<std::time::Duration>,
    },
    Fail(Error),
}

impl ClientInner {
    /// Sends `request`, retrying as the retry policy allows.
    pub(crate) async fn send(&self, request: ApiRequest) -> Result<ApiResponse> {
        let span = tracing::debug_span!(
            "tailscale_api",
            operation = request.endpoint.operation,
            method = %request.method,
        );
        self.send_with_retries(request).instrument(span).await
    }

    async fn send_with_retries(&self, request: ApiRequest) -> Result<ApiResponse> {
        let mut attempts = 0u32;
        let mut reauthenticated = false;
        loop {
            attempts += 1;
            let outcome = match self.auth.bearer(&self.http).await {
                Ok(token) => {
                    let outcome = self
                        .attempt(&request, token.expose_secret(), attempts)
                        .await;
                    if let Attempt::Fail(error @ Error::Unauthorized { .. }) = outcome {
                        if reauthenticated || !self.auth.invalidate(&token).await {
                            return Err(error);
                        }
                        tracing::debug!("access token rejected, fetching a new one");
                        reauthenticated = true;
                        continue;
                    }
                    outcome
                }
                // The token endpoint being briefly unavailable is retried like the API.
                Err(error) if error.is_retryable() => Attempt::Retry {
                    error,
                    retry_after: None,
                },
                Err(error) => return Err(error),
            };
            match outcome {
                Attempt::Done(response) => return Ok(response),
                Attempt::Fail(error) => return Err(error),
                Attempt::Retry { error, retry_after } => {
                    if attempts > self.retry.max_retries {
                        return Err(error);
                    }
                    let wait = self.retry.delay(attempts, retry_after);
                    tracing::debug!(
                        attempt = attempts,
                        wait_ms = wait.as_millis() as u64,
                        %error,
                        "retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(&self, request: &ApiRequest, token: &str, attempts: u32) -> Attempt {
        let endpoint = request.endpoint;
        let mut url = self.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["api", "v2"]);
            segments.extend(request.path.iter().map(String::as_str));
        }
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(request.query.iter());
        }
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .header(ACCEPT, request.accept);
        if let Some(etag) = &request.if_match {
            builder = builder.header(IF_MATCH, etag);
        }
        builder = match &request.body {
            Some(Body::Json(value)) => builder.header(CONTENT_TYPE, JSON).body(value.to_string()),
            Some(Body::HuJson(text)) => builder.header(CONTENT_TYPE, HUJSON).body(text.clone()),
            None => builder,
        };
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => return self.transport_failure(request, &e),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(body) => body.to_vec(),
            Err(e) => return self.transport_failure(request, &e),
        };
        if status.is_success() {
            return Attempt::Done(ApiResponse {
                endpoint,
                etag: header_text(&headers, ETAG.as_str()),
                body,
            });
        }
        classify_failure(request, status, &headers, &body, attempts)
    }

    fn transport_failure(&self, request: &ApiRequest, err: &reqwest::Error) -> Attempt {
        let error = Error::Transport {
            operation: request.endpoint.operation,
            reason: describe_transport_error(err),
        };
        if request.idempotent {
            Attempt::Retry {
                error,
                retry_after: None,
            }
        } else {
            Attempt::Fail(error)
        }
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn classify_failure(
    request: &ApiRequest,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    attempts: u32,
) -> Attempt {
    let endpoint = request.endpoint;
    let operation = endpoint.operation;
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let message = if parsed.message.is_empty() {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() || text.len() > 200 {
            status.canonical_reason().unwrap_or("error").to_owned()
        } else {
            text.to_owned()
        }
    } else {
        parsed.message
    };
    match status.as_u16() {
        401 => Attempt::Fail(Error::Unauthorized { operation, message }),
        403 => Attempt::Fail(Error::PermissionDenied {
            operation,
            scope: endpoint.scope,
            message,
        }),
        404 => Attempt::Fail(Error::NotFound { operation, message }),
        400 => Attempt::Fail(Error::BadRequest {
            operation,
            message,
            details: parsed.data,
        }),
        412 => Attempt::Fail(Error::PolicyConflict { message }),
        429 => Attempt::Retry {
            error: Error::RateLimited {
                operation,
                attempts,
            },
            retry_after: header_text(headers, RETRY_AFTER.as_str())
                .and_then(|v| parse_retry_after(&v, OffsetDateTime::now_utc())),
        },
        code @ 500..=599 if code != 501 => {
            let error = Error::Server {
                operation,
                status: code,
                message,
                attempts,
            };
            if request.idempotent {
                Attempt::Retry {
                    error,
                    retry_after: header_text(headers, RETRY_AFTER.as_str())
                        .and_then(|v| parse_retry_after(&v, OffsetDateTime::now_utc())),
                }
            } else {
                Attempt::Fail(error)
            }
        }
        code => Attempt::Fail(Error::Api {
            operation,
            status: code,
            message,
        }),
    }
}
