//! One HTTP exchange with retries (the SDK's shared policy), and the mapping of factory answers to typed errors.
//! Error bodies are plain text; JSON lists arrive as `text/plain`, so bodies are read as
//! bytes and never checked for a content type.

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode};
use sdk_support::backoff::{self, Backoff};
use sdk_support::retry_after;
use url::Url;

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

/// Sends a request, retrying 5xx answers and transport failures per `retry` (a server's
/// `Retry-After` sets the wait); maps any non-2xx final answer to an [`Error`].
#[tracing::instrument(level = "debug", skip(http, retry, body, subject), fields(%method, %url))]
pub(crate) async fn exchange(
    http: &reqwest::Client,
    retry: &Backoff,
    method: Method,
    url: Url,
    body: Option<&str>,
    subject: &Subject,
) -> Result<Answer, Error> {
    backoff::retry(
        retry,
        || attempt(http, retry, &method, &url, body, subject),
        |failed: &Failed| failed.error.is_retryable(),
        |failed| failed.retry_after,
    )
    .await
    .map_err(|failed| failed.error)
}

/// A failed attempt and the wait its answer asked for.
struct Failed {
    error: Error,
    retry_after: Option<Duration>,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Self {
            error,
            retry_after: None,
        }
    }
}

async fn attempt(
    http: &reqwest::Client,
    retry: &Backoff,
    method: &Method,
    url: &Url,
    body: Option<&str>,
    subject: &Subject,
) -> Result<Answer, Failed> {
    let mut request = http.request(method.clone(), url.clone());
    if let Some(body) = body {
        request = request
            .header(reqwest::header::CONTENT_TYPE, "application/yaml")
            .body(body.to_owned());
    }
    let response = request
        .send()
        .await
        .map_err(|err| transport_error(url, &err))?;
    let status = response.status();
    let retry_after = retry_after::from_headers(
        response.headers(),
        SystemTime::now(),
        retry.retry_after_cap(),
    );
    let body = response
        .bytes()
        .await
        .map_err(|err| transport_error(url, &err))?;
    finish(status, &body, url.clone(), subject).map_err(|error| Failed { error, retry_after })
}

/// A transport failure as an [`Error`]: [`Error::Tls`] when the TLS layer refused the
/// connection, [`Error::Transport`] otherwise.
fn transport_error(url: &Url, err: &reqwest::Error) -> Error {
    let mut message = err.to_string();
    let mut is_tls = false;
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        is_tls |= is_tls_error(inner);
        source = inner.source();
    }
    if is_tls {
        return Error::Tls {
            url: url.to_string(),
            message,
        };
    }
    Error::Transport {
        url: url.to_string(),
        message,
        timed_out: err.is_timeout(),
    }
}

/// Whether `err` is a rustls error, or I/O errors wrapping one. An I/O error's `source()`
/// skips the error it wraps, so wrapped errors are looked at directly.
fn is_tls_error(err: &(dyn std::error::Error + 'static)) -> bool {
    if err.is::<rustls::Error>() {
        return true;
    }
    match err
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::get_ref)
    {
        Some(wrapped) => is_tls_error(wrapped),
        None => false,
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
