//! Text edits inside one document: what to replace, and where lines and scalars end.

use yaml_rust2::scanner::TScalarStyle;

use super::yaml_tree::Scalar;

/// One text change: replace `range` of the body with `text`.
pub(super) struct Edit {
    pub(super) range: std::ops::Range<usize>,
    pub(super) text: String,
}

impl Edit {
    pub(super) fn insert(at: usize, text: String) -> Self {
        Self {
            range: at..at,
            text,
        }
    }

    pub(super) fn apply(&self, body: &str) -> String {
        let mut edited = String::with_capacity(body.len() + self.text.len());
        edited.push_str(&body[..self.range.start]);
        edited.push_str(&self.text);
        edited.push_str(&body[self.range.end..]);
        edited
    }
}

/// Inserts `text` at the start of the line after 1-based `line` (at the end of the body
/// when `line` is the last one, first ending that line when it has no line ending).
pub(super) fn insert_after_line(body: &str, line: usize, text: String, eol: &str) -> Edit {
    let mut offset = 0;
    for (index, line_text) in body.split_inclusive('\n').enumerate() {
        offset += line_text.len();
        if index + 1 == line {
            break;
        }
    }
    if offset == body.len() && !body.ends_with('\n') {
        return Edit::insert(offset, format!("{eol}{text}"));
    }
    Edit::insert(offset, text)
}

/// The byte range of 1-based `line` of `body`, its line ending included.
pub(super) fn line_range(body: &str, line: usize) -> std::ops::Range<usize> {
    let mut offset = 0;
    for (index, line_text) in body.split_inclusive('\n').enumerate() {
        if index + 1 == line {
            return offset..offset + line_text.len();
        }
        offset += line_text.len();
    }
    body.len()..body.len()
}

/// Byte offset just past a single-line scalar's source text; `None` when it spans lines.
pub(super) fn scalar_end(body: &str, scalar: &Scalar) -> Option<usize> {
    let rest = body.get(scalar.start..).unwrap_or_default();
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
