//! How the factory's YAML library types a plain (unquoted) scalar: null, bool, int, float,
//! timestamp, merge key or string.
//!
//! The same rules decide two things: what a plain scalar in posted YAML means, and whether a
//! string must be quoted in the canonical output (a string that would read back as something
//! else is quoted).

/// The type a plain scalar resolves to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Resolved {
    /// `~`, `null`, `Null`, `NULL` or the empty string.
    Null,
    /// `true`/`false` in three spellings each.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// A positive integer above `i64::MAX` that fits `u64`.
    UInt(u64),
    /// A float, including `.inf`, `-.inf` and `.nan`.
    Float(f64),
    /// A date or date-time (kept as text when decoded).
    Timestamp,
    /// The merge key `<<`.
    Merge,
    /// Anything else: a string.
    Str,
}

/// Resolves a plain scalar the way the factory's YAML library does.
pub(crate) fn resolve_plain(text: &str) -> Resolved {
    let Some(&first) = text.as_bytes().first() else {
        return Resolved::Null;
    };
    if let Some(known) = resolve_keyword(text) {
        return known;
    }
    match first {
        b'.' => parse_dot_float(text).map_or(Resolved::Str, Resolved::Float),
        b'0'..=b'9' | b'+' | b'-' => resolve_number_or_timestamp(text),
        _ => Resolved::Str,
    }
}

/// The fixed words: nulls, booleans, special floats and the merge key.
fn resolve_keyword(text: &str) -> Option<Resolved> {
    Some(match text {
        "~" | "null" | "Null" | "NULL" => Resolved::Null,
        "true" | "True" | "TRUE" => Resolved::Bool(true),
        "false" | "False" | "FALSE" => Resolved::Bool(false),
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        "<<" => Resolved::Merge,
        _ => return None,
    })
}

/// Scalars starting with a digit or a sign: timestamp, integer (underscores ignored, Go base
/// prefixes), or YAML-style float; otherwise a string.
fn resolve_number_or_timestamp(text: &str) -> Resolved {
    if is_timestamp(text) {
        return Resolved::Timestamp;
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(value) = parse_go_int(&plain) {
        return match i64::try_from(value) {
            Ok(int) => Resolved::Int(int),
            Err(_) => u64::try_from(value).map_or(Resolved::Str, Resolved::UInt),
        };
    }
    let float = is_yaml_style_float(&plain)
        .then(|| plain.parse::<f64>().ok())
        .flatten();
    match float {
        Some(float) if float.is_finite() => Resolved::Float(float),
        _ => Resolved::Str,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` / `ParseUint(s, 0, 64)`: optional sign, then `0x`,
/// `0o`, `0b`, a leading `0` (octal) or decimal. Returns `None` when the text is not an
/// integer or does not fit 64 bits (signed for negatives, unsigned otherwise).
pub(crate) fn parse_go_int(text: &str) -> Option<i128> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = unsigned.to_ascii_lowercase();
    let (radix, digits) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let value = -i128::from(magnitude);
        (value >= i128::from(i64::MIN)).then_some(value)
    } else {
        Some(i128::from(magnitude))
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(text: &str) -> bool {
    let rest = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", fraction)) => !fraction.is_empty() && all_digits(fraction),
        Some((whole, fraction)) => !whole.is_empty() && all_digits(whole) && all_digits(fraction),
        None => !mantissa.is_empty() && all_digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|exp| {
        let digits = exp.strip_prefix(['-', '+']).unwrap_or(exp);
        !digits.is_empty() && all_digits(digits)
    });
    mantissa_ok && exponent_ok
}

/// A scalar starting with `.` that Go's `ParseFloat` accepts: `.5`, `.5e3`.
fn parse_dot_float(text: &str) -> Option<f64> {
    if !is_yaml_style_float(text) {
        return None;
    }
    text.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn all_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

/// YAML 1.1 booleans that the factory still quotes on output ("legacy compat").
pub(crate) fn is_yaml11_bool(text: &str) -> bool {
    matches!(
        text,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// YAML 1.1 truthy spellings accepted for a boolean field.
pub(crate) fn yaml11_bool_value(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// YAML 1.1 base-60 numbers: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
pub(crate) fn is_base60_number(text: &str) -> bool {
    let rest = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (body, fraction) = match rest.split_once('.') {
        Some((body, fraction)) => (body, Some(fraction)),
        None => (rest, None),
    };
    if fraction.is_some_and(|f| !f.bytes().all(|b| b.is_ascii_digit() || b == b'_')) {
        return false;
    }
    let mut groups = body.split(':');
    let head_ok = groups.next().is_some_and(|head| {
        head.as_bytes().first().is_some_and(u8::is_ascii_digit)
            && head.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    });
    let mut sexagesimal = 0;
    let tail_ok = groups.all(|group| {
        sexagesimal += 1;
        match group.as_bytes() {
            [d] => d.is_ascii_digit(),
            [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
            _ => false,
        }
    });
    head_ok && sexagesimal > 0 && tail_ok
}

/// Dates and date-times in the forms the factory's YAML library recognises:
/// `2006-1-2`, `2006-1-2 15:4:5[.frac]`, `2006-1-2T15:4:5[.frac](Z|±hh:mm)` (also `t`).
pub(crate) fn is_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 5 || !bytes[..4].iter().all(u8::is_ascii_digit) || bytes[4] != b'-' {
        return false;
    }
    let mut cursor = Cursor { bytes, at: 5 };
    let Some(month) = cursor.number(2) else {
        return false;
    };
    if !cursor.eat(b'-') {
        return false;
    }
    let Some(day) = cursor.number(2) else {
        return false;
    };
    let year: u32 = text[..4].parse().unwrap_or(0);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return false;
    }
    if cursor.done() {
        return true;
    }
    match cursor.next() {
        Some(b'T' | b't') => cursor.time() && cursor.zone() && cursor.done(),
        Some(b' ') => cursor.time() && cursor.done(),
        _ => false,
    }
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A tiny byte cursor for the timestamp grammar.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn eat(&mut self, expected: u8) -> bool {
        let matched = self.bytes.get(self.at) == Some(&expected);
        if matched {
            self.at += 1;
        }
        matched
    }

    /// One to `max` digits.
    fn number(&mut self, max: usize) -> Option<u32> {
        let start = self.at;
        while self.at < self.bytes.len()
            && self.at - start < max
            && self.bytes[self.at].is_ascii_digit()
        {
            self.at += 1;
        }
        std::str::from_utf8(&self.bytes[start..self.at])
            .ok()?
            .parse()
            .ok()
    }

    /// `h:m:s` with one or two digits each and an optional `.digits` / `,digits` fraction.
    fn time(&mut self) -> bool {
        let Some(hour) = self.number(2) else {
            return false;
        };
        if !self.eat(b':') {
            return false;
        }
        let Some(minute) = self.number(2) else {
            return false;
        };
        if !self.eat(b':') {
            return false;
        }
        let Some(second) = self.number(2) else {
            return false;
        };
        if matches!(self.bytes.get(self.at), Some(b'.' | b','))
            && self.bytes.get(self.at + 1).is_some_and(u8::is_ascii_digit)
        {
            self.at += 1;
            while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
                self.at += 1;
            }
        }
        hour < 24 && minute < 60 && second < 60
    }

    /// `Z` or `±hh:mm`.
    fn zone(&mut self) -> bool {
        if self.eat(b'Z') {
            return true;
        }
        let rest = &self.bytes[self.at..];
        let ok = rest.len() >= 6
            && matches!(rest[0], b'+' | b'-')
            && rest[1..3].iter().all(u8::is_ascii_digit)
            && rest[3] == b':'
            && rest[4..6].iter().all(u8::is_ascii_digit);
        if ok {
            self.at += 6;
        }
        ok
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn resolves_the_fixed_words() {
        assert_eq!(resolve_plain(""), Resolved::Null);
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain("True"), Resolved::Bool(true));
        assert_eq!(resolve_plain("FALSE"), Resolved::Bool(false));
        assert_eq!(resolve_plain("<<"), Resolved::Merge);
        assert_eq!(resolve_plain("yes"), Resolved::Str);
        assert_eq!(resolve_plain("tRUE"), Resolved::Str);
    }

    #[test]
    fn resolves_integers_in_every_go_base() {
        assert_eq!(resolve_plain("10"), Resolved::Int(10));
        assert_eq!(resolve_plain("0xa"), Resolved::Int(10));
        assert_eq!(resolve_plain("0o12"), Resolved::Int(10));
        assert_eq!(resolve_plain("012"), Resolved::Int(10));
        assert_eq!(resolve_plain("0b1010"), Resolved::Int(10));
        assert_eq!(resolve_plain("+10"), Resolved::Int(10));
        assert_eq!(resolve_plain("-0x10"), Resolved::Int(-16));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(
            resolve_plain("18446744073709551615"),
            Resolved::UInt(u64::MAX)
        );
    }

    #[test]
    fn resolves_floats_and_rejects_near_misses() {
        assert_eq!(resolve_plain("1.5"), Resolved::Float(1.5));
        assert_eq!(resolve_plain(".5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain("1."), Resolved::Float(1.0));
        assert_eq!(resolve_plain("1e3"), Resolved::Float(1000.0));
        assert_eq!(resolve_plain("08"), Resolved::Float(8.0));
        assert_eq!(resolve_plain("99999999999999999999"), Resolved::Float(1e20));
        assert_eq!(resolve_plain("1e999"), Resolved::Str);
        assert_eq!(resolve_plain("1.2.3"), Resolved::Str);
        assert_eq!(resolve_plain("0x"), Resolved::Str);
        assert_eq!(resolve_plain("-"), Resolved::Str);
        assert_eq!(resolve_plain("."), Resolved::Str);
        assert_eq!(resolve_plain("1e"), Resolved::Str);
    }

    #[test]
    fn recognises_timestamps() {
        assert!(is_timestamp("2001-12-14"));
        assert!(is_timestamp("2001-1-2"));
        assert!(is_timestamp("2001-12-14t21:59:43.10-05:00"));
        assert!(is_timestamp("2001-12-14T21:59:43Z"));
        assert!(is_timestamp("2001-12-14 21:59:43.10"));
        assert!(is_timestamp("2024-02-29"));
        assert!(!is_timestamp("2023-02-29"));
        assert!(!is_timestamp("2001-13-14"));
        assert!(!is_timestamp("2001-12-14T21:59:43"));
        assert!(!is_timestamp("20011-12-14"));
        assert!(!is_timestamp("2001-12-14x"));
        assert_eq!(resolve_plain("2001-12-14"), Resolved::Timestamp);
    }

    #[test]
    fn recognises_legacy_yaml11_forms() {
        assert!(is_base60_number("12:30"));
        assert!(is_base60_number("-1:20:30.5"));
        assert!(is_base60_number("190:20:30"));
        assert!(!is_base60_number("12:60"));
        assert!(!is_base60_number("12:"));
        assert!(!is_base60_number("12"));
        assert!(!is_base60_number("a:30"));
        assert!(is_yaml11_bool("Off"));
        assert!(!is_yaml11_bool("oFF"));
    }
}
