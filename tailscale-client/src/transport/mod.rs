//! Sends one API request: authentication, retries, and mapping answers to [`Error`]s.

use std::error::Error as _;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, ETAG, HeaderMap, IF_MATCH};
use sdk_support::backoff;
use secrecy::ExposeSecret;
use serde::Deserialize;
use tracing::Instrument;

use crate::client::ClientInner;
use crate::error::{ApiFinding, Error, Result};

/// Media type of HuJSON policy files.
pub(crate) const HUJSON: &str = "application/hujson";
/// Media type of JSON.
pub(crate) const JSON: &str = "application/json";

mod request;

pub(crate) use request::{ApiRequest, ApiResponse, Body, Endpoint};

/// `{"message": ..., "data": [...]}`, the API's error body.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default, deserialize_with = "crate::nullable::or_default")]
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

/// The wait an answer's `Retry-After` asks for; the retry policy caps it.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    sdk_support::retry_after::from_headers(headers, SystemTime::now(), Duration::MAX)
}

/// A failed attempt: the error, whether repeating the request may help, and the wait the
/// answer asked for.
struct Failure {
    error: Error,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn fatal(error: Error) -> Self {
        Failure {
            error,
            retryable: false,
            retry_after: None,
        }
    }

    fn retryable(error: Error, retry_after: Option<Duration>) -> Self {
        Failure {
            error,
            retryable: true,
            retry_after,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
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
        let attempts = AtomicU32::new(0);
        let reauthenticated = AtomicBool::new(false);
        backoff::retry(
            &self.retry,
            || {
                let attempt = attempts.fetch_add(1, Ordering::Relaxed) + 1;
                self.authenticated_attempt(&request, attempt, &reauthenticated)
            },
            |failure: &Failure| failure.retryable,
            |failure| failure.retry_after,
        )
        .await
        .map_err(|failure| failure.error)
    }

    /// One attempt with the current token. A rejected OAuth token is replaced and the
    /// request sent again at once, once per call.
    async fn authenticated_attempt(
        &self,
        request: &ApiRequest,
        attempts: u32,
        reauthenticated: &AtomicBool,
    ) -> std::result::Result<ApiResponse, Failure> {
        loop {
            // The token endpoint being briefly unavailable is retried like the API.
            let token = self
                .auth
                .bearer(&self.http)
                .await
                .map_err(|refused| Failure {
                    retryable: refused.error.is_retryable(),
                    error: refused.error,
                    retry_after: refused.retry_after,
                })?;
            let outcome = self.attempt(request, token.expose_secret(), attempts).await;
            let unauthorized = matches!(
                &outcome,
                Err(Failure {
                    error: Error::Unauthorized { .. },
                    ..
                })
            );
            if !unauthorized
                || reauthenticated.load(Ordering::Relaxed)
                || !self.auth.invalidate(&token).await
            {
                return outcome;
            }
            tracing::debug!("access token rejected, fetching a new one");
            reauthenticated.store(true, Ordering::Relaxed);
        }
    }

    async fn attempt(
        &self,
        request: &ApiRequest,
        token: &str,
        attempts: u32,
    ) -> std::result::Result<ApiResponse, Failure> {
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
            .bearer_auth(token)
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
            return Ok(ApiResponse {
                endpoint,
                etag: header_text(&headers, ETAG.as_str()),
                body,
            });
        }
        Err(classify_failure(request, status, &headers, &body, attempts))
    }

    fn transport_failure(
        &self,
        request: &ApiRequest,
        err: &reqwest::Error,
    ) -> std::result::Result<ApiResponse, Failure> {
        let error = Error::Transport {
            operation: request.endpoint.operation,
            reason: describe_transport_error(err),
        };
        Err(if request.idempotent {
            Failure::retryable(error, None)
        } else {
            Failure::fatal(error)
        })
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
) -> Failure {
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
        401 => Failure::fatal(Error::Unauthorized { operation, message }),
        403 => Failure::fatal(Error::PermissionDenied {
            operation,
            scope: endpoint.scope,
            message,
        }),
        404 => Failure::fatal(Error::NotFound { operation, message }),
        400 => Failure::fatal(Error::BadRequest {
            operation,
            message,
            details: parsed.data,
        }),
        412 => Failure::fatal(Error::PolicyConflict { message }),
        429 => Failure::retryable(
            Error::RateLimited {
                operation,
                attempts,
            },
            retry_after(headers),
        ),
        code @ 500..=599 if code != 501 => {
            let error = Error::Server {
                operation,
                status: code,
                message,
                attempts,
            };
            if request.idempotent {
                Failure::retryable(error, retry_after(headers))
            } else {
                Failure::fatal(error)
            }
        }
        code => Failure::fatal(Error::Api {
            operation,
            status: code,
            message,
        }),
    }
}
