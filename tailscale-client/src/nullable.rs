//! `null` where the API means "none": Go encodes an empty (nil) list or map as `null`.

use serde::{Deserialize, Deserializer};

/// Deserializes `null` as the type's default (an empty list or map), anything else as
/// the type itself. Combine with `#[serde(default)]` for fields that may be absent.
pub(crate) fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Lists {
        #[serde(deserialize_with = "or_default")]
        tags: Vec<String>,
    }

    #[test]
    fn null_absent_and_present_lists_decode() {
        let null: Lists = serde_json::from_str(r#"{"tags": null}"#).unwrap();
        let absent: Lists = serde_json::from_str("{}").unwrap();
        let present: Lists = serde_json::from_str(r#"{"tags": ["tag:a"]}"#).unwrap();
        assert!(null.tags.is_empty() && absent.tags.is_empty());
        assert_eq!(present.tags, ["tag:a"]);
    }
}
