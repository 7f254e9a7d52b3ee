//! The only way Jsonnet code reaches other files: the import tree of a request, never the host's file system at
//! large.
//!
//! The tree holds the snippet's files at its root (in memory, or a directory on disk) and each library under its
//! mount directory (`<import path>/`, by default `<name>/`). An import `p` from file `f` is looked up, in order, at:
//! 1. `p` relative to `f`'s directory — `..` may not climb above `f`'s root (the tree root for snippet
//!    files, `<library>/` for library files);
//! 2. `<dir>/p` for each of the request's import paths, in order (`jsonnet -J`; jb's `vendor`, `lib`);
//! 3. `<library>/p` for each library, in the order listed (libraries are search paths too);
//! 4. `p` from the tree root (so `<library>/file` works from anywhere).
//!
//! Paths are tree paths (`vendor/k/k.libsonnet`): lexical, as go-jsonnet joins them, and what `std.thisFile` and
//! error messages show. Absolute paths, URLs, backslashes, `..` escapes and symlinks that lead out of a directory
//! tree are forbidden; anything else not found is reported as "import not found". `import`, `importstr` and
//! `importbin` share these rules. A file on disk is read when an import names it, not before.

use std::{
    any::Any,
    cell::RefCell,
    fmt,
    hash::{Hash, Hasher},
    path::Path,
    rc::Rc,
};

use jrsonnet_evaluator::{AsPathLike, ImportResolver, ResolvePath, SourcePath, error::ErrorKind};
use jrsonnet_gcmodule::Acyclic;
use jrsonnet_ir::{SourceFifo, SourcePathT};

use crate::{RenderError, RenderRequest, mount::Mount};

/// Prefix of the error text the worker reports as [`super::RenderError::ImportForbidden`].
pub const FORBIDDEN_PREFIX: &str = "import forbidden: ";

/// A file of the in-memory tree, named by its path from the tree root.
#[derive(Acyclic, Hash, PartialEq, Eq, Debug, Clone)]
pub struct TreeFile(pub String);

impl fmt::Display for TreeFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl SourcePathT for TreeFile {
    fn is_default(&self) -> bool {
        false
    }
    // No host path: `std.thisFile` and error locations then show the tree path as-is.
    fn path(&self) -> Option<&Path> {
        None
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn dyn_hash(&self, mut hasher: &mut dyn Hasher) {
        self.hash(&mut hasher);
    }
    fn dyn_eq(&self, other: &dyn SourcePathT) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn dyn_debug(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Why an import failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportFailure {
    /// The import tried to leave the tree (or its library).
    Forbidden(String),
    /// No file matched.
    NotFound(String),
}

/// The tree paths of the files an evaluation read, in the order it first read them: what a revision record
/// keeps of the tree (`crate::record`). Shared between the resolver, which the evaluation state owns, and whoever
/// asks afterwards.
#[derive(Clone, Debug, Default)]
pub struct FilesRead(Rc<RefCell<Vec<String>>>);

impl FilesRead {
    /// The paths read so far, each once, in the order first read.
    pub fn paths(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    fn note(&self, path: &str) {
        let mut paths = self.0.borrow_mut();
        // An evaluation reads each file once (the evaluator keeps what it loaded), so this scan is rarely long.
        if !paths.iter().any(|known| known == path) {
            paths.push(path.to_owned());
        }
    }
}

/// The import tree and its search paths.
#[derive(Acyclic, Debug)]
pub struct TreeResolver {
    root: Mount,
    libraries: Vec<Mount>,
    import_paths: Vec<String>,
    files_read: FilesRead,
}

impl TreeResolver {
    /// A tree of `root` at the top, each library mount under its prefix, searching `import_paths` (tree
    /// directories) in order before the libraries.
    pub fn new(root: Mount, libraries: Vec<Mount>, import_paths: Vec<String>) -> Self {
        Self { root, libraries, import_paths, files_read: FilesRead::default() }
    }

    /// The log of the files this resolver has read for an evaluation (a handle sharing it).
    pub fn files_read(&self) -> FilesRead {
        self.files_read.clone()
    }

    /// The tree a request describes: its files or directory at the root, its libraries under their mount
    /// directories. Fails when a directory cannot be opened.
    pub fn for_request(request: &RenderRequest) -> Result<Self, RenderError> {
        let root = match &request.directory {
            Some(directory) => Mount::directory(String::new(), directory)?,
            None => Mount::memory(String::new(), request.files.clone()),
        };
        let mut libraries = Vec::with_capacity(request.libraries.len());
        for library in &request.libraries {
            let prefix = format!("{}/", library.mount_directory());
            libraries.push(match &library.directory {
                Some(directory) => Mount::directory(prefix, directory)?,
                None => Mount::memory(prefix, library.files.clone()),
            });
        }
        Ok(Self::new(root, libraries, request.import_paths.clone()))
    }

    /// Resolves `import` written in `importer` (a tree path, or `None` for code that is not a file, such as
    /// `--ext-code`, which resolves like a file at the root) to a tree path.
    pub fn resolve(&self, importer: Option<&str>, import: &str) -> Result<String, ImportFailure> {
        let forbidden = |why: &str| Err(ImportFailure::Forbidden(format!("{import:?}: {why}")));
        if import.starts_with('/') {
            return forbidden("absolute paths are not allowed");
        }
        if import.contains("://") || import.starts_with("file:") {
            return forbidden("URLs are not allowed, only files of the snippet and its libraries");
        }
        if import.contains(['\\', '\0']) {
            return forbidden("backslashes and NUL characters are not allowed");
        }
        let importer = importer.unwrap_or("");
        let root = self.mount_of(importer).prefix();
        let directory = importer.rsplit_once('/').map_or("", |(directory, _)| directory);
        let below_root = directory.strip_prefix(root.trim_end_matches('/')).unwrap_or(directory);
        let Some(relative) = normalize(&format!("{below_root}/{import}")) else {
            return forbidden(if root.is_empty() {
                "'..' climbs above the snippet's root"
            } else {
                "'..' climbs out of the library"
            });
        };
        let mut candidates = vec![format!("{root}{relative}")];
        if let Some(plain) = normalize(import) {
            let searched = self.import_paths.iter().map(|directory| format!("{directory}/{plain}"));
            let in_libraries = self.libraries.iter().map(|library| format!("{}{plain}", library.prefix()));
            for candidate in searched.chain(in_libraries).chain([plain.clone()]) {
                if !candidates.contains(&candidate) {
                    candidates.push(candidate);
                }
            }
        }
        for candidate in &candidates {
            match self.mount_of(candidate).contains(candidate) {
                Ok(true) => return Ok(candidate.clone()),
                Ok(false) => {}
                Err(why) => return forbidden(&why),
            }
        }
        Err(ImportFailure::NotFound(format!(
            "{import:?} (imported from {}; looked for {})",
            if importer.is_empty() { "the root" } else { importer },
            candidates.join(", ")
        )))
    }

    /// The mount a tree path belongs to: the library whose directory holds it, else the root. Its prefix is the
    /// root a file's relative imports may not leave.
    fn mount_of(&self, path: &str) -> &Mount {
        self.libraries.iter().find(|library| path.starts_with(library.prefix())).unwrap_or(&self.root)
    }

    /// The bytes of the tree file `path`, noted in [`Self::files_read`].
    pub fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let mount = self.mount_of(path);
        match mount.contains(path) {
            Ok(true) => {
                let bytes = mount.read(path).map_err(|why| format!("import not found: {why}"))?;
                self.files_read.note(path);
                Ok(bytes)
            }
            Ok(false) => Err(format!("import not found: {path:?}")),
            Err(why) => Err(format!("{FORBIDDEN_PREFIX}{path:?}: {why}")),
        }
    }
}

/// Joins `/`-separated segments, dropping empty and `.` segments and applying `..`; `None` if `..` climbs
/// above the start.
fn normalize(path: &str) -> Option<String> {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop()?;
            }
            other => segments.push(other),
        }
    }
    Some(segments.join("/"))
}

impl ImportResolver for TreeResolver {
    fn resolve_from(&self, from: &SourcePath, path: &dyn AsPathLike) -> jrsonnet_evaluator::Result<SourcePath> {
        let import = match path.as_path() {
            ResolvePath::Str(text) => text.to_owned(),
            ResolvePath::Path(path) => path.to_string_lossy().into_owned(),
        };
        let importer = from.downcast_ref::<TreeFile>().map(|file| file.0.as_str());
        match self.resolve(importer, &import) {
            Ok(found) => Ok(SourcePath::new(TreeFile(found))),
            Err(ImportFailure::Forbidden(why)) => {
                Err(ErrorKind::ImportCallbackError(format!("{FORBIDDEN_PREFIX}{why}")).into())
            }
            Err(ImportFailure::NotFound(why)) => {
                Err(ErrorKind::ImportCallbackError(format!("import not found: {why}")).into())
            }
        }
    }

    fn load_file_contents(&self, resolved: &SourcePath) -> jrsonnet_evaluator::Result<Vec<u8>> {
        if let Some(file) = resolved.downcast_ref::<TreeFile>() {
            return self.read(&file.0).map_err(|why| ErrorKind::ImportCallbackError(why).into());
        }
        // `--ext-code`/`--tla-code` values arrive as in-memory "fifo" sources.
        if let Some(inline) = resolved.downcast_ref::<SourceFifo>() {
            return Ok(inline.1.to_vec());
        }
        Err(ErrorKind::ImportCallbackError(format!("import not found: {resolved}")).into())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! Table-driven tests of import resolution.

    use std::collections::BTreeMap;

    use super::*;

    fn tree() -> TreeResolver {
        let snippet: BTreeMap<String, String> =
            ["main.jsonnet", "util.libsonnet", "sub/a.jsonnet", "sub/b.jsonnet", "shared.libsonnet", "data.txt"]
                .into_iter()
                .map(|p| (p.to_owned(), String::new()))
                .collect();
        let kube: BTreeMap<String, String> = ["kube.libsonnet", "inner/deep.libsonnet", "shared.libsonnet"]
            .into_iter()
            .map(|p| (p.to_owned(), String::new()))
            .collect();
        let mixin: BTreeMap<String, String> =
            ["mixin.libsonnet", "only-in-mixin.libsonnet"].into_iter().map(|p| (p.to_owned(), String::new())).collect();
        let libraries = vec![Mount::memory("kube/".to_owned(), kube), Mount::memory("mixin/".to_owned(), mixin)];
        TreeResolver::new(Mount::memory(String::new(), snippet), libraries, Vec::new())
    }

    #[test]
    fn resolution_table() {
        let tree = tree();
        let found = |s: &str| Ok(s.to_owned());
        let cases: Vec<(Option<&str>, &str, Result<String, &str>)> = vec![
            // relative to the importing file's directory
            (Some("main.jsonnet"), "util.libsonnet", found("util.libsonnet")),
            (Some("main.jsonnet"), "./sub/a.jsonnet", found("sub/a.jsonnet")),
            (Some("sub/a.jsonnet"), "b.jsonnet", found("sub/b.jsonnet")),
            (Some("sub/a.jsonnet"), "../util.libsonnet", found("util.libsonnet")),
            (Some("kube/inner/deep.libsonnet"), "../kube.libsonnet", found("kube/kube.libsonnet")),
            // the importing directory wins over search paths
            (Some("main.jsonnet"), "shared.libsonnet", found("shared.libsonnet")),
            (Some("kube/kube.libsonnet"), "shared.libsonnet", found("kube/shared.libsonnet")),
            // libraries as search paths, in order, then the tree root
            (Some("main.jsonnet"), "kube.libsonnet", found("kube/kube.libsonnet")),
            (Some("sub/a.jsonnet"), "inner/deep.libsonnet", found("kube/inner/deep.libsonnet")),
            (Some("kube/kube.libsonnet"), "only-in-mixin.libsonnet", found("mixin/only-in-mixin.libsonnet")),
            (Some("main.jsonnet"), "mixin/mixin.libsonnet", found("mixin/mixin.libsonnet")),
            (Some("sub/a.jsonnet"), "kube/kube.libsonnet", found("kube/kube.libsonnet")),
            (Some("kube/kube.libsonnet"), "mixin/mixin.libsonnet", found("mixin/mixin.libsonnet")),
            // code that is not a file resolves like a file at the root
            (None, "util.libsonnet", found("util.libsonnet")),
            (None, "kube.libsonnet", found("kube/kube.libsonnet")),
            (Some("main.jsonnet"), "data.txt", found("data.txt")),
            // escapes are forbidden
            (Some("main.jsonnet"), "/etc/passwd", Err("forbidden: \"/etc/passwd\": absolute")),
            (Some("main.jsonnet"), "../x", Err("forbidden: \"../x\": '..' climbs above the snippet's root")),
            (Some("sub/a.jsonnet"), "../../main.jsonnet", Err("forbidden")),
            (
                Some("kube/kube.libsonnet"),
                "../main.jsonnet",
                Err("forbidden: \"../main.jsonnet\": '..' climbs out of the library"),
            ),
            (Some("kube/inner/deep.libsonnet"), "../../mixin/mixin.libsonnet", Err("climbs out of the library")),
            (None, "../x", Err("forbidden")),
            (
                Some("main.jsonnet"),
                "http://example.com/x.libsonnet",
                Err("forbidden: \"http://example.com/x.libsonnet\": URLs"),
            ),
            (Some("main.jsonnet"), "file:///etc/passwd", Err("forbidden")),
            (Some("main.jsonnet"), "..\\x", Err("forbidden")),
            // unknown files are not found, naming the import and where it was looked for
            (
                Some("main.jsonnet"),
                "missing.libsonnet",
                Err(
                    "not found: \"missing.libsonnet\" (imported from main.jsonnet; looked for missing.libsonnet, kube/missing.libsonnet, mixin/missing.libsonnet",
                ),
            ),
            (Some("sub/a.jsonnet"), "../missing", Err("not found")),
            (Some("main.jsonnet"), "kube", Err("not found")),
            (Some("main.jsonnet"), "", Err("not found")),
        ];
        for (importer, import, expected) in cases {
            let got = tree.resolve(importer, import);
            match (&got, &expected) {
                (Ok(path), Ok(want)) => assert_eq!(path, want, "{importer:?} imports {import:?}"),
                (Err(failure), Err(fragment)) => {
                    let text = match failure {
                        ImportFailure::Forbidden(why) => format!("forbidden: {why}"),
                        ImportFailure::NotFound(why) => format!("not found: {why}"),
                    };
                    assert!(text.contains(fragment), "{importer:?} imports {import:?}: {text:?} lacks {fragment:?}");
                }
                _ => panic!("{importer:?} imports {import:?}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn import_paths_are_searched_in_order_before_libraries() {
        let files: BTreeMap<String, String> =
            ["main.jsonnet", "lib/a.libsonnet", "vendor/a.libsonnet", "vendor/b.libsonnet", "vendor/k/x.jsonnet"]
                .into_iter()
                .map(|p| (p.to_owned(), String::new()))
                .collect();
        let library = BTreeMap::from([("b.libsonnet".to_owned(), String::new())]);
        let tree = TreeResolver::new(
            Mount::memory(String::new(), files),
            vec![Mount::memory("m/".to_owned(), library)],
            vec!["lib".to_owned(), "vendor".to_owned()],
        );
        let cases = [
            (Some("main.jsonnet"), "a.libsonnet", "lib/a.libsonnet"),
            (Some("main.jsonnet"), "b.libsonnet", "vendor/b.libsonnet"),
            (Some("vendor/k/x.jsonnet"), "a.libsonnet", "lib/a.libsonnet"),
            (Some("vendor/k/x.jsonnet"), "../b.libsonnet", "vendor/b.libsonnet"),
            (Some("m/b.libsonnet"), "a.libsonnet", "lib/a.libsonnet"),
            (None, "k/x.jsonnet", "vendor/k/x.jsonnet"),
        ];
        for (importer, import, expected) in cases {
            assert_eq!(tree.resolve(importer, import), Ok(expected.to_owned()), "{importer:?} imports {import:?}");
        }
    }

    #[test]
    fn normalize_rejects_climbing_above_the_start() {
        assert_eq!(normalize("a/./b//c").as_deref(), Some("a/b/c"));
        assert_eq!(normalize("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize("a/../../b"), None);
        assert_eq!(normalize("..").as_deref(), None);
    }
}
