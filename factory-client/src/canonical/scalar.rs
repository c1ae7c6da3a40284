//! Which style a string is written in: plain, 'single', "double" or a `|` literal block.
//! One function per rule of the factory's YAML emitter.

use crate::yaml::resolve::{Resolved, is_base60_number, is_yaml11_bool, resolve_plain};

/// How a scalar is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `value`
    Plain,
    /// `'value'`
    SingleQuoted,
    /// `"value"`
    DoubleQuoted,
    /// `|` block
    Literal,
}

/// The style the encoder asks for before the emitter's own checks: strings with a newline
/// ask for a literal block (whitespace-only ones for double quotes, as every go-yaml v4
/// factory does), strings that would read back as another type (or as a YAML 1.1 bool /
/// base-60 number) ask for double quotes, everything else asks for plain.
pub(crate) fn requested_style(value: &str) -> Style {
    if value.contains('\n') {
        if is_whitespace_only(value) {
            Style::DoubleQuoted
        } else {
            Style::Literal
        }
    } else if reads_back_as_string(value) {
        Style::Plain
    } else {
        Style::DoubleQuoted
    }
}

/// Strings made only of whitespace (Unicode `White_Space`, newlines included).
fn is_whitespace_only(value: &str) -> bool {
    value.chars().all(char::is_whitespace)
}

/// Whether `value` written plain reads back as the same string.
fn reads_back_as_string(value: &str) -> bool {
    resolve_plain(value) == Resolved::Str && !is_legacy_compat(value)
}

/// YAML 1.1 forms that are quoted for older parsers: `yes`/`no`/`on`/`off`/`y`/`n` in
/// their three spellings, and base-60 numbers like `12:30`.
pub(crate) fn is_legacy_compat(value: &str) -> bool {
    is_yaml11_bool(value) || is_base60_number(value)
}

/// The emitter's final choice given the requested style and what the text allows.
/// `simple_key` is true when the scalar is a mapping key.
pub(crate) fn select_style(value: &str, requested: Style, simple_key: bool) -> Style {
    let allowed = analyze(value);
    let mut style = requested;
    if simple_key && allowed.multiline {
        style = Style::DoubleQuoted;
    }
    if style == Style::Plain && !allowed.plain {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !allowed.single_quoted {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!allowed.literal || simple_key) {
        style = Style::DoubleQuoted;
    }
    style
}

/// What the text of a scalar permits in block context.
#[derive(Debug, Clone, Copy)]
struct Allowed {
    multiline: bool,
    plain: bool,
    single_quoted: bool,
    literal: bool,
}

/// Facts about the characters of a scalar that decide the allowed styles.
#[derive(Debug, Default)]
struct Facts {
    indicator: bool,
    line_breaks: bool,
    special_characters: bool,
    tabs: bool,
    leading_space: bool,
    leading_break: bool,
    trailing_space: bool,
    trailing_break: bool,
    break_then_space: bool,
    space_then_break: bool,
}

fn analyze(value: &str) -> Allowed {
    if value.is_empty() {
        return Allowed {
            multiline: false,
            plain: true,
            single_quoted: true,
            literal: false,
        };
    }
    let facts = scan(value);
    let plain = !(facts.leading_space
        || facts.leading_break
        || facts.trailing_space
        || facts.trailing_break
        || facts.break_then_space
        || facts.space_then_break
        || facts.tabs
        || facts.special_characters
        || facts.line_breaks
        || facts.indicator);
    let single_quoted = !(facts.break_then_space
        || facts.space_then_break
        || facts.tabs
        || facts.special_characters);
    let literal = !(facts.trailing_space || facts.space_then_break || facts.special_characters);
    Allowed {
        multiline: facts.line_breaks,
        plain,
        single_quoted,
        literal,
    }
}

fn scan(value: &str) -> Facts {
    let chars: Vec<char> = value.chars().collect();
    let mut facts = Facts {
        indicator: value.starts_with("---") || value.starts_with("..."),
        ..Facts::default()
    };
    let mut preceded_by_whitespace = true;
    let (mut previous_space, mut previous_break) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = chars.get(i + 1).is_none_or(|&next| is_blank(next));
        facts.indicator |= if i == 0 {
            is_leading_indicator(c, followed_by_whitespace)
        } else {
            is_inner_indicator(c, preceded_by_whitespace, followed_by_whitespace)
        };
        if c == '\t' {
            facts.tabs = true;
        } else if !is_printable(c) {
            facts.special_characters = true;
        }
        let last = i + 1 == chars.len();
        if c == ' ' {
            facts.leading_space |= i == 0;
            facts.trailing_space |= last;
            facts.break_then_space |= previous_break;
            (previous_space, previous_break) = (true, false);
        } else if is_break(c) {
            facts.line_breaks = true;
            facts.leading_break |= i == 0;
            facts.trailing_break |= last;
            facts.space_then_break |= previous_space;
            (previous_space, previous_break) = (false, true);
        } else {
            (previous_space, previous_break) = (false, false);
        }
        preceded_by_whitespace = is_blank(c) || is_break(c) || c == '\0';
    }
    facts
}

/// First characters that make a plain scalar unreadable in block context.
fn is_leading_indicator(c: char, followed_by_whitespace: bool) -> bool {
    match c {
        '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`' => true,
        '?' | ':' | '-' => followed_by_whitespace,
        _ => false,
    }
}

/// Later characters that make a plain scalar unreadable in block context: `: ` and ` #`.
fn is_inner_indicator(c: char, preceded_by_whitespace: bool, followed_by_whitespace: bool) -> bool {
    match c {
        ':' => followed_by_whitespace,
        '#' => preceded_by_whitespace,
        _ => false,
    }
}

/// Space or tab.
pub(crate) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Line-break characters.
pub(crate) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Characters written as-is: newline, printable ASCII, and the Basic Multilingual Plane
/// from U+00A0 except surrogates, the byte-order mark and U+FFFE/U+FFFF. Characters outside
/// the BMP count as non-printable and force double quotes with `\U` escapes.
pub(crate) fn is_printable(c: char) -> bool {
    matches!(u32::from(c),
        0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFEFE | 0xFF00..=0xFFFD)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn style(value: &str) -> Style {
        select_style(value, requested_style(value), false)
    }

    #[test]
    fn plain_for_ordinary_text() {
        for value in [
            "noapic",
            "net.ifnames=0",
            "x,y",
            "a=b,c",
            "x]",
            "x:y",
            "-x",
            "?x",
            ":x",
            "café",
            "a#b",
        ] {
            assert_eq!(style(value), Style::Plain, "{value}");
        }
    }

    #[test]
    fn single_quotes_for_indicators_and_edge_spaces() {
        for value in [
            "{}", "-", "- x", ":", "a: b", "a:", "a #b", " lead", "trail ", "---x", "...", "'q'",
            "@x", "`x",
        ] {
            assert_eq!(style(value), Style::SingleQuoted, "{value}");
        }
    }

    #[test]
    fn double_quotes_for_values_that_read_back_typed() {
        for value in [
            "",
            "true",
            "null",
            "~",
            "123",
            "0x1f",
            "1.5",
            "1e3",
            "2001-12-14",
            "yes",
            "N",
            "12:30",
            "<<",
            ".inf",
        ] {
            assert_eq!(style(value), Style::DoubleQuoted, "{value}");
        }
    }

    #[test]
    fn double_quotes_for_tabs_and_control_characters() {
        for value in ["a\tb", "a\u{1}b", "\u{feff}x", "smile \u{1F600}", "a\rb"] {
            assert_eq!(style(value), Style::DoubleQuoted, "{value:?}");
        }
    }

    #[test]
    fn literal_for_multi_line_unless_space_before_break() {
        assert_eq!(style("a\nb\n"), Style::Literal);
        assert_eq!(style("a\tb\nc"), Style::Literal);
        assert_eq!(style(" indented\nx"), Style::Literal);
        assert_eq!(style("a: 1 \nb: 2\n"), Style::DoubleQuoted);
        assert_eq!(style("a\nb "), Style::DoubleQuoted);
        assert_eq!(style("\n"), Style::DoubleQuoted);
        assert_eq!(style("\n\n"), Style::DoubleQuoted);
        assert_eq!(style("\t\n"), Style::DoubleQuoted);
        assert_eq!(style("\nx"), Style::Literal);
        assert_eq!(
            select_style("a\nb", Style::Literal, true),
            Style::DoubleQuoted
        );
    }
}
