//! The one way a JsonnetSnippet and its JsonnetLibraries become a [`RenderRequest`]: the controller's reconcile
//! and `jaas render` both call [`render_request`], so a snippet renders locally exactly as in the cluster, and both
//! report a missing library with [`library_not_found`]. Objects that take their Jsonnet from a Flux source
//! (`spec.sourceRef`) render from the directory their tree was extracted to ([`SourceDirectories`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jaas_render::{Library, OutputMode, RenderError, RenderRequest, Variable, default_import_paths};
use kube::ResourceExt;

use crate::crd::{JsonnetLibrary, JsonnetSnippet, OutputFormat, SnippetVariable};

/// Where the trees of sourced objects are on disk, each already narrowed to its `sourceRef.path`: the snippet's
/// own (when it has a `sourceRef`) and each sourced library's, by library name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceDirectories {
    /// The snippet's tree.
    pub snippet: Option<PathBuf>,
    /// Each sourced library's tree, by the library's name.
    pub libraries: BTreeMap<String, PathBuf>,
}

/// The render request a snippet and its libraries describe, reading sourced trees from `directories`.
pub fn render_request(
    snippet: &JsonnetSnippet,
    libraries: &[JsonnetLibrary],
    directories: &SourceDirectories,
) -> RenderRequest {
    let variables = |list: &[SnippetVariable]| {
        list.iter().map(|v| Variable { name: v.name.clone(), value: v.value.clone(), code: v.code }).collect()
    };
    let import_paths = match (&directories.snippet, &snippet.spec.import_paths) {
        (_, Some(paths)) => paths.iter().map(|path| clean_tree_path(path)).collect(),
        (Some(root), None) => default_import_paths(root),
        (None, None) => Vec::new(),
    };
    RenderRequest {
        entry_file: clean_tree_path(&snippet.spec.entry_file),
        files: if directories.snippet.is_some() { BTreeMap::new() } else { snippet.spec.files.clone() },
        directory: directories.snippet.clone(),
        import_paths,
        libraries: libraries
            .iter()
            .map(|library| {
                let name = library.name_any();
                Library {
                    import_path: library.spec.import_path.as_deref().map(clean_tree_path),
                    files: library.spec.files.clone(),
                    directory: directories.libraries.get(&name).cloned(),
                    name,
                }
            })
            .collect(),
        ext_vars: variables(&snippet.spec.external_variables),
        tlas: variables(&snippet.spec.tlas),
        output: match snippet.spec.output {
            OutputFormat::Rendered => OutputMode::Rendered,
            OutputFormat::Source => OutputMode::Source,
        },
    }
}

/// A path of the spec as the tree names it: without `./` components or a trailing `/` (`./lib/` is `lib`).
pub fn clean_tree_path(path: &str) -> String {
    path.split('/').filter(|part| !part.is_empty() && *part != ".").collect::<Vec<_>>().join("/")
}

/// The directory a `sourceRef.path` names inside a source's extracted `tree` (the whole tree without one); it must
/// exist, be a directory and, with every symlink resolved, stay inside the tree.
pub fn narrow_to_source_path(tree: &Path, path: Option<&str>) -> Result<PathBuf, String> {
    let Some(path) = path.map(clean_tree_path).filter(|path| !path.is_empty()) else {
        return Ok(tree.to_path_buf());
    };
    let inside = tree.canonicalize().map_err(|error| format!("cannot open the extracted tree: {error}"))?;
    let narrowed = inside
        .join(&path)
        .canonicalize()
        .map_err(|_| format!("spec.sourceRef.path {path:?} does not exist in the artifact"))?;
    if !narrowed.starts_with(&inside) {
        return Err(format!("spec.sourceRef.path {path:?} leads out of the artifact through a symlink"));
    }
    if !narrowed.is_dir() {
        return Err(format!("spec.sourceRef.path {path:?} is not a directory in the artifact"));
    }
    Ok(narrowed)
}

/// The error for a library the snippet lists that its namespace does not hold.
pub fn library_not_found(name: &str, namespace: &str) -> RenderError {
    RenderError::LibraryNotFound(format!("JsonnetLibrary {name:?} does not exist in namespace {namespace:?}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crd::{JsonnetLibrarySpec, JsonnetSnippetSpec};

    fn snippet(spec: serde_json::Value) -> JsonnetSnippet {
        JsonnetSnippet::new("web", serde_json::from_value::<JsonnetSnippetSpec>(spec).unwrap())
    }

    #[test]
    fn an_inline_snippet_renders_its_files() {
        let inline = snippet(serde_json::json!({"files": {"main.jsonnet": "{}"}}));
        let request = render_request(&inline, &[], &SourceDirectories::default());
        assert_eq!(request.entry_file, "main.jsonnet");
        assert_eq!(request.files.len(), 1);
        assert_eq!(request.directory, None);
        request.validate().unwrap();
    }

    #[test]
    fn a_sourced_snippet_renders_its_tree_with_default_or_given_import_paths() {
        let tree = tempfile::tempdir().unwrap();
        std::fs::create_dir(tree.path().join("vendor")).unwrap();
        let git = serde_json::json!({"kind": "GitRepository", "name": "repo"});
        let sourced = snippet(serde_json::json!({"sourceRef": git, "entryFile": "./apps/web.jsonnet"}));
        let directories = SourceDirectories { snippet: Some(tree.path().to_owned()), ..SourceDirectories::default() };
        let request = render_request(&sourced, &[], &directories);
        assert_eq!(request.entry_file, "apps/web.jsonnet");
        assert_eq!(request.directory.as_deref(), Some(tree.path()));
        assert_eq!(request.import_paths, ["vendor"], "lib is absent, vendor present");
        request.validate().unwrap();

        let given = snippet(serde_json::json!({"sourceRef": git, "importPaths": ["./third_party/", "lib"]}));
        assert_eq!(render_request(&given, &[], &directories).import_paths, ["third_party", "lib"]);
    }

    #[test]
    fn a_sourced_library_is_mounted_under_its_import_path() {
        let tree = tempfile::tempdir().unwrap();
        let library = JsonnetLibrary::new(
            "grafonnet",
            JsonnetLibrarySpec { import_path: Some("github.com/grafana/grafonnet/".into()), ..Default::default() },
        );
        let inline = snippet(serde_json::json!({"files": {"main.jsonnet": "{}"}}));
        let directories = SourceDirectories {
            libraries: [("grafonnet".to_owned(), tree.path().to_owned())].into(),
            ..SourceDirectories::default()
        };
        let request = render_request(&inline, &[library], &directories);
        let mounted = &request.libraries[0];
        assert_eq!(mounted.mount_directory(), "github.com/grafana/grafonnet");
        assert_eq!(mounted.directory.as_deref(), Some(tree.path()));
        request.validate().unwrap();
    }

    #[test]
    fn the_path_narrows_the_tree_to_a_directory_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("apps/web")).unwrap();
        std::fs::write(tree.join("apps/main.jsonnet"), "{}").unwrap();
        std::os::unix::fs::symlink(dir.path(), tree.join("out")).unwrap();
        let canonical = tree.canonicalize().unwrap();

        assert_eq!(narrow_to_source_path(&tree, None).unwrap(), tree);
        assert_eq!(narrow_to_source_path(&tree, Some("./")).unwrap(), tree);
        assert_eq!(narrow_to_source_path(&tree, Some("./apps/web/")).unwrap(), canonical.join("apps/web"));
        let missing = narrow_to_source_path(&tree, Some("apps/api")).unwrap_err();
        assert!(missing.contains("\"apps/api\" does not exist"), "{missing}");
        let file = narrow_to_source_path(&tree, Some("apps/main.jsonnet")).unwrap_err();
        assert!(file.contains("is not a directory"), "{file}");
        let out = narrow_to_source_path(&tree, Some("out")).unwrap_err();
        assert!(out.contains("leads out of the artifact"), "{out}");
    }
}
