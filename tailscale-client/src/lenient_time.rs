//! Timestamps as the API really sends them: RFC 3339, `""`, or Go's zero time.

use serde::{Deserialize, Deserializer, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Deserializes an optional RFC 3339 timestamp. Absent, `null`, `""` (external devices),
/// Go's zero time `0001-01-01T00:00:00Z` and unparseable values all become `None`, so one
/// odd device never fails a whole listing.
pub(crate) fn deserialize<'de, D>(deserializer: D) -> Result<Option<OffsetDateTime>, D::Error>
where
    D: Deserializer<'de>,
{
    let text = Option::<String>::deserialize(deserializer)?;
    Ok(text.as_deref().and_then(parse))
}

/// Serializes an optional timestamp as RFC 3339 (`null` when absent).
pub(crate) fn serialize<S>(value: &Option<OffsetDateTime>, serializer: S) -> Result<S::Ok, S::Error>
where
    S: Serializer,
{
    time::serde::rfc3339::option::serialize(value, serializer)
}

fn parse(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) if t.year() <= 1 => None,
        Ok(t) => Some(t),
        Err(e) => {
            tracing::debug!(value = text, error = %e, "ignoring unparseable timestamp");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quirky_values_become_none() {
        for text in ["", "  ", "0001-01-01T00:00:00Z", "yesterday"] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn real_timestamps_parse() {
        let t = parse("2026-11-24T20:06:43Z");
        assert_eq!(t.map(|t| t.unix_timestamp()), Some(1_795_550_803));
    }
}
