//! A YAML document as a tree of nodes that remember where they start in the source text.

use crate::limits::MAX_NESTING;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

/// A scalar and its position in the source.
#[derive(Debug, Clone)]
pub struct Scalar {
    /// The scalar's value, after unquoting.
    pub value: String,
    /// How it is written (plain, quoted, block).
    pub style: TScalarStyle,
    /// Byte offset of the scalar's first character (its quote, when quoted).
    pub start: usize,
    /// 1-based line of the first character.
    pub line: usize,
    /// 0-based column (in characters) of the first character.
    pub column: usize,
}

impl Scalar {
    /// True for a value written as nothing at all (`key:` followed by a line end).
    pub fn is_absent(&self) -> bool {
        self.value.is_empty() && matches!(self.style, TScalarStyle::Plain)
    }
}

/// A node of the tree; only what editing needs is kept.
#[derive(Debug, Clone)]
pub enum Node {
    /// A scalar value.
    Scalar(Scalar),
    /// A mapping; `flow` is true for `{...}` style.
    Mapping {
        /// True for `{...}` style.
        flow: bool,
        /// Keys (`None` for a key that is not a scalar) and values, in source order.
        entries: Vec<(Option<Scalar>, Node)>,
    },
    /// A sequence; `flow` is true for `[...]` style; `start`, `line` and `column` locate its
    /// start (its first `-` or `[`).
    Sequence {
        /// True for `[...]` style.
        flow: bool,
        /// The items, in source order.
        items: Vec<Node>,
        /// Byte offset of the sequence's start.
        start: usize,
        /// 1-based line of the sequence's start.
        line: usize,
        /// 0-based column of the sequence's start.
        column: usize,
    },
    /// An alias (never edited).
    Other,
}

impl Node {
    /// The entry of a mapping whose key is the plain string `key`.
    pub fn entry(&self, key: &str) -> Option<(&Scalar, &Node)> {
        let Node::Mapping { entries, .. } = self else {
            return None;
        };
        entries
            .iter()
            .find_map(|(entry_key, value)| match entry_key {
                Some(entry_key) if entry_key.value == key => Some((entry_key, value)),
                _ => None,
            })
    }

    /// The scalar's text, for a scalar node.
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    /// The 1-based line of the node's first scalar (its first key or item), if any.
    pub fn first_line(&self) -> Option<usize> {
        match self {
            Node::Scalar(scalar) => Some(scalar.line),
            Node::Mapping { entries, .. } => entries.first().and_then(|(key, value)| {
                key.as_ref()
                    .map(|key| key.line)
                    .or_else(|| value.first_line())
            }),
            Node::Sequence { line, .. } => Some(*line),
            Node::Other => None,
        }
    }

    /// The first key of a mapping (its column gives the mapping's indentation).
    pub fn first_key(&self) -> Option<&Scalar> {
        match self {
            Node::Mapping { entries, .. } => entries.first().and_then(|(key, _)| key.as_ref()),
            _ => None,
        }
    }
}

/// Parses the first document of `text` into a tree; `None` for an empty document.
pub fn parse(text: &str) -> Result<Option<Node>, ScanError> {
    let offsets: Vec<usize> = text
        .char_indices()
        .map(|(offset, _)| offset)
        .chain([text.len()])
        .collect();
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        text,
        offsets,
        depth: 0,
    };
    loop {
        let (event, marker) = builder.parser.next_token()?;
        match event {
            Event::StreamEnd | Event::DocumentEnd => return Ok(None),
            Event::StreamStart | Event::DocumentStart | Event::Nothing => {}
            other => return builder.node(other, marker).map(Some),
        }
    }
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    text: &'a str,
    /// Byte offset of each character, plus the text length.
    offsets: Vec<usize>,
    /// Collections open around the node being read.
    depth: usize,
}

impl Builder<'_> {
    /// The node `event` starts; collections may nest [`MAX_NESTING`] levels deep, so that
    /// hostile input fails instead of exhausting the stack.
    fn node(&mut self, event: Event, marker: Marker) -> Result<Node, ScanError> {
        let opens_collection = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
        if !opens_collection {
            return self.contents(event, marker);
        }
        if self.depth == MAX_NESTING {
            return Err(ScanError::new_string(
                marker,
                format!("collections nested more than {MAX_NESTING} levels deep"),
            ));
        }
        self.depth += 1;
        let node = self.contents(event, marker);
        self.depth -= 1;
        node
    }

    fn contents(&mut self, event: Event, marker: Marker) -> Result<Node, ScanError> {
        match event {
            Event::Scalar(value, style, _, _) => {
                Ok(Node::Scalar(self.scalar(value, style, marker)))
            }
            Event::MappingStart(..) => {
                let flow = self
                    .text
                    .get(self.byte(marker)..)
                    .is_some_and(|rest| rest.starts_with('{'));
                let mut entries = Vec::new();
                loop {
                    let (event, marker) = self.parser.next_token()?;
                    if matches!(event, Event::MappingEnd | Event::StreamEnd) {
                        return Ok(Node::Mapping { flow, entries });
                    }
                    let key = match self.node(event, marker)? {
                        Node::Scalar(key) => Some(key),
                        _ => None,
                    };
                    let (event, marker) = self.parser.next_token()?;
                    entries.push((key, self.node(event, marker)?));
                }
            }
            Event::SequenceStart(..) => {
                let start = marker;
                let flow = self
                    .text
                    .get(self.byte(start)..)
                    .is_some_and(|rest| rest.starts_with('['));
                let mut items = Vec::new();
                loop {
                    let (event, marker) = self.parser.next_token()?;
                    if matches!(event, Event::SequenceEnd | Event::StreamEnd) {
                        return Ok(Node::Sequence {
                            flow,
                            items,
                            start: self.byte(start),
                            line: start.line(),
                            column: start.col(),
                        });
                    }
                    items.push(self.node(event, marker)?);
                }
            }
            _ => Ok(Node::Other),
        }
    }

    fn scalar(&self, value: String, style: TScalarStyle, marker: Marker) -> Scalar {
        Scalar {
            value,
            style,
            start: self.byte(marker),
            line: marker.line(),
            column: marker.col(),
        }
    }

    fn byte(&self, marker: Marker) -> usize {
        self.offsets
            .get(marker.index())
            .copied()
            .unwrap_or(self.text.len())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        assert!(parse(&format!("machine: {}", "[".repeat(100_000))).is_err());
        assert!(parse(&nested(MAX_NESTING)).is_ok());

        let err = parse(&nested(MAX_NESTING + 1)).unwrap_err();
        assert!(err.info().contains("nested more than"), "{err}");
        let block = format!("machine:\n  a:\n    {}x\n", "- ".repeat(MAX_NESTING));
        let err = parse(&block).unwrap_err();
        assert!(err.info().contains("nested more than"), "{err}");
    }
}
