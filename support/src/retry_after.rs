//! Reading a server's `Retry-After` header: delay seconds or an HTTP date, as a wait.

use std::time::{Duration, SystemTime};

/// The wait a `Retry-After` value asks for, measured from `now` and capped at `cap`.
///
/// The value is either delay seconds (`"120"`; a number too large to represent means
/// `cap`) or an HTTP date in any of the three forms HTTP allows (IMF-fixdate
/// `Sun, 06 Nov 1994 08:49:37 GMT`, the obsolete RFC 850 and asctime forms). A date that
/// has passed means no wait. `None` for anything else, so the caller's own backoff applies.
///
/// # Usage
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use sdk_support::retry_after::parse;
///
/// let cap = Duration::from_secs(60);
/// let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
/// assert_eq!(parse("7", now, cap), Some(Duration::from_secs(7)));
/// assert_eq!(parse("Sun, 06 Nov 1994 08:49:47 GMT", now, cap), Some(Duration::from_secs(10)));
/// assert_eq!(parse("86400", now, cap), Some(cap));
/// assert_eq!(parse("soon", now, cap), None);
/// ```
pub fn parse(value: &str, now: SystemTime, cap: Duration) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        let wait = value.parse::<u64>().map_or(cap, Duration::from_secs);
        return Some(wait.min(cap));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let wait = when.duration_since(now).unwrap_or(Duration::ZERO);
    Some(wait.min(cap))
}

/// The wait the `Retry-After` header among `headers` asks for, from `now`, capped at `cap`
/// (see [`parse`]); `None` without a readable header.
///
/// # Usage
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::{HeaderMap, HeaderValue, header::RETRY_AFTER};
/// use sdk_support::retry_after::from_headers;
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(from_headers(&headers, SystemTime::now(), Duration::from_secs(60)), None);
/// headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
/// assert_eq!(
///     from_headers(&headers, SystemTime::now(), Duration::from_secs(60)),
///     Some(Duration::from_secs(3))
/// );
/// ```
pub fn from_headers(headers: &http::HeaderMap, now: SystemTime, cap: Duration) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    parse(value, now, cap)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CAP: Duration = Duration::from_secs(60);

    fn at(date: &str) -> SystemTime {
        httpdate::parse_http_date(date).unwrap()
    }

    #[test]
    fn delay_seconds_are_read() {
        let now = SystemTime::UNIX_EPOCH;
        assert_eq!(parse("7", now, CAP), Some(Duration::from_secs(7)));
        assert_eq!(parse(" 0 ", now, CAP), Some(Duration::ZERO));
    }

    #[test]
    fn a_future_imf_fixdate_is_the_time_until_it() {
        let now = at("Wed, 21 Oct 2015 07:27:50 GMT");
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:28:00 GMT", now, CAP),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn the_obsolete_date_forms_are_read() {
        let now = at("Sun, 06 Nov 1994 08:49:30 GMT");
        let seven = Some(Duration::from_secs(7));
        assert_eq!(parse("Sunday, 06-Nov-94 08:49:37 GMT", now, CAP), seven);
        assert_eq!(parse("Sun Nov  6 08:49:37 1994", now, CAP), seven);
    }

    #[test]
    fn a_past_date_means_no_wait() {
        let now = at("Fri, 01 Jan 2016 00:00:00 GMT");
        assert_eq!(
            parse("Wed, 21 Oct 2015 07:28:00 GMT", now, CAP),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_no_answer() {
        let now = SystemTime::UNIX_EPOCH;
        for garbage in [
            "",
            "soon",
            "-5",
            "1.5",
            "7s",
            "Wed, 32 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(parse(garbage, now, CAP), None, "{garbage:?}");
        }
    }

    #[test]
    fn huge_values_are_capped() {
        let now = at("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(parse("86400", now, CAP), Some(CAP));
        assert_eq!(parse("99999999999999999999999999", now, CAP), Some(CAP));
        assert_eq!(parse("Fri, 31 Dec 9999 23:59:59 GMT", now, CAP), Some(CAP));
    }
}
