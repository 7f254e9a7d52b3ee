//! An artifact's manifests as objects: each YAML document of its `*.yaml` files keyed by the Kubernetes object it
//! describes, `(group, kind, namespace, name)`, and kept as the exact text the artifact holds (the renderer writes
//! it canonically, keys sorted, so equal objects have equal text). Every other file but `rendered.json` (the
//! Jsonnet of an `output: source` artifact, say) is one document keyed by its path.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use jaas_render::RENDERED_JSON;
use serde::Serialize;
use serde_json::Value;

use super::unpack::ArtifactFile;

/// What identifies one document across two revisions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(untagged)]
pub enum ObjectKey {
    /// A Kubernetes object; `group` is empty for the core group, `namespace` when the manifest names none.
    Object {
        /// The API group of its `apiVersion` (`apps` of `apps/v1`), without the version.
        group: String,
        /// Its `kind`.
        kind: String,
        /// Its `metadata.namespace`, or empty.
        namespace: String,
        /// Its `metadata.name`.
        name: String,
    },
    /// A document that is not an object with `kind` and `metadata.name` (or a second document naming an object
    /// already seen): keyed by where it is, its file and its position there (from 0).
    Document {
        /// The file inside the artifact.
        file: String,
        /// The document's position in the file, counting from 0.
        index: usize,
    },
    /// A file that holds no manifests, compared whole.
    File {
        /// The file inside the artifact.
        file: String,
    },
}

impl fmt::Display for ObjectKey {
    /// `apps/Deployment default/web`, `ConfigMap settings` (core group, no namespace), `extra.yaml#2`,
    /// `main.jsonnet`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Object { group, kind, namespace, name } => {
                if !group.is_empty() {
                    write!(f, "{group}/")?;
                }
                write!(f, "{kind} ")?;
                if !namespace.is_empty() {
                    write!(f, "{namespace}/")?;
                }
                f.write_str(name)
            }
            Self::Document { file, index } => write!(f, "{file}#{index}"),
            Self::File { file } => f.write_str(file),
        }
    }
}

/// One document of an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The file it is in.
    pub file: String,
    /// Its YAML text as the artifact holds it, without the `---` separators.
    pub text: String,
}

/// The documents of `files`' YAML files (`*.yaml`, `*.yml`), keyed, and every other file but `rendered.json` (which
/// repeats the manifests as one value) whole. Documents holding only blank lines and comments are left out.
pub fn objects(files: &[ArtifactFile]) -> BTreeMap<ObjectKey, Document> {
    let mut objects = BTreeMap::new();
    for file in files {
        let text = String::from_utf8_lossy(&file.content);
        let is_manifest = Path::new(&file.path)
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml"));
        if !is_manifest {
            if file.path != RENDERED_JSON {
                let key = ObjectKey::File { file: file.path.clone() };
                objects.insert(key, Document { file: file.path.clone(), text: text.into_owned() });
            }
            continue;
        }
        for (index, document) in split_documents(&text).into_iter().enumerate() {
            let position = ObjectKey::Document { file: file.path.clone(), index };
            let key = object_key(document).filter(|key| !objects.contains_key(key)).unwrap_or(position);
            objects.insert(key, Document { file: file.path.clone(), text: document.to_owned() });
        }
    }
    objects
}

/// The API group of an `apiVersion`: `apps` of `apps/v1`, empty for the core group's `v1`.
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _version)| group)
}

/// The object a document describes, when it is a mapping with a non-empty string `kind` and `metadata.name`.
fn object_key(document: &str) -> Option<ObjectKey> {
    let value: Value = serde_saphyr::from_str(document).ok()?;
    let kind = text(value.get("kind"))?;
    let metadata = value.get("metadata")?;
    let name = text(metadata.get("name"))?;
    Some(ObjectKey::Object {
        group: text(value.get("apiVersion")).map_or("", group_of).to_owned(),
        kind: kind.to_owned(),
        namespace: text(metadata.get("namespace")).unwrap_or_default().to_owned(),
        name: name.to_owned(),
    })
}

/// A field's value when it is a non-empty string.
fn text(field: Option<&Value>) -> Option<&str> {
    field.and_then(Value::as_str).filter(|text| !text.is_empty())
}

/// The documents of a YAML stream, split at the `---` lines between them (a `---` in column 0 cannot be inside a
/// block scalar of a mapping), each with its line ends. Documents holding only blank lines and comments are left
/// out, as a YAML reader leaves them out.
fn split_documents(text: &str) -> Vec<&str> {
    let mut documents = Vec::new();
    let (mut start, mut offset) = (0, 0);
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            documents.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    documents.push(&text[start..]);
    documents.retain(|document| {
        document.lines().any(|line| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#')
        })
    });
    documents
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn file(path: &str, content: &str) -> ArtifactFile {
        ArtifactFile { path: path.to_owned(), content: content.as_bytes().to_vec() }
    }

    fn object(group: &str, kind: &str, namespace: &str, name: &str) -> ObjectKey {
        let owned = str::to_owned;
        ObjectKey::Object { group: owned(group), kind: owned(kind), namespace: owned(namespace), name: owned(name) }
    }

    fn document(file: &str, index: usize) -> ObjectKey {
        ObjectKey::Document { file: file.to_owned(), index }
    }

    #[test]
    fn the_group_is_the_api_version_without_its_version() {
        let cases =
            [("apps/v1", "apps"), ("v1", ""), ("rbac.authorization.k8s.io/v1beta1", "rbac.authorization.k8s.io")];
        for (api_version, group) in cases {
            assert_eq!(group_of(api_version), group, "{api_version}");
        }
    }

    #[test]
    fn documents_are_keyed_by_object_or_by_position() {
        let manifests = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
---
# only a comment
---
- a list
---
kind: NoName
metadata: {}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data: {again: 'yes'}
";
        let files = [
            file("manifests.yaml", manifests),
            file("extra.yml", "kind: Secret\nmetadata:\n  name: s\n"),
            file(RENDERED_JSON, "{\"kind\": \"Ignored\", \"metadata\": {\"name\": \"x\"}}"),
            file("README.md", "kind: Ignored\n"),
        ];
        let found = objects(&files);
        let keys: Vec<(ObjectKey, &str)> = found.iter().map(|(key, doc)| (key.clone(), doc.file.as_str())).collect();
        let expected = [
            (object("", "ConfigMap", "", "settings"), "manifests.yaml"),
            (object("", "Secret", "", "s"), "extra.yml"),
            (object("apps", "Deployment", "default", "web"), "manifests.yaml"),
            // Not objects, and the second document naming ConfigMap settings: by position (the comment-only
            // document is not counted).
            (document("manifests.yaml", 2), "manifests.yaml"),
            (document("manifests.yaml", 3), "manifests.yaml"),
            (document("manifests.yaml", 4), "manifests.yaml"),
            // Not a manifest: whole.
            (ObjectKey::File { file: "README.md".to_owned() }, "README.md"),
        ];
        assert_eq!(keys, expected);
        let web = &found[&object("apps", "Deployment", "default", "web")];
        assert_eq!(web.text, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\n");
        assert_eq!(found[&document("manifests.yaml", 2)].text, "- a list\n");
    }

    #[test]
    fn keys_read_as_kubectl_names_them() {
        let cases = [
            (object("apps", "Deployment", "default", "web"), "apps/Deployment default/web"),
            (object("", "ConfigMap", "", "settings"), "ConfigMap settings"),
            (object("", "ConfigMap", "team", "settings"), "ConfigMap team/settings"),
            (document("extra.yaml", 2), "extra.yaml#2"),
            (ObjectKey::File { file: "main.jsonnet".to_owned() }, "main.jsonnet"),
        ];
        for (key, text) in cases {
            assert_eq!(key.to_string(), text);
        }
    }

    #[test]
    fn a_stream_splits_at_its_separator_lines_only() {
        let cases: [(&str, &[&str]); 5] = [
            ("a: 1\n", &["a: 1\n"]),
            ("---\na: 1\n---\nb: 2\n", &["a: 1\n", "b: 2\n"]),
            ("a: |\n  ---\n  x\n---  \r\nb: 2", &["a: |\n  ---\n  x\n", "b: 2"]),
            ("a: 1\n---\n\n---\n", &["a: 1\n"]),
            ("", &[]),
        ];
        for (text, documents) in cases {
            assert_eq!(split_documents(text), documents, "{text:?}");
        }
    }
}
