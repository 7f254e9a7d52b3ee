//! The files of `output: source`: the request's tree, unevaluated, as tarball entries. In-memory files are taken as
//! they are; a directory is walked with the import sandbox's rule (nothing whose real path lies outside it).

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use crate::{RenderError, RenderRequest, tarball::TarEntry};

/// Walking a directory stops here: a source artifact should not ship a whole disk.
const MAX_DIRECTORY_FILES: usize = 10_000;
const MAX_DIRECTORY_BYTES: u64 = 64 * 1024 * 1024;

/// The snippet's files at the root and each library's under its mount directory.
pub fn source_entries(request: &RenderRequest) -> Result<Vec<TarEntry>, RenderError> {
    let root = match &request.directory {
        Some(directory) => load_directory(directory)?,
        None => request.files.clone(),
    };
    let mut entries: Vec<TarEntry> =
        root.into_iter().map(|(path, content)| TarEntry { path, content: content.into_bytes() }).collect();
    for library in &request.libraries {
        let files = match &library.directory {
            Some(directory) => load_directory(directory)?,
            None => library.files.clone(),
        };
        let mount = library.mount_directory();
        entries.extend(
            files
                .into_iter()
                .map(|(path, content)| TarEntry { path: format!("{mount}/{path}"), content: content.into_bytes() }),
        );
    }
    Ok(entries)
}

/// All regular UTF-8 files below `root`, keyed by `/`-separated relative path. Hidden entries, entries whose real
/// path lies outside `root` and directories reached through a symlink (their files are listed under their real
/// path, or lie outside) are skipped.
fn load_directory(root: &Path) -> Result<BTreeMap<String, String>, RenderError> {
    let io_error =
        |path: &Path, error: std::io::Error| RenderError::InvalidSpec(format!("{}: {error}", path.display()));
    let root = fs::canonicalize(root).map_err(|e| io_error(root, e))?;
    let mut files = BTreeMap::new();
    let mut total_bytes = 0_u64;
    let mut pending: Vec<(PathBuf, String)> = vec![(root.clone(), String::new())];
    while let Some((directory, prefix)) = pending.pop() {
        for dir_entry in fs::read_dir(&directory).map_err(|e| io_error(&directory, e))? {
            let dir_entry = dir_entry.map_err(|e| io_error(&directory, e))?;
            let name = dir_entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = dir_entry.path();
            let relative = format!("{prefix}{name}");
            let is_link = dir_entry.file_type().map_err(|e| io_error(&path, e))?.is_symlink();
            let Ok(real) = fs::canonicalize(&path) else { continue };
            if !real.starts_with(&root) {
                continue;
            }
            if real.is_dir() {
                if !is_link {
                    pending.push((path, format!("{relative}/")));
                }
            } else if real.is_file() {
                total_bytes += fs::metadata(&real).map_err(|e| io_error(&path, e))?.len();
                if files.len() >= MAX_DIRECTORY_FILES || total_bytes > MAX_DIRECTORY_BYTES {
                    return Err(RenderError::InvalidSpec(format!(
                        "{} holds too many files for a source artifact (at most {MAX_DIRECTORY_FILES} files and \
                         {MAX_DIRECTORY_BYTES} bytes)",
                        root.display()
                    )));
                }
                // Files that are not UTF-8 text cannot be imported as Jsonnet or strings; skip them.
                if let Ok(content) = fs::read_to_string(&real) {
                    files.insert(relative, content);
                }
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Library;

    #[test]
    fn a_directory_tree_ships_its_files_once_and_nothing_outside() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "s").unwrap();
        let tree = tempfile::tempdir().unwrap();
        let root = tree.path();
        fs::create_dir_all(root.join("vendor/github.com/x/lib")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join("main.jsonnet"), "{}").unwrap();
        fs::write(root.join(".git/config"), "x").unwrap();
        fs::write(root.join("vendor/github.com/x/lib/a.libsonnet"), "1").unwrap();
        std::os::unix::fs::symlink("github.com/x/lib", root.join("vendor/lib")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("out")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.join("secret")).unwrap();
        let library = tempfile::tempdir().unwrap();
        fs::write(library.path().join("k.libsonnet"), "2").unwrap();
        let request = RenderRequest {
            entry_file: "main.jsonnet".to_owned(),
            directory: Some(root.to_path_buf()),
            libraries: vec![Library {
                name: "k".to_owned(),
                import_path: Some("kube".to_owned()),
                directory: Some(library.path().to_path_buf()),
                ..Library::default()
            }],
            ..RenderRequest::default()
        };
        let mut paths: Vec<String> = source_entries(&request).unwrap().into_iter().map(|entry| entry.path).collect();
        paths.sort();
        assert_eq!(paths, ["kube/k.libsonnet", "main.jsonnet", "vendor/github.com/x/lib/a.libsonnet"]);
    }
}
