//! The block-style emitter: 4-space indentation, non-compact sequences, unlimited width,
//! reproducing the factory YAML library's column and line-break bookkeeping.

use super::scalar::{Style, is_break, is_printable, requested_style, select_style};
use super::tree::Doc;

/// Indentation step of the canonical text.
const INDENT: usize = 4;

/// Writes a document whose root is a mapping.
pub(crate) fn write_document(root: &Doc) -> String {
    let mut writer = Writer {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
    };
    writer.node(root, None, Parent::Root);
    writer.finish();
    writer.out
}

/// Where a node sits; decides its indentation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    Root,
    MappingValue,
    SequenceItem,
}

struct Writer {
    out: String,
    column: usize,
    /// The last thing written was whitespace (or an indentation).
    whitespace: bool,
    /// Only indentation has been written on the current line.
    indention: bool,
}

impl Writer {
    /// Indentation of a node's content: 0 at the root, the parent's plus 2 inside a
    /// sequence item (skipping `- `), otherwise the next multiple of 4.
    fn child_indent(parent_indent: Option<usize>, parent: Parent) -> usize {
        match (parent_indent, parent) {
            (None, _) | (_, Parent::Root) => 0,
            (Some(indent), Parent::SequenceItem) => indent + 2,
            (Some(indent), Parent::MappingValue) => INDENT * ((indent + INDENT) / INDENT),
        }
    }

    fn node(&mut self, doc: &Doc, parent_indent: Option<usize>, parent: Parent) {
        let indent = Self::child_indent(parent_indent, parent);
        match doc {
            Doc::Map(entries) if entries.is_empty() => self.empty_flow("{}"),
            Doc::Seq(items) if items.is_empty() => self.empty_flow("[]"),
            Doc::Map(entries) => self.block_mapping(entries, indent),
            Doc::Seq(items) => self.block_sequence(items, indent),
            Doc::Typed(text) => self.plain(text),
            Doc::Text(text) => {
                let style = select_style(text, requested_style(text), false);
                self.scalar(text, style, indent);
            }
        }
    }

    fn block_mapping(&mut self, entries: &[(String, Doc)], indent: usize) {
        for (key, value) in entries {
            self.write_indent(indent);
            let style = select_style(key, requested_style(key), true);
            self.scalar(key, style, indent);
            self.indicator(":", false, false, false);
            self.node(value, Some(indent), Parent::MappingValue);
        }
    }

    fn block_sequence(&mut self, items: &[Doc], indent: usize) {
        for item in items {
            self.write_indent(indent);
            self.indicator("-", true, false, true);
            self.node(item, Some(indent), Parent::SequenceItem);
        }
    }

    /// `{}` or `[]` after the key or dash.
    fn empty_flow(&mut self, text: &str) {
        let (open, close) = text.split_at(1);
        self.indicator(open, true, true, false);
        self.indicator(close, false, false, false);
    }

    fn scalar(&mut self, text: &str, style: Style, indent: usize) {
        match style {
            Style::Plain => self.plain(text),
            Style::SingleQuoted => self.single_quoted(text, indent),
            Style::DoubleQuoted => self.double_quoted(text),
            Style::Literal => self.literal(text, indent),
        }
    }

    fn plain(&mut self, text: &str) {
        if !text.is_empty() && !self.whitespace {
            self.put(' ');
        }
        self.out.push_str(text);
        self.column += text.chars().count();
        if !text.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
    }

    /// `'text'` with `'` doubled; line breaks other than `\n` continue at `indent`.
    fn single_quoted(&mut self, text: &str, indent: usize) {
        self.indicator("'", true, false, false);
        let mut after_break = false;
        for c in text.chars() {
            if is_break(c) {
                self.write_break(c);
                after_break = true;
                continue;
            }
            if after_break {
                self.write_indent(indent);
                after_break = false;
            }
            if c == '\'' {
                self.put('\'');
            }
            self.put(c);
            self.indention = false;
        }
        self.indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// `"text"` with escapes for non-printable characters, breaks, `"` and `\`. When the
    /// text starts with U+FEFF every character is escaped, as the factory's emitter does: its
    /// byte-order-mark test looks at the start of the value, not at the current character.
    fn double_quoted(&mut self, text: &str) {
        self.indicator("\"", true, false, false);
        let escape_all = text.starts_with('\u{feff}');
        for c in text.chars() {
            if escape_all
                || !is_printable(c)
                || c == '\u{feff}'
                || is_break(c)
                || c == '"'
                || c == '\\'
            {
                for escaped in escape(c).chars() {
                    self.put(escaped);
                }
            } else {
                self.put(c);
            }
        }
        self.indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    /// `|` block: indentation hint `4` when the text starts with a space or break, `-` when
    /// it has no trailing break, `+` when it has two or more; content one level deeper.
    fn literal(&mut self, text: &str, indent: usize) {
        self.indicator("|", true, false, false);
        let first = text.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            self.indicator(&INDENT.to_string(), false, false, false);
        }
        if let Some(chomp) = chomping_indicator(text) {
            self.indicator(chomp, false, false, false);
        }
        self.put_break();
        self.whitespace = true;
        let mut after_break = true;
        for c in text.chars() {
            if is_break(c) {
                self.write_break(c);
                after_break = true;
            } else {
                if after_break {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                after_break = false;
            }
        }
    }

    /// Starts a new line unless the cursor already sits at fresh indentation, then pads
    /// to `indent`.
    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
    }

    fn indicator(
        &mut self,
        text: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in text.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    /// Copies a line break from the text (`\n` is normalised through `put_break`).
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
            self.indention = true;
        }
    }

    /// Ends the document with a line break unless the cursor is at a fresh line.
    fn finish(&mut self) {
        self.write_indent(0);
    }
}

/// `-` (strip) for no trailing break, none (clip) for exactly one, `+` (keep) for more.
fn chomping_indicator(text: &str) -> Option<&'static str> {
    let mut tail = text.chars().rev();
    match (tail.next(), tail.next()) {
        (None, _) => Some("-"),
        (Some(last), _) if !is_break(last) => Some("-"),
        (Some(_), None) => Some("+"),
        (Some(_), Some(before)) if is_break(before) => Some("+"),
        _ => None,
    }
}

/// The double-quoted escape for one character.
fn escape(c: char) -> String {
    let short = match c {
        '\0' => "\\0",
        '\u{7}' => "\\a",
        '\u{8}' => "\\b",
        '\t' => "\\t",
        '\n' => "\\n",
        '\u{b}' => "\\v",
        '\u{c}' => "\\f",
        '\r' => "\\r",
        '\u{1b}' => "\\e",
        '"' => "\\\"",
        '\\' => "\\\\",
        '\u{85}' => "\\N",
        '\u{a0}' => "\\_",
        '\u{2028}' => "\\L",
        '\u{2029}' => "\\P",
        _ => "",
    };
    if !short.is_empty() {
        return short.to_owned();
    }
    let code = u32::from(c);
    if code <= 0xFF {
        format!("\\x{code:02X}")
    } else if code <= 0xFFFF {
        format!("\\u{code:04X}")
    } else {
        format!("\\U{code:08X}")
    }
}
