//! The YAML inputs of `jaas render`: the JsonnetSnippet, and the JsonnetLibrary documents of `--library` files,
//! read into the CRD types through [`admit`] (the API server's checks, pruning and defaults), and the libraries
//! the snippet lists picked from them as the controller picks them from the snippet's namespace.

use kube::ResourceExt;
use serde_json::Value;

use jaas_render::RenderError;

use crate::crd::admission::{Admitted, admit};
use crate::crd::structural::integral_floats_to_integers;
use crate::crd::{JsonnetLibrary, JsonnetSnippet};
use crate::snippet_request::library_not_found;

/// The namespace of an object whose manifest names none, as with kubectl's default context.
const DEFAULT_NAMESPACE: &str = "default";

/// A manifest that cannot be used, with the file (and document) it came from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct ManifestError {
    /// The file, and the document number when the file holds several.
    pub origin: String,
    /// What is wrong: the API server's message when it would reject the object.
    pub reason: String,
}

/// Reads the JsonnetSnippet that `yaml` (the text of the file `origin`) holds as its only document.
pub fn read_snippet(origin: &str, yaml: &str) -> Result<Admitted<JsonnetSnippet>, ManifestError> {
    let mut documents = yaml_documents(origin, yaml)?;
    if documents.len() != 1 {
        let reason = format!("expected one JsonnetSnippet document, found {}", documents.len());
        return Err(ManifestError { origin: origin.to_owned(), reason });
    }
    admit(documents.remove(0)).map_err(|error| ManifestError { origin: origin.to_owned(), reason: error.to_string() })
}

/// Reads every document of `yaml` (the text of the file `origin`) as a JsonnetLibrary.
pub fn read_libraries(origin: &str, yaml: &str) -> Result<Vec<Admitted<JsonnetLibrary>>, ManifestError> {
    let documents = yaml_documents(origin, yaml)?;
    let count = documents.len();
    let document_origin =
        |index: usize| if count == 1 { origin.to_owned() } else { format!("{origin} (document {})", index + 1) };
    documents
        .into_iter()
        .enumerate()
        .map(|(index, document)| {
            admit(document).map_err(|error| ManifestError { origin: document_origin(index), reason: error.to_string() })
        })
        .collect()
}

/// The documents of a YAML stream as the JSON kubectl would send: read with YAML 1.1's octal `0755` (and its
/// `yes`/`on` booleans, which serde-saphyr always reads), empty documents skipped, integral floats written as
/// integers.
fn yaml_documents(origin: &str, yaml: &str) -> Result<Vec<Value>, ManifestError> {
    let options = serde_saphyr::options! { legacy_octal_numbers: true };
    let documents: Vec<Value> = serde_saphyr::from_multiple_with_options(yaml, options)
        .map_err(|error| ManifestError { origin: origin.to_owned(), reason: format!("not valid YAML: {error}") })?;
    let mut documents: Vec<Value> = documents.into_iter().filter(|document| !document.is_null()).collect();
    documents.iter_mut().for_each(integral_floats_to_integers);
    Ok(documents)
}

/// The libraries `snippet` lists, in its order, from `available`, looked up where the controller looks: in the
/// snippet's namespace. A library manifest without a namespace counts as being in the snippet's (as when both are
/// applied with `kubectl apply -n`); when several define one library, the last wins (as with `kubectl apply`).
pub fn libraries_for(
    snippet: &JsonnetSnippet,
    available: &[JsonnetLibrary],
) -> Result<Vec<JsonnetLibrary>, RenderError> {
    let namespace = snippet.namespace().unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
    let in_namespace = |library: &JsonnetLibrary| library.namespace().is_none_or(|ns| ns == namespace);
    snippet
        .spec
        .libraries
        .iter()
        .map(|name| {
            available
                .iter()
                .rev()
                .find(|library| library.name_any() == *name && in_namespace(library))
                .cloned()
                .ok_or_else(|| library_not_found(name, &namespace))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SNIPPET: &str = "\
apiVersion: jaas.metio.wtf/v1
kind: JsonnetSnippet
metadata:
  name: demo
  namespace: team
spec:
  files:
    main.jsonnet: |
      import 'k.libsonnet'
  libraries: [kube, extra]
  history: 2.0
  suspend: off
  tlas:
    - name: replicas
      value: '3'
      code: true
  unknown: dropped
";

    const LIBRARIES: &str = "\
apiVersion: jaas.metio.wtf/v1
kind: JsonnetLibrary
metadata: { name: kube }
spec:
  files:
    k.libsonnet: '{}'
---
apiVersion: jaas.metio.wtf/v1
kind: JsonnetLibrary
metadata: { name: extra, namespace: team }
spec: {}
---
apiVersion: jaas.metio.wtf/v1
kind: JsonnetLibrary
metadata: { name: extra, namespace: elsewhere }
spec: {}
";

    #[test]
    fn a_snippet_is_read_with_defaults_and_its_unknown_fields_reported() {
        let admitted = read_snippet("s.yaml", SNIPPET).unwrap();
        let spec = &admitted.object.spec;
        assert_eq!((spec.entry_file.as_str(), spec.history), ("main.jsonnet", 2));
        assert_eq!(spec.files["main.jsonnet"], "import 'k.libsonnet'\n");
        assert!(spec.tlas[0].code && !spec.suspend);
        assert_eq!(admitted.pruned_fields, ["spec.unknown"]);
    }

    #[test]
    fn libraries_are_picked_in_the_snippets_order_from_its_namespace() {
        let snippet = read_snippet("s.yaml", SNIPPET).unwrap().object;
        let available: Vec<JsonnetLibrary> =
            read_libraries("libs.yaml", LIBRARIES).unwrap().into_iter().map(|admitted| admitted.object).collect();
        let picked = libraries_for(&snippet, &available).unwrap();
        let names: Vec<(String, Option<String>)> = picked.iter().map(|l| (l.name_any(), l.namespace())).collect();
        assert_eq!(names, [("kube".to_owned(), None), ("extra".to_owned(), Some("team".to_owned()))]);
        assert_eq!(picked[1].spec.files.len(), 0, "the default {{}} applies");
        let missing = libraries_for(&snippet, &available[2..]).unwrap_err();
        assert_eq!(missing, library_not_found("kube", "team"));
        assert_eq!(
            missing.to_string(),
            r#"library not found: JsonnetLibrary "kube" does not exist in namespace "team""#
        );
    }

    #[test]
    fn bad_manifests_name_their_file_and_document() {
        let cases = [
            (
                read_snippet("s.yaml", &SNIPPET.replace("history: 2.0", "history: 51")).unwrap_err(),
                "s.yaml: JsonnetSnippet.jaas.metio.wtf \"demo\" is invalid: spec.history: Invalid value: 51: spec.history in body should be less than or equal to 50",
            ),
            (
                read_snippet("s.yaml", &format!("{SNIPPET}---\n{SNIPPET}")).unwrap_err(),
                "s.yaml: expected one JsonnetSnippet document, found 2",
            ),
            (read_snippet("s.yaml", "a: [").unwrap_err(), "s.yaml: not valid YAML: "),
            // YAML 1.1 octal, as kubectl reads it: 0755 is 493.
            (
                read_snippet("s.yaml", &SNIPPET.replace("history: 2.0", "history: 0755")).unwrap_err(),
                "s.yaml: JsonnetSnippet.jaas.metio.wtf \"demo\" is invalid: spec.history: Invalid value: 493: ",
            ),
            (
                read_libraries("l.yaml", &format!("{LIBRARIES}---\n{SNIPPET}")).unwrap_err(),
                "l.yaml (document 4): JsonnetSnippet.jaas.metio.wtf \"demo\" is invalid: kind: Invalid value: \"JsonnetSnippet\": must be JsonnetLibrary",
            ),
        ];
        for (error, expected) in cases {
            assert!(error.to_string().starts_with(expected), "{error}");
        }
    }
}
