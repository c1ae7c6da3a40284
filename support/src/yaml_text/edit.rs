//! Text splices at positions a [`tree`](super::tree) reported: replace one scalar, insert
//! whole lines after a line, find where an indented block ends.

use std::ops::Range;

use yaml_rust2::scanner::TScalarStyle;

use super::tree::Scalar;

/// One text change: replace `range` of the text with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Byte range of the original text that is replaced.
    pub range: Range<usize>,
    /// The replacement.
    pub text: String,
}

impl Edit {
    /// Inserts `text` at byte offset `at`.
    pub fn insert(at: usize, text: impl Into<String>) -> Self {
        Self {
            range: at..at,
            text: text.into(),
        }
    }

    /// Replaces `range` with `text`.
    pub fn replace(range: Range<usize>, text: impl Into<String>) -> Self {
        Self {
            range,
            text: text.into(),
        }
    }

    /// `body` with this edit applied.
    pub fn apply(&self, body: &str) -> String {
        apply_all(body, std::slice::from_ref(self))
    }
}

/// `body` with every edit applied; edits must not overlap (they are applied from the end).
pub fn apply_all(body: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|edit| std::cmp::Reverse((edit.range.start, edit.range.end)));
    let mut edited = body.to_owned();
    for edit in sorted {
        edited.replace_range(edit.range.clone(), &edit.text);
    }
    edited
}

/// The line ending the text uses (`\r\n` when its first line ends so, else `\n`).
pub fn line_ending(body: &str) -> &'static str {
    match body.find('\n') {
        Some(at) if at > 0 && body.as_bytes().get(at - 1) == Some(&b'\r') => "\r\n",
        _ => "\n",
    }
}

/// Inserts `text` at the start of the line after 1-based `line` (at the end of the body
/// when `line` is the last one, first ending that line when it has no line ending).
pub fn insert_after_line(body: &str, line: usize, text: String, eol: &str) -> Edit {
    let mut offset = 0;
    for (index, line_text) in body.split_inclusive('\n').enumerate() {
        offset += line_text.len();
        if index + 1 == line {
            break;
        }
    }
    if offset == body.len() && !body.is_empty() && !body.ends_with('\n') {
        return Edit::insert(offset, format!("{eol}{text}"));
    }
    Edit::insert(offset, text)
}

/// Byte offset where 1-based `line` starts (the text's length past the last line).
pub fn line_start(body: &str, line: usize) -> usize {
    body.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}

/// The byte range of 1-based `line` of `body`, its line ending included (empty at the end
/// of the text past the last line).
pub fn line_range(body: &str, line: usize) -> Range<usize> {
    let start = line_start(body, line);
    let length = body
        .get(start..)
        .and_then(|rest| rest.split_inclusive('\n').next())
        .map_or(0, str::len);
    start..start + length
}

/// The last 1-based line of the block that starts on `line`: the following lines belong
/// to it while they are blank or indented deeper than `column`; with `items_at_column`,
/// lines at `column` that start a sequence item (`- `) belong too (an indentless sequence
/// under a key). Blank lines and comments at the end are left outside.
pub fn block_end_line(body: &str, line: usize, column: usize, items_at_column: bool) -> usize {
    let mut last = line;
    for (index, text) in body.lines().enumerate().skip(line) {
        let trimmed = text.trim_start_matches(' ');
        if trimmed.trim().is_empty() {
            continue;
        }
        let indent = text.len() - trimmed.len();
        let item = items_at_column && indent == column && is_item(trimmed);
        if indent <= column && !item {
            break;
        }
        if !trimmed.starts_with('#') {
            last = index + 1;
        }
    }
    last
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

/// Byte offset just after the `:` that follows a plain key.
pub fn after_colon(body: &str, key: &Scalar) -> Option<usize> {
    let key_end = key.start + key.value.len();
    let rest = body.get(key_end..)?;
    let spaces = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    rest[spaces..]
        .starts_with(':')
        .then_some(key_end + spaces + 1)
}

/// Byte offset just past a single-line scalar's source text (`None` for a scalar that
/// spans several lines or whose text is not where the tree says).
pub fn scalar_end(body: &str, scalar: &Scalar) -> Option<usize> {
    let rest = body.get(scalar.start..)?;
    let end = match scalar.style {
        TScalarStyle::Plain => rest
            .starts_with(scalar.value.as_str())
            .then_some(scalar.value.len()),
        TScalarStyle::SingleQuoted => closing_quote(rest, '\'', None),
        TScalarStyle::DoubleQuoted => closing_quote(rest, '"', Some('\\')),
        TScalarStyle::Literal | TScalarStyle::Folded => None,
    };
    end.map(|end| scalar.start + end)
}

/// `value` written in the same quoting style as `like` (plain, single or double quotes),
/// so that a replaced value keeps the file's quoting; `None` when that style cannot hold it.
pub fn in_style_of(like: &Scalar, value: &str) -> Option<String> {
    match like.style {
        TScalarStyle::Plain => Some(value.to_owned()),
        TScalarStyle::SingleQuoted => {
            (!value.contains(['\n', '\r'])).then(|| format!("'{}'", value.replace('\'', "''")))
        }
        TScalarStyle::DoubleQuoted => {
            (!value.contains(['\n', '\r', '\\', '"', '\t'])).then(|| format!("\"{value}\""))
        }
        TScalarStyle::Literal | TScalarStyle::Folded => None,
    }
}

/// Length of a quoted scalar on one line, including both quotes. In single quotes a
/// doubled quote is an escaped quote; in double quotes `escape` escapes the next char.
fn closing_quote(text: &str, quote: char, escape: Option<char>) -> Option<usize> {
    let mut chars = text.char_indices().skip(1).peekable();
    while let Some((offset, c)) = chars.next() {
        match c {
            '\n' | '\r' => return None,
            c if Some(c) == escape => {
                chars.next();
            }
            c if c == quote => {
                if escape.is_none() && chars.peek().is_some_and(|(_, next)| *next == quote) {
                    chars.next();
                } else {
                    return Some(offset + c.len_utf8());
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn block_end_skips_trailing_comments_and_stops_at_the_parent_indent() {
        let text = "a:\n  - x\n  - |\n    y\n  # about b\nb: 1\n";
        assert_eq!(block_end_line(text, 1, 0, false), 4);
        let indentless = "a:\n- x\n- y\n# c\nb: 1\n";
        assert_eq!(block_end_line(indentless, 1, 0, true), 3);
        assert_eq!(block_end_line(indentless, 1, 0, false), 1);
    }

    #[test]
    fn line_starts_are_byte_offsets() {
        let text = "a\nbb\nc";
        assert_eq!(line_start(text, 1), 0);
        assert_eq!(line_start(text, 3), 5);
        assert_eq!(line_start(text, 4), text.len());
    }

    #[test]
    fn edits_apply_from_the_end_and_keep_the_rest() {
        let text = "a: 1\nb: 2\n";
        let edits = [
            Edit::replace(3..4, "10"),
            Edit::insert(text.len(), "c: 3\n"),
        ];
        assert_eq!(apply_all(text, &edits), "a: 10\nb: 2\nc: 3\n");
    }

    #[test]
    fn replaced_values_keep_their_quoting() {
        let text = "a: 'x'\nb: \"y\"\n";
        let root = super::super::tree::parse(text).unwrap().unwrap();
        let a = root.entry("a").unwrap().1.as_scalar().unwrap();
        let b = root.entry("b").unwrap().1.as_scalar().unwrap();
        assert_eq!(scalar_end(text, a), Some(6));
        assert_eq!(in_style_of(a, "it's"), Some("'it''s'".to_owned()));
        assert_eq!(in_style_of(b, "v1"), Some("\"v1\"".to_owned()));
    }
}
