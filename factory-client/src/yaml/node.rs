//! A YAML node tree read from the first document of a text, with source lines kept for
//! error messages. Anchors and aliases are expanded; later documents are never read.

use std::collections::HashMap;

use sdk_support::limits::MAX_NESTING;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::schematic::SchematicError;

/// Upper bound on nodes after alias expansion, so an alias bomb fails instead of exhausting
/// memory.
const MAX_NODES: usize = 100_000;

/// A parsed YAML node.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    /// 1-based source line of the node.
    pub(crate) line: usize,
}

/// The shape of a node.
#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    /// A scalar with its text and whether it was written plain (unquoted, untagged).
    Scalar { text: String, plain: bool },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar text when this node is a scalar written plain, for type resolution.
    pub(crate) fn plain_text(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, plain: true } => Some(text),
            _ => None,
        }
    }

    /// Whether this node is a plain null (`~`, `null`, empty).
    pub(crate) fn is_null(&self) -> bool {
        self.plain_text().is_some_and(|text| {
            crate::yaml::resolve::resolve_plain(text) == crate::yaml::resolve::Resolved::Null
        })
    }

    /// A short description of the node's shape for error messages.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            NodeKind::Scalar { text, .. } => match text.char_indices().nth(DESCRIBED_CHARS) {
                Some((cut, _)) => format!("`{}…` ({} bytes)", &text[..cut], text.len()),
                None => format!("`{text}`"),
            },
            NodeKind::Seq(_) => "a list".to_owned(),
            NodeKind::Map(_) => "a mapping".to_owned(),
        }
    }
}

/// Longest part of a scalar quoted in an error message: enough to find it, short enough
/// that a misplaced document does not flood the message.
const DESCRIBED_CHARS: usize = 40;

/// Reads the first YAML document of `text`.
///
/// Returns `Ok(None)` when the text holds no document at all (empty, or only comments).
/// A leading byte-order mark is skipped, as the factory's reader does.
pub(crate) fn parse_first_document(text: &str) -> Result<Option<Node>, SchematicError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        nodes: 0,
        depth: 0,
        expanded_alias: false,
    };
    loop {
        let (event, mark) = reader.next()?;
        match event {
            Event::StreamStart | Event::Nothing => {}
            Event::StreamEnd => return Ok(None),
            Event::DocumentStart => {
                let (event, mark) = reader.next()?;
                return reader.node(event, mark).map(Some);
            }
            _ => return Err(syntax_error(mark, "unexpected content before the document")),
        }
    }
}

struct Reader<'a> {
    parser: Parser<std::str::Chars<'a>>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    depth: usize,
    /// Whether an alias was expanded, so the size error blames aliases only when it should.
    expanded_alias: bool,
}

impl Reader<'_> {
    fn next(&mut self) -> Result<(Event, Marker), SchematicError> {
        self.parser
            .next_token()
            .map_err(|err| syntax_error(*err.marker(), err.info()))
    }

    fn node(&mut self, event: Event, mark: Marker) -> Result<Node, SchematicError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            let message = if self.expanded_alias {
                format!(
                    "document is too large after expanding aliases (more than {MAX_NODES} nodes); a schematic needs no aliases"
                )
            } else {
                format!(
                    "document is too large (more than {MAX_NODES} nodes); a schematic is a few lines"
                )
            };
            return Err(syntax_error(mark, &message));
        }
        let line = mark.line();
        let opens_collection = matches!(event, Event::SequenceStart(..) | Event::MappingStart(..));
        if opens_collection {
            self.depth += 1;
            // Hostile input must not exhaust the stack.
            if self.depth > MAX_NESTING {
                return Err(syntax_error(mark, "collections are nested too deeply"));
            }
        }
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let plain = scalar_is_plain(style, tag.as_ref(), mark)?;
                (
                    Node {
                        kind: NodeKind::Scalar { text, plain },
                        line,
                    },
                    anchor,
                )
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "seq", mark)?;
                (
                    Node {
                        kind: NodeKind::Seq(self.items()?),
                        line,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "map", mark)?;
                (
                    Node {
                        kind: NodeKind::Map(self.entries()?),
                        line,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let target = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| syntax_error(mark, "alias to an unknown anchor"))?;
                self.nodes += count_nodes(&target);
                self.expanded_alias = true;
                return Ok(Node { line, ..target });
            }
            _ => return Err(syntax_error(mark, "expected a value")),
        };
        if opens_collection {
            self.depth -= 1;
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn items(&mut self) -> Result<Vec<Node>, SchematicError> {
        let mut items = Vec::new();
        loop {
            let (event, mark) = self.next()?;
            if matches!(event, Event::SequenceEnd) {
                return Ok(items);
            }
            items.push(self.node(event, mark)?);
        }
    }

    fn entries(&mut self) -> Result<Vec<(Node, Node)>, SchematicError> {
        let mut entries = Vec::new();
        loop {
            let (event, mark) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                return Ok(entries);
            }
            let key = self.node(event, mark)?;
            let (event, mark) = self.next()?;
            let value = self.node(event, mark)?;
            entries.push((key, value));
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.kind {
        NodeKind::Scalar { .. } => 0,
        NodeKind::Seq(items) => items.iter().map(count_nodes).sum(),
        NodeKind::Map(entries) => entries
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
    }
}

const CORE_PREFIX: &str = "tag:yaml.org,2002:";

/// Plain means "resolve by content": unquoted, not a block scalar, and not tagged `!!str`
/// or `!`. Other scalar tags are refused: they re-type values in ways this crate does not
/// reproduce.
fn scalar_is_plain(
    style: TScalarStyle,
    tag: Option<&Tag>,
    mark: Marker,
) -> Result<bool, SchematicError> {
    match tag {
        None => Ok(style == TScalarStyle::Plain),
        Some(tag) if tag.handle == "!" && tag.suffix.is_empty() => Ok(false),
        Some(tag) if tag.handle == CORE_PREFIX && tag.suffix == "str" => Ok(false),
        Some(tag) => Err(unsupported_tag(
            mark,
            &format!("{}{}", tag.handle, tag.suffix),
        )),
    }
}

fn check_collection_tag(
    tag: Option<&Tag>,
    expected: &str,
    mark: Marker,
) -> Result<(), SchematicError> {
    match tag {
        None => Ok(()),
        Some(tag) if tag.handle == CORE_PREFIX && tag.suffix == expected => Ok(()),
        Some(tag) => Err(unsupported_tag(
            mark,
            &format!("{}{}", tag.handle, tag.suffix),
        )),
    }
}

fn unsupported_tag(mark: Marker, tag: &str) -> SchematicError {
    SchematicError::at_line(
        mark.line(),
        format!("unsupported tag `{tag}`; remove the tag"),
    )
}

fn syntax_error(mark: Marker, info: &str) -> SchematicError {
    SchematicError::at_line(
        mark.line(),
        format!("yaml syntax error at column {}: {info}", mark.col() + 1),
    )
}
