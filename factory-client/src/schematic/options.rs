//! Free-form `overlay.options`: YAML values typed the way the factory decodes them into
//! `map[string]any`, with keys kept in the factory's natural order.

use super::natural_order::natural_cmp;

/// One value inside `overlay.options`.
///
/// Plain scalars are re-typed like the factory does (`0x10` → `Int(16)`, `1e3` →
/// `Float(1000.0)`); quoted scalars and dates stay strings.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// `null` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// A positive integer above `i64::MAX`.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A string.
    String(String),
    /// A list.
    List(Vec<OptionValue>),
    /// A nested mapping with string keys.
    Map(OptionMap),
}

impl From<&str> for OptionValue {
    fn from(value: &str) -> Self {
        Self::String(value.to_owned())
    }
}

impl From<String> for OptionValue {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

impl From<i64> for OptionValue {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<bool> for OptionValue {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

impl From<OptionMap> for OptionValue {
    fn from(value: OptionMap) -> Self {
        Self::Map(value)
    }
}

/// A string-keyed mapping whose entries are always in the factory's natural key order
/// (`A` < `a2` < `a10` < `b`), which is the order they are serialized in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OptionMap {
    entries: Vec<(String, OptionValue)>,
}

impl OptionMap {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, replacing an existing entry; returns the previous value.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<OptionValue>,
    ) -> Option<OptionValue> {
        let key = key.into();
        let value = value.into();
        match self
            .entries
            .binary_search_by(|(existing, _)| natural_cmp(existing, &key))
        {
            Ok(at) => Some(std::mem::replace(&mut self.entries[at].1, value)),
            Err(at) => {
                self.entries.insert(at, (key, value));
                None
            }
        }
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&OptionValue> {
        self.entries
            .binary_search_by(|(existing, _)| natural_cmp(existing, key))
            .ok()
            .map(|at| &self.entries[at].1)
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<OptionValue> {
        let at = self
            .entries
            .binary_search_by(|(existing, _)| natural_cmp(existing, key))
            .ok()?;
        Some(self.entries.remove(at).1)
    }

    /// Entries in natural key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OptionValue)> {
        self.entries
            .iter()
            .map(|(key, value)| (key.as_str(), value))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Into<String>, V: Into<OptionValue>> FromIterator<(K, V)> for OptionMap {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut map = Self::new();
        for (key, value) in iter {
            map.insert(key, value);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Whatever the keys (digit runs, leading zeros, letters against punctuation), the
        /// map keeps every key once, finds each, and iterates in natural order.
        #[test]
        fn keeps_every_key_findable_in_natural_order(
            keys in prop::collection::vec("[a-cA-C0-2_.-]{0,5}", 0..24)
        ) {
            let mut map = OptionMap::new();
            for (index, key) in keys.iter().enumerate() {
                map.insert(key.clone(), OptionValue::Int(index as i64));
            }
            let mut unique = keys.clone();
            unique.sort();
            unique.dedup();
            prop_assert_eq!(map.len(), unique.len());
            for key in &unique {
                let last = keys.iter().rposition(|k| k == key).unwrap_or_default();
                prop_assert_eq!(map.get(key), Some(&OptionValue::Int(last as i64)));
            }
            let ordered: Vec<&str> = map.iter().map(|(key, _)| key).collect();
            for pair in ordered.windows(2) {
                prop_assert_eq!(natural_cmp(pair[0], pair[1]), std::cmp::Ordering::Less, "{:?}", pair);
            }
        }
    }
}
