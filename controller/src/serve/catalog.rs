//! The snippets `jaas serve` renders: `<name>/main.jsonnet` under each `--snippet-directory` (names may contain
//! `/`) and each `--snippet FILE` (named after the file without `.jsonnet`, and, as in the one-binary design, by
//! the path as given, e.g. `examples/example.jsonnet`). [`Catalog::entry_file`] turns a
//! name from a URL into a file, and never into one outside the snippet roots: names are checked segment by
//! segment after percent-decoding, and the resolved file (every symlink followed) must lie inside its root.

use std::path::{Path, PathBuf};

/// The entry file of a snippet directory.
pub const ENTRY_FILE: &str = "main.jsonnet";

/// Where snippets are looked up.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Canonical `--snippet-directory` roots, searched in order.
    directories: Vec<PathBuf>,
    /// `--snippet` files: (name, canonical path).
    files: Vec<(String, PathBuf)>,
}

/// Why a name does not lead to a snippet; both are answered with `snippet_not_found` (a refused name is not
/// told apart from a missing one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The name is not a clean relative path (empty or `.`/`..` segments, backslashes, NUL, bad escapes).
    Refused(String),
    /// No root holds the snippet.
    Missing,
}

impl Catalog {
    /// A catalog of `directories` and `files`; each must exist (checked once, at start).
    pub fn open(directories: &[PathBuf], files: &[PathBuf]) -> Result<Self, String> {
        let canonical = |path: &Path, what: &str| {
            path.canonicalize().map_err(|error| format!("{what} {}: {error}", path.display()))
        };
        let directories =
            directories.iter().map(|dir| canonical(dir, "--snippet-directory")).collect::<Result<Vec<_>, _>>()?;
        if let Some(dir) = directories.iter().find(|dir| !dir.is_dir()) {
            return Err(format!("--snippet-directory {} is not a directory", dir.display()));
        }
        let mut named = Vec::new();
        for file in files {
            let path = canonical(file, "--snippet")?;
            let name = file
                .file_name()
                .and_then(|name| name.to_str())
                .map(|name| name.strip_suffix(".jsonnet").unwrap_or(name).to_owned())
                .filter(|name| !name.is_empty())
                .ok_or_else(|| format!("--snippet {}: cannot name a snippet after this file", file.display()))?;
            let as_given = file.to_string_lossy().trim_start_matches("./").trim_start_matches('/').to_owned();
            for name in [name, as_given] {
                if named.iter().any(|(other, other_path)| *other == name && *other_path != path) {
                    return Err(format!("--snippet: two files are named {name:?}"));
                }
                named.push((name, path.clone()));
            }
        }
        if directories.is_empty() && named.is_empty() {
            return Err("give at least one --snippet-directory DIR or --snippet FILE".to_owned());
        }
        Ok(Self { directories, files: named })
    }

    /// Every root, for stripping host paths from messages and for watching changes.
    pub fn roots(&self) -> Vec<PathBuf> {
        let files = self.files.iter().filter_map(|(_, path)| path.parent().map(Path::to_path_buf));
        self.directories.iter().cloned().chain(files).collect()
    }

    /// The entry file of the snippet named by `raw` (the URL path after the endpoint, still percent-encoded).
    pub fn entry_file(&self, raw: &str) -> Result<PathBuf, Lookup> {
        let name = decode_name(raw)?;
        if let Some((_, path)) = self.files.iter().find(|(file_name, _)| *file_name == name) {
            return Ok(path.clone());
        }
        for root in &self.directories {
            let Ok(entry) = root.join(&name).join(ENTRY_FILE).canonicalize() else { continue };
            if entry.starts_with(root) && entry.is_file() {
                return Ok(entry);
            }
        }
        Err(Lookup::Missing)
    }
}

/// A snippet name from a URL path: percent-decoded segment by segment, each a plain file name.
fn decode_name(raw: &str) -> Result<String, Lookup> {
    let refused = |why: &str| Err(Lookup::Refused(format!("{raw:?}: {why}")));
    let raw = raw.strip_suffix('/').unwrap_or(raw);
    if raw.is_empty() {
        return refused("no snippet name");
    }
    let mut segments = Vec::new();
    for segment in raw.split('/') {
        let Some(decoded) = percent_decode(segment) else { return refused("invalid percent-encoding") };
        if decoded.is_empty() || decoded == "." || decoded == ".." {
            return refused("empty, `.` and `..` segments are not allowed");
        }
        if decoded.contains(['/', '\\', '\0']) {
            return refused("encoded `/`, `\\` and NUL are not allowed");
        }
        segments.push(decoded);
    }
    Ok(segments.join("/"))
}

/// `%XX`-decodes `segment` into UTF-8; `None` for a bad escape or invalid UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn snippet_tree() -> (tempfile::TempDir, Catalog) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("snippets");
        for name in ["web", "teams/a/app"] {
            std::fs::create_dir_all(root.join(name)).unwrap();
            std::fs::write(root.join(name).join(ENTRY_FILE), "{}").unwrap();
        }
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        std::fs::write(dir.path().join("outside").join(ENTRY_FILE), "{}").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside"), root.join("escape")).unwrap();
        std::fs::write(dir.path().join("single.jsonnet"), "{}").unwrap();
        let catalog = Catalog::open(&[root], &[dir.path().join("single.jsonnet")]).unwrap();
        (dir, catalog)
    }

    #[test]
    fn names_resolve_to_entry_files_inside_the_roots_only() {
        let (dir, catalog) = snippet_tree();
        let root = dir.path().join("snippets").canonicalize().unwrap();
        assert_eq!(catalog.entry_file("web").unwrap(), root.join("web/main.jsonnet"));
        assert_eq!(catalog.entry_file("teams/a/app").unwrap(), root.join("teams/a/app/main.jsonnet"));
        assert_eq!(catalog.entry_file("te%61ms/a/app/").unwrap(), root.join("teams/a/app/main.jsonnet"));
        assert!(catalog.entry_file("single").unwrap().ends_with("single.jsonnet"));
        let as_given = dir.path().join("single.jsonnet").to_string_lossy().trim_start_matches('/').to_owned();
        assert!(catalog.entry_file(&as_given).unwrap().ends_with("single.jsonnet"), "the path as given");
        assert_eq!(catalog.entry_file("nope"), Err(Lookup::Missing));
        assert_eq!(catalog.entry_file("escape"), Err(Lookup::Missing), "a symlink out of the root");
        assert_eq!(catalog.entry_file("teams"), Err(Lookup::Missing), "a directory without main.jsonnet");
        for hostile in
            ["..", "../outside", "web/..", "%2e%2e", "%2E%2E/outside", "a%2fb", "a%5cb", "a%00", "a//b", "%zz", "%c3"]
        {
            assert!(matches!(catalog.entry_file(hostile), Err(Lookup::Refused(_))), "{hostile}");
        }
    }

    #[test]
    fn a_catalog_needs_existing_roots() {
        assert!(Catalog::open(&[], &[]).unwrap_err().contains("--snippet-directory"));
        let error = Catalog::open(&[PathBuf::from("/no/such/dir")], &[]).unwrap_err();
        assert!(error.contains("/no/such/dir"), "{error}");
    }
}
