//! Property tests: edits keep the document's value and comments, whatever its layout.

#![allow(clippy::unwrap_used)]

use super::*;
use proptest::prelude::*;
use serde_json::json;

/// A JSON value drawn from a small key set (so paths repeat) and small depth.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(Value::Bool),
        (0i64..1000).prop_map(|n| json!(n)),
        "[a-z:/ ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-d]", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Renders `value` as HuJSON, taking layout decisions from `style`: multi- or
/// single-line containers, trailing commas, and numbered comments.
struct Renderer<'a> {
    style: &'a [bool],
    next: usize,
    out: String,
    comments: Vec<String>,
}

impl Renderer<'_> {
    fn flip(&mut self) -> bool {
        let bit = self
            .style
            .get(self.next % self.style.len().max(1))
            .copied()
            .unwrap_or(false);
        self.next += 1;
        bit
    }

    fn comment(&mut self, multiline: bool) {
        if !self.flip() {
            return;
        }
        let text = if multiline && self.flip() {
            format!("// c{}\n", self.comments.len())
        } else {
            format!("/* c{} */ ", self.comments.len())
        };
        self.comments.push(text.trim().to_owned());
        self.out.push_str(&text);
    }

    fn render(&mut self, value: &Value, depth: usize) {
        let entries: Vec<(Option<&String>, &Value)> = match value {
            Value::Object(map) => map.iter().map(|(k, v)| (Some(k), v)).collect(),
            Value::Array(items) => items.iter().map(|v| (None, v)).collect(),
            scalar => {
                self.out.push_str(&scalar.to_string());
                return;
            }
        };
        let (open, close) = if value.is_object() {
            ('{', '}')
        } else {
            ('[', ']')
        };
        let multiline = self.flip();
        let trailing = self.flip();
        let indent = "\t".repeat(depth + 1);
        self.out.push(open);
        for (i, (key, item)) in entries.iter().enumerate() {
            if multiline {
                self.out.push('\n');
                self.out.push_str(&indent);
            }
            self.comment(multiline);
            if multiline && self.out.ends_with('\n') {
                self.out.push_str(&indent);
            }
            if let Some(key) = key {
                self.out
                    .push_str(&format!("{}: ", Value::String((*key).clone())));
            }
            self.render(item, depth + 1);
            if i + 1 < entries.len() || trailing {
                self.out.push(',');
            }
            if multiline && self.flip() {
                let text = format!("// c{}", self.comments.len());
                self.comments.push(text.clone());
                self.out.push(' ');
                self.out.push_str(&text);
            }
        }
        if multiline {
            self.out.push('\n');
            self.out.push_str(&"\t".repeat(depth));
        }
        self.out.push(close);
    }
}

fn object_paths(value: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(map) = value {
        out.push(prefix.clone());
        for (k, v) in map {
            let mut path = prefix.clone();
            path.push(k.clone());
            object_paths(v, path, out);
        }
    }
}

fn styled() -> impl Strategy<Value = (Value, Vec<bool>)> {
    (
        proptest::collection::btree_map("[a-d]", value(), 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        proptest::collection::vec(any::<bool>(), 1..64),
    )
}

fn render(value: &Value, style: &[bool]) -> (String, Vec<String>) {
    let mut r = Renderer {
        style,
        next: 0,
        out: String::new(),
        comments: Vec::new(),
    };
    r.render(value, 0);
    (r.out, r.comments)
}

fn assert_comments_kept(out: &str, comments: &[String]) {
    let mut from = 0;
    for c in comments {
        let at = out[from..].find(c.as_str());
        assert!(at.is_some(), "comment {c} lost or reordered in:\n{out}");
        from += at.unwrap_or(0) + c.len();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn rendered_hujson_reads_back_as_its_value((value, style) in styled()) {
        let (text, _) = render(&value, &style);
        prop_assert_eq!(Document::parse(&text).unwrap().value().unwrap(), value);
    }

    #[test]
    fn inserting_a_member_changes_only_that_member((value, style) in styled(), pick in any::<prop::sample::Index>(), missing in any::<bool>()) {
        let (text, comments) = render(&value, &style);
        let mut paths = Vec::new();
        object_paths(&value, Vec::new(), &mut paths);
        let mut path = paths[pick.index(paths.len())].clone();
        if missing {
            path.push("new-parent".to_owned());
        }
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        let out = Document::parse(&text).unwrap().insert_member(&segments, "new key", &json!(["tag:x"])).unwrap();

        let mut expected = value.clone();
        let mut cursor = &mut expected;
        for seg in &path {
            cursor = cursor.as_object_mut().unwrap().entry(seg.clone()).or_insert_with(|| json!({}));
        }
        cursor.as_object_mut().unwrap().insert("new key".to_owned(), json!(["tag:x"]));
        prop_assert_eq!(Document::parse(&out).unwrap().value().unwrap(), expected);
        assert_comments_kept(&out, &comments);
    }

    #[test]
    fn appending_to_an_array_keeps_its_elements((value, style) in styled(), pick in any::<prop::sample::Index>()) {
        let mut arrays = Vec::new();
        let mut objects = Vec::new();
        object_paths(&value, Vec::new(), &mut objects);
        for path in &objects {
            let node = path.iter().fold(&value, |v, k| &v[k.as_str()]);
            for (k, v) in node.as_object().unwrap() {
                if v.is_array() {
                    let mut p = path.clone();
                    p.push(k.clone());
                    arrays.push(p);
                }
            }
        }
        prop_assume!(!arrays.is_empty());
        let path = arrays[pick.index(arrays.len())].clone();
        let (text, comments) = render(&value, &style);
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        let out = Document::parse(&text).unwrap().append_element(&segments, &json!("added")).unwrap();
        let mut expected = value.clone();
        let target = path.iter().fold(&mut expected, |v, k| &mut v[k.as_str()]);
        target.as_array_mut().unwrap().push(json!("added"));
        prop_assert_eq!(Document::parse(&out).unwrap().value().unwrap(), expected);
        assert_comments_kept(&out, &comments);
    }
}

/// Text made of HuJSON's building blocks (and a few troublemakers: a lone backslash, a
/// NUL, a multi-byte character), so that random input reaches deep parser states.
fn hujson_like() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{"),
        Just("}"),
        Just("["),
        Just("]"),
        Just(","),
        Just(":"),
        Just("\""),
        Just("\\"),
        Just("\\\""),
        Just("\\u00e9"),
        Just("//"),
        Just("/*"),
        Just("*/"),
        Just("\n"),
        Just(" "),
        Just("1"),
        Just("-"),
        Just("true"),
        Just("null"),
        Just("\"k\""),
        Just("é"),
        Just("\u{0}"),
    ];
    proptest::collection::vec(token, 0..48).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_is_an_error_or_a_value_never_a_panic(text in any::<String>()) {
        if let Ok(doc) = Document::parse(&text) {
            prop_assert!(doc.value().is_ok(), "accepted but not standardizable: {text:?}");
        }
    }

    #[test]
    fn accepted_text_has_a_value_and_stays_valid_after_edits(text in hujson_like(), key in r#"[a-c"\\/*]{1,3}"#) {
        let Ok(doc) = Document::parse(&text) else { return Ok(()) };
        let value = doc.value();
        prop_assert!(value.is_ok(), "accepted but not standardizable: {text:?}");
        if value.unwrap().is_object() {
            let out = doc.insert_member(&[], &key, &json!(1)).unwrap();
            prop_assert_eq!(&Document::parse(&out).unwrap().value().unwrap()[key.as_str()], &json!(1));
            if let Ok(out) = doc.append_element(&[key.as_str()], &json!("x")) {
                let edited = Document::parse(&out).unwrap().value().unwrap();
                prop_assert_eq!(edited[key.as_str()].as_array().and_then(|a| a.last()), Some(&json!("x")));
            }
        }
    }

    #[test]
    fn whatever_serde_json_accepts_reads_the_same(text in hujson_like()) {
        if let Ok(expected) = serde_json::from_str::<Value>(&text) {
            let doc = Document::parse(&text);
            prop_assert!(doc.is_ok(), "valid json refused: {text:?}");
            prop_assert_eq!(doc.unwrap().value().unwrap(), expected);
        }
    }

    #[test]
    fn generated_json_in_any_layout_reads_the_same(value in value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            value.to_string()
        };
        prop_assert_eq!(Document::parse(&text).unwrap().value().unwrap(), value);
    }
}
