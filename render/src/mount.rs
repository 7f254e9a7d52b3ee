//! One part of the import tree and where its files come from: a map in memory (a snippet's or a library's files
//! inlined in a Kubernetes object) or a directory on disk (a checked-out jsonnet-bundler project), read only when an
//! import names a file.
//!
//! A directory mount never reads outside its directory: a path is resolved on disk (symlinks included, so jb's
//! legacy `vendor/<name>` links work) and refused when the result lies elsewhere. Messages name tree paths, never
//! host paths.

use std::{
    cell::RefCell,
    collections::{BTreeMap, HashMap},
    fs,
    path::{Path, PathBuf},
};

use jrsonnet_gcmodule::Acyclic;

use crate::RenderError;

/// Where a mount's files come from.
#[derive(Debug)]
pub enum MountSource {
    /// Files keyed by clean relative paths.
    Memory(BTreeMap<String, String>),
    /// A directory on disk, canonical (symlinks resolved), so containment is a prefix check.
    Directory(PathBuf),
}

/// What a path of a mount is on disk, once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Located {
    /// A regular file inside the mount, at this host path.
    File(PathBuf),
    /// Nothing (or no regular file) by that name.
    Missing,
    /// The path resolves to somewhere outside the mount.
    Outside,
}

/// What a directory of a mount is on disk, once resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RealDirectory {
    /// A directory inside the mount, at this real path.
    Inside(PathBuf),
    /// Nothing (or no directory) by that name.
    Missing,
    /// The path resolves to somewhere outside the mount.
    Outside,
}

/// A part of the import tree: the tree root (prefix `""`) or a library (prefix `<mount directory>/`).
#[derive(Acyclic, Debug)]
pub struct Mount {
    prefix: String,
    source: MountSource,
    /// Directory lookups already made, by path within the mount: an import evaluated many times costs one lookup.
    located: RefCell<HashMap<String, Located>>,
    /// The directories looked in so far, by path within the mount.
    directories: RefCell<HashMap<String, RealDirectory>>,
}

impl Mount {
    /// A mount of in-memory files under `prefix` (`""` or `<directory>/`).
    pub fn memory(prefix: String, files: BTreeMap<String, String>) -> Self {
        Self {
            prefix,
            source: MountSource::Memory(files),
            located: RefCell::default(),
            directories: RefCell::default(),
        }
    }

    /// A mount of the directory `directory` under `prefix`; fails when the directory cannot be resolved.
    pub fn directory(prefix: String, directory: &Path) -> Result<Self, RenderError> {
        let canonical = fs::canonicalize(directory).map_err(|error| {
            RenderError::InvalidSpec(format!("cannot open the tree directory {}: {error}", directory.display()))
        })?;
        if !canonical.is_dir() {
            return Err(RenderError::InvalidSpec(format!("{} is not a directory", directory.display())));
        }
        Ok(Self {
            prefix,
            source: MountSource::Directory(canonical),
            located: RefCell::default(),
            directories: RefCell::default(),
        })
    }

    /// The tree prefix of this mount: `""` for the root, `<directory>/` for a library.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the tree path `path` (below this mount's prefix) names a file of this mount. `Err` carries why the
    /// path is forbidden: it leads outside the mount through a symlink.
    pub fn contains(&self, path: &str) -> Result<bool, String> {
        let within = self.within(path);
        match &self.source {
            MountSource::Memory(files) => Ok(files.contains_key(within)),
            MountSource::Directory(root) => match self.locate(root, within) {
                Located::File(_) => Ok(true),
                Located::Missing => Ok(false),
                Located::Outside => Err(format!("{path} resolves through a symlink to a place outside the tree")),
            },
        }
    }

    /// The bytes of the file at tree path `path`, which [`Mount::contains`] accepted.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let within = self.within(path);
        match &self.source {
            MountSource::Memory(files) => files
                .get(within)
                .map(|content| content.as_bytes().to_vec())
                .ok_or_else(|| format!("{path}: no such file")),
            MountSource::Directory(root) => match self.locate(root, within) {
                Located::File(host) => fs::read(host).map_err(|error| format!("{path}: cannot read it: {error}")),
                Located::Missing => Err(format!("{path}: no such file")),
                Located::Outside => Err(format!("{path} resolves through a symlink to a place outside the tree")),
            },
        }
    }

    fn within<'p>(&self, path: &'p str) -> &'p str {
        path.strip_prefix(&self.prefix).unwrap_or(path)
    }

    /// Resolves `within` below `root` on disk, once per path.
    fn locate(&self, root: &Path, within: &str) -> Located {
        if let Some(known) = self.located.borrow().get(within) {
            return known.clone();
        }
        let located = self.resolve(root, within);
        self.located.borrow_mut().insert(within.to_owned(), located.clone());
        located
    }

    /// Where `within` really is. Its directory is resolved once for all its files (a jsonnet-bundler render imports
    /// hundreds of files from a few dozen directories); a plain file in a directory inside the tree is inside, and
    /// only a symlink is followed to its end. A path whose directory lies outside the tree is outside, even if a
    /// link there leads back in.
    fn resolve(&self, root: &Path, within: &str) -> Located {
        let (directory, name) = within.rsplit_once('/').unwrap_or(("", within));
        let real_directory = match self.real_directory(root, directory) {
            RealDirectory::Inside(real) => real,
            RealDirectory::Missing => return Located::Missing,
            RealDirectory::Outside => return Located::Outside,
        };
        let path = real_directory.join(name);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_file() => Located::File(path),
            // A missing file, a dangling link, a path through a file or a directory: nothing to import either way.
            Ok(meta) if meta.file_type().is_symlink() => match fs::canonicalize(&path) {
                Ok(real) if !real.starts_with(root) => Located::Outside,
                Ok(real) if real.is_file() => Located::File(real),
                Ok(_) | Err(_) => Located::Missing,
            },
            Ok(_) | Err(_) => Located::Missing,
        }
    }

    /// Where the tree directory `directory` (`""`: the root) really is, resolved once per directory.
    fn real_directory(&self, root: &Path, directory: &str) -> RealDirectory {
        if directory.is_empty() {
            return RealDirectory::Inside(root.to_path_buf());
        }
        if let Some(known) = self.directories.borrow().get(directory) {
            return known.clone();
        }
        let real = match fs::canonicalize(root.join(directory)) {
            Ok(real) if !real.starts_with(root) => RealDirectory::Outside,
            Ok(real) if real.is_dir() => RealDirectory::Inside(real),
            Ok(_) | Err(_) => RealDirectory::Missing,
        };
        self.directories.borrow_mut().insert(directory.to_owned(), real.clone());
        real
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_mount_reads_inside_and_refuses_links_out() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "s").unwrap();
        let tree = tempfile::tempdir().unwrap();
        let root = tree.path();
        fs::create_dir_all(root.join("vendor/github.com/x/lib/sub")).unwrap();
        fs::write(root.join("vendor/github.com/x/lib/sub/a.libsonnet"), "1").unwrap();
        std::os::unix::fs::symlink("github.com/x/lib/sub", root.join("vendor/a")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("secret")).unwrap();
        std::os::unix::fs::symlink("nowhere", root.join("dangling")).unwrap();
        std::os::unix::fs::symlink("vendor/a/a.libsonnet", root.join("alias.libsonnet")).unwrap();
        std::os::unix::fs::symlink(root.join("alias.libsonnet"), outside.path().join("back")).unwrap();
        let mount = Mount::directory(String::new(), root).unwrap();
        let cases: [(&str, Result<bool, &str>); 9] = [
            ("alias.libsonnet", Ok(true)),
            ("out/back", Err("out/back resolves through a symlink to a place outside the tree")),
            ("vendor/github.com/x/lib/sub/a.libsonnet", Ok(true)),
            ("vendor/a/a.libsonnet", Ok(true)),
            ("vendor/a", Ok(false)),
            ("dangling", Ok(false)),
            ("missing.libsonnet", Ok(false)),
            ("out/secret", Err("out/secret resolves through a symlink to a place outside the tree")),
            ("secret", Err("secret resolves through a symlink")),
        ];
        for (path, expected) in cases {
            match (mount.contains(path), expected) {
                (Ok(found), Ok(want)) => assert_eq!(found, want, "{path}"),
                (Err(why), Err(fragment)) => {
                    assert!(why.contains(fragment), "{path}: {why:?} lacks {fragment:?}");
                    assert!(!why.contains(&outside.path().display().to_string()), "{why:?} shows a host path");
                }
                (got, want) => panic!("{path}: got {got:?}, expected {want:?}"),
            }
        }
        assert_eq!(mount.read("vendor/a/a.libsonnet").unwrap(), b"1");
        assert!(mount.read("out/secret").is_err());
    }

    #[test]
    fn a_library_mount_strips_its_prefix() {
        let files = BTreeMap::from([("k.libsonnet".to_owned(), "{}".to_owned())]);
        let mount = Mount::memory("kube/".to_owned(), files);
        assert_eq!(mount.contains("kube/k.libsonnet"), Ok(true));
        assert_eq!(mount.contains("kube/x.libsonnet"), Ok(false));
        assert_eq!(mount.read("kube/k.libsonnet").unwrap(), b"{}");
        assert!(Mount::directory(String::new(), Path::new("/nonexistent/jaas-tree")).is_err());
    }
}
