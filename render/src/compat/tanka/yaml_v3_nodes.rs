//! YAML text as the node trees yaml.v3's parser builds: documents of scalars (each with the tag yaml.v3 gives it),
//! sequences, mappings and aliases, anchors resolved by name across documents as yaml.v3 does. The syntax is read
//! by granit-parser (serde-saphyr's YAML 1.2 parser, also behind std.parseYaml here); libyaml, under yaml.v3,
//! rejects a few texts it accepts (tabs before tokens, punctuation in anchor names) and the other way round, and
//! the error texts differ.

use std::{collections::HashMap, rc::Rc};

use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, Tag};

use super::yaml_v3_resolve::resolve_plain;

/// The namespace of `!!` tags.
const YAML_TAGS: &str = "tag:yaml.org,2002:";

/// A node as yaml.v3's parser builds it.
pub struct Node {
    /// The line it starts on (1-based), for error messages.
    pub line: usize,
    pub kind: Kind,
}

pub enum Kind {
    /// The text and yaml.v3's tag: an explicit one, else `!!str` for quoted and block scalars, `!!merge` for a
    /// plain `<<`, else what the text resolves to.
    Scalar {
        value: String,
        tag: String,
    },
    Sequence(Vec<Rc<Node>>),
    Mapping(Vec<(Rc<Node>, Rc<Node>)>),
    /// An alias, with its anchor's name.
    Alias {
        name: String,
        target: Rc<Node>,
    },
}

impl Node {
    /// yaml.v3's `ShortTag`.
    pub fn short_tag(&self) -> &str {
        match &self.kind {
            Kind::Scalar { tag, .. } => tag,
            Kind::Sequence(_) => "!!seq",
            Kind::Mapping(_) => "!!map",
            Kind::Alias { target, .. } => target.short_tag(),
        }
    }

    /// yaml.v3's `isMerge`.
    pub fn is_merge_key(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, tag } if value == "<<" && tag == "!!merge")
    }

    /// What yaml.v3 compares to find duplicate keys: the node kind and its text.
    pub fn key_identity(&self) -> (u8, String) {
        match &self.kind {
            Kind::Scalar { value, .. } => (0, value.clone()),
            Kind::Alias { name, .. } => (1, name.clone()),
            Kind::Sequence(_) => (2, String::new()),
            Kind::Mapping(_) => (3, String::new()),
        }
    }

    /// The node with aliases followed.
    pub fn resolved(self: &Rc<Self>) -> &Rc<Self> {
        match &self.kind {
            Kind::Alias { target, .. } => target.resolved(),
            _ => self,
        }
    }
}

/// A collection whose end event has not come yet.
struct Open {
    line: usize,
    anchor: usize,
    mapping: bool,
    items: Vec<Rc<Node>>,
}

/// Every document of the stream as a node tree.
pub fn parse_documents(text: &str) -> Result<Vec<Rc<Node>>, String> {
    let mut options = Options::default();
    options.set_emit_comments(false);
    options.bom_inside_document_as_content = true;
    // yaml.v3 keeps anchors from one document to the next: aliases are resolved here, by name.
    options.emit_anchor_events = true;
    options.emit_unresolved_aliases = true;
    let mut parser = Parser::new_from_str_with_options(text, options);
    let mut tree = TreeBuilder::default();
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|error| format!("yaml: line {}: {}", error.marker().line(), error.info()))?;
        tree.event(event, span.start.line())?;
    }
    Ok(tree.documents)
}

/// Builds node trees from parser events.
#[derive(Default)]
struct TreeBuilder {
    documents: Vec<Rc<Node>>,
    open: Vec<Open>,
    /// Anchor names by the parser's anchor ID.
    names: HashMap<usize, String>,
    /// Finished anchored nodes by the parser's anchor ID, and by name across documents (a later one wins).
    anchored: HashMap<usize, Rc<Node>>,
    by_name: HashMap<String, Rc<Node>>,
}

impl TreeBuilder {
    fn event(&mut self, event: Event<'_>, line: usize) -> Result<(), String> {
        let (node, anchor) = match event {
            // libyaml only reads YAML 1.1 documents.
            Event::DocumentStart(_, Some(version)) if (version.major, version.minor) != (1, 1) => {
                return Err("yaml: found incompatible YAML document".to_owned());
            }
            Event::Scalar(value, style, anchor, tag) => {
                let tag = scalar_tag(&value, style, tag.as_deref());
                (Node { line, kind: Kind::Scalar { value: value.into_owned(), tag } }, anchor)
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                let mapping = matches!(event, Event::MappingStart(..));
                self.open.push(Open { line, anchor, mapping, items: Vec::new() });
                return Ok(());
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let done = self.open.pop().ok_or_else(|| format!("yaml: line {line}: unbalanced collection end"))?;
                (Node { line: done.line, kind: collection(done.mapping, done.items) }, done.anchor)
            }
            Event::Anchor(id, name) => {
                // Comes right after its node's start: a scalar is finished already, a collection is not.
                if let Some(node) = self.anchored.get(&id) {
                    self.by_name.insert(name.to_string(), Rc::clone(node));
                }
                self.names.insert(id, name.into_owned());
                return Ok(());
            }
            Event::Alias(id) => {
                let name = self.names.get(&id).cloned().unwrap_or_default();
                let target = self
                    .anchored
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| format!("yaml: anchor '{name}' value contains itself"))?;
                (Node { line, kind: Kind::Alias { name, target } }, 0)
            }
            Event::UnresolvedAlias(name) => {
                let target = self
                    .by_name
                    .get(name.as_ref())
                    .cloned()
                    .ok_or_else(|| format!("yaml: unknown anchor '{name}' referenced"))?;
                (Node { line, kind: Kind::Alias { name: name.into_owned(), target } }, 0)
            }
            _ => return Ok(()),
        };
        let node = Rc::new(node);
        if anchor != 0 {
            self.anchored.insert(anchor, Rc::clone(&node));
            if let Some(name) = self.names.get(&anchor) {
                self.by_name.insert(name.clone(), Rc::clone(&node));
            }
        }
        match self.open.last_mut() {
            Some(parent) => parent.items.push(node),
            None => self.documents.push(node),
        }
        Ok(())
    }
}

/// A finished sequence, or a mapping from its alternating keys and values.
fn collection(mapping: bool, items: Vec<Rc<Node>>) -> Kind {
    if !mapping {
        return Kind::Sequence(items);
    }
    let mut items = items.into_iter();
    let mut entries = Vec::new();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        entries.push((key, value));
    }
    Kind::Mapping(entries)
}

/// The tag yaml.v3's parser gives a scalar (its `parser.node`).
fn scalar_tag(value: &str, style: ScalarStyle, tag: Option<&Tag>) -> String {
    let explicit =
        tag.map(|tag| format!("{}{}", tag.handle(), tag.suffix())).filter(|tag| tag != "!" && !tag.is_empty());
    match explicit {
        Some(tag) => tag.strip_prefix(YAML_TAGS).map_or(tag.clone(), |name| format!("!!{name}")),
        None if style != ScalarStyle::Plain => "!!str".to_owned(),
        None if value == "<<" => "!!merge".to_owned(),
        None => resolve_plain(value).tag().to_owned(),
    }
}
