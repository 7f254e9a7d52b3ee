//! Plain Jsonnet on disk as a [`RenderRequest`]: `jaas render main.jsonnet -J vendor` or `jaas render DIR` (a
//! jsonnet-bundler project). The request names the directory, not its contents: the worker reads a file when an
//! import names it, as the jsonnet CLI does.

use std::{
    fs,
    path::{Component, Path, PathBuf},
};

use crate::{Library, RenderError, RenderRequest};

/// The entry file of a directory given as the input.
pub const DIRECTORY_ENTRY_FILE: &str = "main.jsonnet";
/// The search paths of a directory tree without `-J`, in search order: a jb project's own `lib/`, then `vendor/`,
/// each when present (what `jsonnet -J vendor -J lib` searches, the right-most `-J` first).
const DEFAULT_IMPORT_PATHS: [&str; 2] = ["lib", "vendor"];

/// Builds the request for plain Jsonnet on disk. `input` is an entry file (its directory becomes the tree) or a
/// directory holding `main.jsonnet`. Each `-J` directory is searched as `jsonnet -J` searches it (the right-most
/// first): one inside the tree becomes an import path, one outside a library named after its directory. A directory
/// input without `-J` searches `lib` and `vendor` when present.
pub fn plain_request(input: &Path, jpaths: &[PathBuf]) -> Result<RenderRequest, RenderError> {
    let canonical = fs::canonicalize(input)
        .map_err(|error| RenderError::InvalidSpec(format!("cannot read {}: {error}", input.display())))?;
    let (root, entry_file) = if canonical.is_dir() {
        if !canonical.join(DIRECTORY_ENTRY_FILE).is_file() {
            return Err(RenderError::InvalidSpec(format!(
                "{} holds no {DIRECTORY_ENTRY_FILE}; name the entry file instead of its directory",
                input.display()
            )));
        }
        (canonical.clone(), DIRECTORY_ENTRY_FILE.to_owned())
    } else {
        let (Some(directory), Some(name)) = (canonical.parent(), canonical.file_name()) else {
            return Err(RenderError::InvalidSpec(format!("{} is not a file", input.display())));
        };
        (directory.to_path_buf(), name.to_string_lossy().into_owned())
    };
    let mut request = tree_request(root, entry_file, jpaths)?;
    if jpaths.is_empty() && canonical.is_dir() {
        // The directory is the tree's root.
        request.import_paths = default_import_paths(&canonical);
    }
    Ok(request)
}

/// Builds the request evaluating `entry_file` in the tree of the directory `root` (canonical), searching each `-J`
/// directory as [`plain_request`] does. The entry file need not exist: Jsonnet given inline (`jaas eval -e`) goes by
/// its name.
pub fn tree_request(root: PathBuf, entry_file: String, jpaths: &[PathBuf]) -> Result<RenderRequest, RenderError> {
    let mut import_paths = Vec::new();
    let mut libraries: Vec<Library> = Vec::new();
    for jpath in jpaths.iter().rev() {
        let directory = fs::canonicalize(jpath)
            .map_err(|error| RenderError::InvalidSpec(format!("-J {}: {error}", jpath.display())))?;
        match directory.strip_prefix(&root).map(tree_path) {
            // The tree root itself is searched anyway (last).
            Ok(Some(path)) if path.is_empty() => {}
            Ok(Some(path)) => import_paths.push(path),
            Ok(None) | Err(_) => {
                let name = directory.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                if libraries.iter().any(|library| library.name == name) {
                    return Err(RenderError::InvalidSpec(format!("two -J directories are named {name:?}")));
                }
                libraries.push(Library { name, directory: Some(directory), ..Library::default() });
            }
        }
    }
    Ok(RenderRequest { entry_file, directory: Some(root), import_paths, libraries, ..RenderRequest::default() })
}

/// The import paths of a jsonnet-bundler tree at `root` when none are given: `lib`, then `vendor`, each when
/// present. `jaas render DIR` and a snippet whose Flux source has no `spec.importPaths` both use them.
pub fn default_import_paths(root: &Path) -> Vec<String> {
    DEFAULT_IMPORT_PATHS.iter().filter(|path| root.join(path).is_dir()).map(|path| (*path).to_owned()).collect()
}

/// `relative` as a `/`-separated tree path; `None` when a component is not plain UTF-8.
fn tree_path(relative: &Path) -> Option<String> {
    let mut segments = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(segment) => segments.push(segment.to_str()?),
            _ => return None,
        }
    }
    Some(segments.join("/"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_file_names_its_directory_and_jpaths() {
        let root = tempfile::tempdir().unwrap();
        let app = root.path().join("app");
        let outside = root.path().join("shared-lib");
        fs::create_dir_all(app.join("vendor")).unwrap();
        fs::create_dir_all(app.join("lib")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(app.join("main.jsonnet"), "{}").unwrap();
        let request =
            plain_request(&app.join("main.jsonnet"), &[app.join("vendor"), outside, app.join("lib")]).unwrap();
        assert_eq!(request.entry_file, "main.jsonnet");
        assert_eq!(request.directory, Some(fs::canonicalize(&app).unwrap()));
        assert!(request.files.is_empty(), "nothing is read up front");
        assert_eq!(request.import_paths, ["lib", "vendor"], "the right-most -J is searched first");
        assert_eq!(request.libraries.len(), 1);
        assert_eq!(request.libraries[0].name, "shared-lib");
        assert_eq!(request.libraries[0].mount_directory(), "shared-lib");
        assert_eq!(plain_request(&app.join("main.jsonnet"), &[]).unwrap().import_paths, Vec::<String>::new());
    }

    #[test]
    fn a_directory_defaults_to_its_lib_and_vendor() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("main.jsonnet"), "{}").unwrap();
        assert_eq!(plain_request(root.path(), &[]).unwrap().import_paths, Vec::<String>::new());
        fs::create_dir(root.path().join("vendor")).unwrap();
        assert_eq!(plain_request(root.path(), &[]).unwrap().import_paths, ["vendor"]);
        fs::create_dir(root.path().join("lib")).unwrap();
        let request = plain_request(root.path(), &[]).unwrap();
        assert_eq!(
            (request.entry_file.as_str(), request.import_paths),
            ("main.jsonnet", vec!["lib".to_owned(), "vendor".to_owned()])
        );
        let only_vendor = plain_request(root.path(), &[root.path().join("vendor")]).unwrap();
        assert_eq!(only_vendor.import_paths, ["vendor"]);
        let empty = tempfile::tempdir().unwrap();
        let error = plain_request(empty.path(), &[]).unwrap_err();
        assert!(error.to_string().contains("holds no main.jsonnet"), "{error}");
    }
}
