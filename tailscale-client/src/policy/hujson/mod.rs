//! HuJSON (JSON with comments and trailing commas): reading, and adding entries to the
//! text without disturbing anything else in it.
//!
//! The parser keeps the byte span of every value, so an edit is a pair of text
//! insertions: all comments, blank lines, key order, indentation and the formatting of
//! every untouched value stay byte-for-byte as the user wrote them.

use serde_json::Value;

/// Deepest nesting of objects and arrays accepted: the SDK's one bound. Policy files are a
/// few levels deep; the limit keeps hostile or corrupt input from exhausting the stack.
/// serde_json, which produces the value, accepts one level less (127).
use sdk_support::limits::MAX_NESTING as MAX_DEPTH;

/// The policy file text is not valid HuJSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "policy file is not valid hujson at line {line}, column {column}: {reason}; fix the file (comments and trailing commas are allowed, other json5 syntax is not)"
)]
pub struct HujsonError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What was expected.
    pub reason: String,
}

impl HujsonError {
    /// The error `reason` at byte `pos` of `text`.
    fn at(text: &str, pos: usize, reason: String) -> Self {
        let before = &text[..pos.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before[line_start(before, before.len())..].chars().count() + 1;
        HujsonError {
            line,
            column,
            reason,
        }
    }
}

/// A parsed value with its location in the text.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    start: usize,
    end: usize,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Scalar,
    Object { close: usize, members: Vec<Member> },
    Array { close: usize, items: Vec<Item> },
}

#[derive(Debug, Clone)]
struct Member {
    key: String,
    item: Item,
}

/// An element of an object or array, and the comma after it, if any.
#[derive(Debug, Clone)]
struct Item {
    key_start: usize,
    value: Node,
    comma: Option<usize>,
}

/// A HuJSON text and its syntax tree.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    text: String,
    root: Node,
}

impl Document {
    /// Parses `text`.
    pub(crate) fn parse(text: &str) -> Result<Self, HujsonError> {
        let mut parser = Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
        };
        parser.skip_trivia()?;
        let root = parser.value()?;
        parser.skip_trivia()?;
        if parser.pos != parser.bytes.len() {
            return Err(parser.error("unexpected text after the top-level value"));
        }
        Ok(Document {
            text: text.to_owned(),
            root,
        })
    }

    /// The text, unchanged.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The document's value, built from the tree (whose nesting the parser bounded), so
    /// every document the parser accepts has one.
    pub(crate) fn value(&self) -> Result<Value, HujsonError> {
        self.node_value(&self.root)
    }

    fn node_value(&self, node: &Node) -> Result<Value, HujsonError> {
        match &node.kind {
            Kind::Scalar => serde_json::from_str(&self.text[node.start..node.end])
                .map_err(|e| HujsonError::at(&self.text, node.start, e.to_string())),
            Kind::Object { members, .. } => members
                .iter()
                .map(|member| Ok((member.key.clone(), self.node_value(&member.item.value)?)))
                .collect::<Result<serde_json::Map<_, _>, _>>()
                .map(Value::Object),
            Kind::Array { items, .. } => items
                .iter()
                .map(|item| self.node_value(&item.value))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
        }
    }

    /// Adds `key: value` to the object at `path`, creating missing objects on the way.
    /// The caller makes sure `key` is not already present.
    pub(crate) fn insert_member(
        &self,
        path: &[&str],
        key: &str,
        value: &Value,
    ) -> Result<String, EditError> {
        let (node, depth) = self.deepest_object(path)?;
        let mut nested = value.clone();
        let mut nested_key = key;
        if depth < path.len() {
            for seg in path[depth + 1..].iter().rev() {
                nested = Value::Object([(nested_key.to_owned(), nested)].into_iter().collect());
                nested_key = seg;
            }
            nested = Value::Object([(nested_key.to_owned(), nested)].into_iter().collect());
            nested_key = path[depth];
        }
        let rendered = format!("{}: {}", Value::String(nested_key.to_owned()), nested);
        Ok(self.append_item(node, &rendered))
    }

    /// Appends `value` to the array at `path`; creates the array (and missing objects on
    /// the way) if it does not exist.
    pub(crate) fn append_element(&self, path: &[&str], value: &Value) -> Result<String, EditError> {
        match self.lookup(path) {
            Some(
                node @ Node {
                    kind: Kind::Array { .. },
                    ..
                },
            ) => Ok(self.append_item(node, &value.to_string())),
            Some(_) => Err(EditError::NotAnArray(path.join("."))),
            None => {
                let (last, parent) = path
                    .split_last()
                    .ok_or_else(|| EditError::NotAnArray(String::new()))?;
                self.insert_member(parent, last, &Value::Array(vec![value.clone()]))
            }
        }
    }

    fn lookup(&self, path: &[&str]) -> Option<&Node> {
        let mut node = &self.root;
        for seg in path {
            node = match &node.kind {
                Kind::Object { members, .. } => {
                    &members.iter().rev().find(|m| m.key == *seg)?.item.value
                }
                _ => return None,
            };
        }
        Some(node)
    }

    /// The deepest existing object along `path` and how many segments it consumed.
    fn deepest_object(&self, path: &[&str]) -> Result<(&Node, usize), EditError> {
        let mut node = &self.root;
        for (depth, seg) in path.iter().enumerate() {
            let Kind::Object { members, .. } = &node.kind else {
                return Err(EditError::NotAnObject(path[..depth].join(".")));
            };
            match members.iter().rev().find(|m| m.key == *seg) {
                Some(m) => node = &m.item.value,
                None => return Ok((node, depth)),
            }
        }
        match node.kind {
            Kind::Object { .. } => Ok((node, path.len())),
            _ => Err(EditError::NotAnObject(path.join("."))),
        }
    }

    /// Inserts `rendered` as the last element of the container `node`.
    fn append_item(&self, node: &Node, rendered: &str) -> String {
        let (close, last_item, first_start) = match &node.kind {
            Kind::Object { close, members } => (
                *close,
                members.last().map(|m| &m.item),
                members.first().map(|m| m.item.key_start),
            ),
            Kind::Array { close, items } => {
                (*close, items.last(), items.first().map(|i| i.key_start))
            }
            Kind::Scalar => return self.text.clone(),
        };
        let text = &self.text;
        let multiline = text[node.start..close].contains('\n');
        let mut edits: Vec<(usize, String)> = Vec::new();
        match last_item {
            None => {
                let indent = line_indent(text, node.start);
                let child = format!("{indent}{}", indent_unit(text));
                edits.push((close, format!("\n{child}{rendered}\n{indent}")));
                // An empty container may hold only whitespace: drop it for tidiness.
                let inner = &text[node.start + 1..close];
                if inner.trim().is_empty() {
                    return format!(
                        "{}\n{child}{rendered}\n{indent}{}",
                        &text[..node.start + 1],
                        &text[close..]
                    );
                }
            }
            Some(last) if !multiline => match last.comma {
                Some(comma) => edits.push((comma + 1, format!(" {rendered},"))),
                None => edits.push((last.value.end, format!(", {rendered}"))),
            },
            Some(last) => {
                let trailing = last.comma.is_some();
                let child = first_start
                    .map(|s| line_indent(text, s))
                    .unwrap_or_default();
                let entry = format!("{child}{rendered}{}", if trailing { "," } else { "" });
                let close_line = line_start(text, close);
                if text[close_line..close].trim().is_empty() && close_line > last.value.end {
                    edits.push((close_line, format!("{entry}\n")));
                } else {
                    let indent = line_indent(text, close);
                    edits.push((close, format!("\n{entry}\n{indent}")));
                }
                if !trailing {
                    edits.push((last.value.end, ",".to_owned()));
                }
            }
        }
        edits.sort_by_key(|edit| std::cmp::Reverse(edit.0));
        let mut out = text.clone();
        for (at, insert) in edits {
            out.insert_str(at, &insert);
        }
        out
    }
}

/// An edit could not be made because the file has an unexpected shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EditError {
    NotAnObject(String),
    NotAnArray(String),
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditError::NotAnObject(path) => write!(f, "`{path}` is not an object"),
            EditError::NotAnArray(path) => write!(f, "`{path}` is not an array"),
        }
    }
}

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// The whitespace that starts the line containing `pos`.
fn line_indent(text: &str, pos: usize) -> String {
    let start = line_start(text, pos);
    text[start..]
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .collect()
}

/// One level of indentation as the file uses it: a tab, or the smallest space indent.
fn indent_unit(text: &str) -> String {
    let mut smallest: Option<usize> = None;
    for line in text.lines() {
        if line.starts_with('\t') {
            return "\t".to_owned();
        }
        let spaces = line.chars().take_while(|c| *c == ' ').count();
        if spaces > 0 && line.len() > spaces {
            smallest = Some(smallest.map_or(spaces, |s| s.min(spaces)));
        }
    }
    " ".repeat(smallest.unwrap_or(2))
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Containers open around `pos`.
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &str) -> HujsonError {
        HujsonError::at(self.text, self.pos, reason.to_owned())
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skips whitespace and comments, remembering where the comments are.
    fn skip_trivia(&mut self) -> Result<(), HujsonError> {
        loop {
            match (self.peek(), self.bytes.get(self.pos + 1)) {
                (Some(b' ' | b'\t' | b'\n' | b'\r'), _) => self.pos += 1,
                (Some(b'/'), Some(b'/')) => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.pos += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let start = self.pos;
                    let close = self.text[start + 2..]
                        .find("*/")
                        .ok_or_else(|| self.error("unterminated /* comment"))?;
                    self.pos = start + 2 + close + 2;
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self) -> Result<Node, HujsonError> {
        let start = self.pos;
        match self.peek() {
            Some(b'{') => self.container(start, true),
            Some(b'[') => self.container(start, false),
            Some(b'"') => {
                self.string()?;
                Ok(Node {
                    start,
                    end: self.pos,
                    kind: Kind::Scalar,
                })
            }
            Some(b) if b == b'-' || b.is_ascii_alphanumeric() => {
                while self
                    .peek()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.'))
                {
                    self.pos += 1;
                }
                let literal = &self.text[start..self.pos];
                if serde_json::from_str::<Value>(literal).is_err() {
                    self.pos = start;
                    return Err(self.error(&format!("`{literal}` is not a json value")));
                }
                Ok(Node {
                    start,
                    end: self.pos,
                    kind: Kind::Scalar,
                })
            }
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of file, expected a value")),
        }
    }

    /// Consumes a string literal and returns its decoded content.
    fn string(&mut self) -> Result<String, HujsonError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek() {
                None | Some(b'\n') => {
                    self.pos = start;
                    return Err(self.error("unterminated string"));
                }
                Some(b'\\') => self.pos += 2,
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        let raw = &self.text[start..self.pos.min(self.text.len())];
        serde_json::from_str(raw).map_err(|e| {
            self.pos = start;
            self.error(&format!("invalid string: {e}"))
        })
    }

    fn container(&mut self, start: usize, object: bool) -> Result<Node, HujsonError> {
        let close_byte = if object { b'}' } else { b']' };
        if self.depth >= MAX_DEPTH {
            return Err(self.error(&format!("nested more than {MAX_DEPTH} levels deep")));
        }
        self.depth += 1;
        self.pos += 1;
        let mut members = Vec::new();
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            if self.peek() == Some(close_byte) {
                break;
            }
            let key_start = self.pos;
            let key = if object {
                if self.peek() != Some(b'"') {
                    return Err(self.error("expected a quoted key or `}`"));
                }
                let key = self.string()?;
                self.skip_trivia()?;
                if self.peek() != Some(b':') {
                    return Err(self.error("expected `:` after the key"));
                }
                self.pos += 1;
                self.skip_trivia()?;
                Some(key)
            } else {
                None
            };
            let value = self.value()?;
            self.skip_trivia()?;
            let comma = match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    Some(self.pos - 1)
                }
                Some(b) if b == close_byte => None,
                _ => {
                    return Err(self.error(if object {
                        "expected `,` or `}`"
                    } else {
                        "expected `,` or `]`"
                    }));
                }
            };
            let item = Item {
                key_start,
                value,
                comma,
            };
            match key {
                Some(key) => members.push(Member { key, item }),
                None => items.push(item),
            }
        }
        let close = self.pos;
        self.pos += 1;
        self.depth -= 1;
        let kind = if object {
            Kind::Object { close, members }
        } else {
            Kind::Array { close, items }
        };
        Ok(Node {
            start,
            end: self.pos,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn comments_and_trailing_commas_are_read() {
        let doc = Document::parse(
            "// top\n{\n  /* owners */ \"tagOwners\": {\"tag:a\": [\"autogroup:admin\",],},\n  \"acls\": [], // end\n}\n",
        )
        .unwrap();
        assert_eq!(
            doc.value().unwrap(),
            json!({"tagOwners": {"tag:a": ["autogroup:admin"]}, "acls": []})
        );
    }

    #[test]
    fn comment_markers_inside_strings_are_text() {
        let doc = Document::parse(r#"{"a": "http://x/*y*/", "b": "\"//"}"#).unwrap();
        assert_eq!(
            doc.value().unwrap(),
            json!({"a": "http://x/*y*/", "b": "\"//"})
        );
    }

    #[test]
    fn escaped_quotes_and_comment_markers_in_strings_survive_an_edit() {
        let text = "{\n  \"a\": \"say \\\"hi\\\" // not a comment }\", // a real one\n  \"b\": [\"/* no */\", \"x\\\\\",], /* c */\n}\n";
        let doc = Document::parse(text).unwrap();
        let before = json!({"a": "say \"hi\" // not a comment }", "b": ["/* no */", "x\\"]});
        assert_eq!(doc.value().unwrap(), before);
        let out = doc.append_element(&["b"], &json!("y")).unwrap();
        let out = Document::parse(&out)
            .unwrap()
            .insert_member(&[], "c", &json!(1))
            .unwrap();
        let mut after = before;
        after["b"].as_array_mut().unwrap().push(json!("y"));
        after["c"] = json!(1);
        assert_eq!(Document::parse(&out).unwrap().value().unwrap(), after);
        assert!(
            out.contains("// a real one") && out.contains("/* c */"),
            "{out}"
        );
    }

    #[test]
    fn trailing_commas_are_accepted_in_every_container_but_a_lone_comma_is_not() {
        let doc = Document::parse("{\"a\": [1, [2,], {\"b\": 3,},],}").unwrap();
        assert_eq!(doc.value().unwrap(), json!({"a": [1, [2], {"b": 3}]}));
        for bad in ["[,]", "{,}", "[1,,]", "{\"a\": 1,,}"] {
            assert!(Document::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = "[".repeat(200_000);
        let err = Document::parse(&text).unwrap_err();
        assert!(err.reason.contains("nested more than"), "{err}");
        let within = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Document::parse(&within).unwrap().value().is_ok());
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let err = Document::parse("{\n  \"a\": 1\n  \"b\": 2\n}").unwrap_err();
        assert_eq!((err.line, err.column), (3, 3));
    }

    #[test]
    fn unterminated_comment_is_an_error() {
        assert!(Document::parse("{ /* }").is_err());
    }

    #[test]
    fn insert_keeps_comments_and_follows_trailing_comma_style() {
        let text = "{\n\t// who owns tags\n\t\"tagOwners\": {\n\t\t\"tag:a\": [\"autogroup:admin\"], // a\n\t},\n}\n";
        let doc = Document::parse(text).unwrap();
        let out = doc
            .insert_member(&["tagOwners"], "tag:b", &json!(["tag:a"]))
            .unwrap();
        assert_eq!(
            out,
            "{\n\t// who owns tags\n\t\"tagOwners\": {\n\t\t\"tag:a\": [\"autogroup:admin\"], // a\n\t\t\"tag:b\": [\"tag:a\"],\n\t},\n}\n"
        );
    }

    #[test]
    fn insert_adds_a_comma_when_the_style_has_none() {
        let text = "{\n  \"a\": 1 // one\n}";
        let out = Document::parse(text)
            .unwrap()
            .insert_member(&[], "b", &json!(2))
            .unwrap();
        assert_eq!(out, "{\n  \"a\": 1, // one\n  \"b\": 2\n}");
    }

    #[test]
    fn insert_creates_missing_parents() {
        let text = "{\n  \"acls\": []\n}";
        let out = Document::parse(text)
            .unwrap()
            .insert_member(
                &["autoApprovers", "routes"],
                "10.96.0.0/12",
                &json!(["tag:t"]),
            )
            .unwrap();
        let value = Document::parse(&out).unwrap().value().unwrap();
        assert_eq!(
            value["autoApprovers"]["routes"]["10.96.0.0/12"],
            json!(["tag:t"])
        );
        assert!(
            out.starts_with("{\n  \"acls\": [],\n  \"autoApprovers\""),
            "{out}"
        );
    }

    #[test]
    fn append_to_single_line_and_empty_arrays() {
        let doc = Document::parse("{\"x\": [1, 2], \"y\": []}").unwrap();
        let out = doc.append_element(&["x"], &json!(3)).unwrap();
        assert_eq!(out, "{\"x\": [1, 2, 3], \"y\": []}");
        let out = Document::parse(&out)
            .unwrap()
            .append_element(&["y"], &json!("z"))
            .unwrap();
        assert_eq!(
            Document::parse(&out).unwrap().value().unwrap(),
            json!({"x": [1, 2, 3], "y": ["z"]})
        );
    }

    #[test]
    fn appending_to_a_non_array_is_refused() {
        let doc = Document::parse("{\"acls\": {}}").unwrap();
        assert!(doc.append_element(&["acls"], &json!(1)).is_err());
    }
}

#[cfg(test)]
mod props;
