//! Splitting multi-document YAML into byte-exact chunks at `---` separator lines.

/// One document's text: the `---` line that opens it (empty for a first document without
/// one) and everything up to the next separator. Concatenating every chunk's separator and
/// body gives back the input exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Chunk {
    pub(super) separator: String,
    pub(super) body: String,
    /// 1-based line of the chunk's first line in the whole text.
    pub(super) line: usize,
}

impl Chunk {
    /// The chunk's text, as it appears in the file.
    pub(super) fn text(&self) -> String {
        format!("{}{}", self.separator, self.body)
    }
}

/// Splits `text` at separator lines: `---` alone, or followed by blanks or a comment.
/// Leading text before the first separator forms a chunk only when it is non-empty.
pub(super) fn split(text: &str) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current = Chunk {
        separator: String::new(),
        body: String::new(),
        line: 1,
    };
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if is_separator(line) {
            if !current.separator.is_empty() || !current.body.is_empty() {
                chunks.push(current);
            }
            current = Chunk {
                separator: line.to_owned(),
                body: String::new(),
                line: index + 1,
            };
        } else {
            current.body.push_str(line);
        }
    }
    if !current.separator.is_empty() || !current.body.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// True for a document start marker line: `---` then nothing, blanks or a comment.
pub(super) fn is_separator(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("---") else {
        return false;
    };
    let rest = rest.trim_end_matches(['\n', '\r']);
    rest.is_empty()
        || rest.starts_with([' ', '\t']) && {
            let trimmed = rest.trim_start();
            trimmed.is_empty() || trimmed.starts_with('#')
        }
}

/// The line ending a text uses: CRLF when its first line ends with one, LF otherwise.
pub(super) fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(end) if text[..end].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

/// `text` with every line ending converted to `eol`, ending with one.
pub(super) fn normalize_lines(text: &str, eol: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1);
    for line in text.lines() {
        out.push_str(line);
        out.push_str(eol);
    }
    out
}
