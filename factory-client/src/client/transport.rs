//! One HTTP exchange with retries, and the mapping of factory answers to typed errors.
//! Error bodies are plain text; JSON lists arrive as `text/plain`, so bodies are read as
//! bytes and never checked for a content type.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use url::Url;

use super::retry::RetryPolicy;
use crate::Error;

/// Longest error body kept, as the official Go client does.
const MAX_ERROR_BODY: usize = 8192;

/// What a failed lookup was about, for 404 and 400 messages.
#[derive(Debug, Clone)]
pub(crate) struct Subject {
    /// e.g. `schematic 3765…` or `Talos version v1.11.1`.
    pub(crate) what: String,
    /// Whether a 400 means the schematic itself is invalid.
    pub(crate) is_schematic_post: bool,
}

/// A successful answer.
pub(crate) struct Answer {
    pub(crate) url: Url,
    pub(crate) body: Vec<u8>,
}

/// Sends a request, retrying 5xx answers and transport failures per `retry`; maps any
/// non-2xx final answer to an [`Error`].
#[tracing::instrument(level = "debug", skip(http, retry, body, subject), fields(%method, %url))]
pub(crate) async fn exchange(
    http: &reqwest::Client,
    retry: &RetryPolicy,
    method: Method,
    url: Url,
    body: Option<&str>,
    subject: &Subject,
) -> Result<Answer, Error> {
    let mut attempt = 0;
    loop {
        let mut request = http.request(method.clone(), url.clone());
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/yaml")
                .body(body.to_owned());
        }
        let outcome = match request.send().await {
            Ok(response) => read(response).await,
            Err(err) => Err(err),
        };
        let retry_after = match &outcome {
            Ok((status, _, retry_after)) if status.is_server_error() => *retry_after,
            Err(err) if is_transient(err) => None,
            Ok((status, body, _)) => return finish(*status, body, url, subject),
            Err(err) => return Err(transport_error(&url, err)),
        };
        if attempt >= retry.max_retries {
            return match outcome {
                Ok((status, body, _)) => finish(status, &body, url, subject),
                Err(err) => Err(transport_error(&url, &err)),
            };
        }
        let delay = retry.delay(attempt, retry_after);
        tracing::debug!(%url, attempt, ?delay, "retrying factory request");
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

async fn read(
    response: reqwest::Response,
) -> Result<(StatusCode, Vec<u8>, Option<Duration>), reqwest::Error> {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.bytes().await?.to_vec();
    Ok((status, body, retry_after))
}

fn is_transient(err: &reqwest::Error) -> bool {
    err.is_timeout() || err.is_connect() || err.is_request() || err.is_body()
}

fn transport_error(url: &Url, err: &reqwest::Error) -> Error {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    Error::Transport {
        url: url.to_string(),
        message,
        timed_out: err.is_timeout(),
    }
}

fn finish(status: StatusCode, body: &[u8], url: Url, subject: &Subject) -> Result<Answer, Error> {
    if status.is_success() {
        return Ok(Answer {
            url,
            body: body.to_vec(),
        });
    }
    let message = error_text(body);
    Err(match status {
        StatusCode::BAD_REQUEST if subject.is_schematic_post => {
            Error::SchematicRejected { message }
        }
        StatusCode::BAD_REQUEST => Error::BadRequest { message },
        StatusCode::NOT_FOUND => Error::NotFound {
            what: subject.what.clone(),
            message,
        },
        _ => Error::Http {
            status: status.as_u16(),
            url: url.to_string(),
            message,
        },
    })
}

/// The factory's plain-text error body, at most 8 KiB, without the trailing newline.
fn error_text(body: &[u8]) -> String {
    let kept = &body[..body.len().min(MAX_ERROR_BODY)];
    String::from_utf8_lossy(kept).trim_end().to_owned()
}
