//! Sends one API request: authentication, retries, and mapping answers to [`Error`]s.

use std::error::Error as _;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, ETAG, HeaderMap, IF_MATCH};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tracing::Instrument;

use crate::client::ClientInner;
use crate::error::{ApiFinding, Error, Result};
use crate::retry::retry_after;

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
                Err(refused) if refused.error.is_retryable() => Attempt::Retry {
                    error: refused.error,
                    retry_after: refused.retry_after,
                },
                Err(refused) => return Err(refused.error),
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
            retry_after: retry_after(headers),
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
                    retry_after: retry_after(headers),
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
