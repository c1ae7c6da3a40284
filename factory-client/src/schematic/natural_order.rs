//! The factory's "natural" ordering of mapping keys: letters by code point, runs of digits
//! by numeric value (`a2` < `a10`); at the first difference a non-letter sorts before a
//! letter, unless the previous character was a digit.
//!
//! This follows the YAML library's `keyList.Less` (yaml.v3 and go-yaml v4 agree); the
//! facts doc's §3.4.6 words the letter/non-letter rule the other way round and is wrong.

use std::cmp::Ordering;

use unicode_general_category::{GeneralCategory, get_general_category};

/// Compares two keys in the factory's natural key order.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    if natural_less(a, b) {
        Ordering::Less
    } else if natural_less(b, a) {
        Ordering::Greater
    } else {
        a.cmp(b)
    }
}

/// Whether `a` sorts strictly before `b`.
fn natural_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut after_digits = false;
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            after_digits = is_digit(ar[i]);
            continue;
        }
        let (a_letter, b_letter) = (is_letter(ar[i]), is_letter(br[i]));
        if a_letter && b_letter {
            return ar[i] < br[i];
        }
        if a_letter || b_letter {
            return if after_digits { a_letter } else { b_letter };
        }
        return digit_run_less(&ar, &br, i);
    }
    ar.len() < br.len()
}

/// Compares the digit runs starting at `i` numerically; a run continuing a non-zero
/// number counts from one so that `1_0` and `1_00` compare by length.
fn digit_run_less(ar: &[char], br: &[char], i: usize) -> bool {
    let mut start = 0_i64;
    if ar[i] == '0' || br[i] == '0' {
        let continues_number = ar[..i]
            .iter()
            .rev()
            .take_while(|c| is_digit(**c))
            .any(|&c| c != '0');
        if continues_number {
            start = 1;
        }
    }
    let (a_value, a_end) = digit_value(ar, i, start);
    let (b_value, b_end) = digit_value(br, i, start);
    if a_value != b_value {
        return a_value < b_value;
    }
    if a_end != b_end {
        return a_end < b_end;
    }
    ar[i] < br[i]
}

/// Accumulates the decimal run from `i` with Go's wrapping 64-bit arithmetic.
fn digit_value(chars: &[char], i: usize, start: i64) -> (i64, usize) {
    let mut value = start;
    let mut end = i;
    while end < chars.len() && is_digit(chars[end]) {
        let digit = i64::from(u32::from(chars[end]).wrapping_sub(u32::from('0')));
        value = value.wrapping_mul(10).wrapping_add(digit);
        end += 1;
    }
    (value, end)
}

/// Go's `unicode.IsDigit`: general category Nd (decimal digits of any script).
fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
        || (!c.is_ascii() && get_general_category(c) == GeneralCategory::DecimalNumber)
}

/// Go's `unicode.IsLetter`: general categories Lu, Ll, Lt, Lm and Lo. (Rust's
/// `is_alphabetic` also counts letter numbers like `Ⅷ` and combining marks.)
fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || (!c.is_ascii()
            && matches!(
                get_general_category(c),
                GeneralCategory::UppercaseLetter
                    | GeneralCategory::LowercaseLetter
                    | GeneralCategory::TitlecaseLetter
                    | GeneralCategory::ModifierLetter
                    | GeneralCategory::OtherLetter
            ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sorted(mut keys: Vec<&str>) -> Vec<&str> {
        keys.sort_by(|a, b| natural_cmp(a, b));
        keys
    }

    #[test]
    fn orders_the_documented_example() {
        assert_eq!(
            sorted(vec!["configTxtAppend", "b", "a10", "a2", "A", "nested"]),
            vec!["A", "a2", "a10", "b", "configTxtAppend", "nested"]
        );
    }

    #[test]
    fn non_letters_sort_before_letters() {
        assert_eq!(sorted(vec!["a_b", "ab", "a-b"]), vec!["a-b", "a_b", "ab"]);
    }

    #[test]
    fn after_a_digit_letters_sort_first() {
        assert_eq!(sorted(vec!["1-", "1a"]), vec!["1a", "1-"]);
    }

    /// Characters whose class differs between Go's tables and Rust's `is_numeric` /
    /// `is_alphabetic`: `²` (No) is not a digit for Go, so no digit run precedes `x`/`1`;
    /// `Ⅷ` (Nl) and U+0345 (a combining mark) are not letters for Go.
    #[test]
    fn classifies_characters_like_go() {
        assert_eq!(sorted(vec!["a²x", "a²1"]), vec!["a²1", "a²x"]);
        assert_eq!(sorted(vec!["ab", "aⅧ"]), vec!["aⅧ", "ab"]);
        assert_eq!(sorted(vec!["ab", "a\u{345}"]), vec!["a\u{345}", "ab"]);
        assert_eq!(sorted(vec!["aé", "a-"]), vec!["a-", "aé"]);
        assert_eq!(sorted(vec!["a٣", "a٢٠"]), vec!["a٣", "a٢٠"]);
    }

    #[test]
    fn shorter_prefix_sorts_first() {
        assert_eq!(sorted(vec!["abc", "ab"]), vec!["ab", "abc"]);
    }
}
