//! A plain Jsonnet entry file on disk as a [`RenderRequest`]: the files of its directory form the snippet and
//! each `-J` directory becomes a library named after the directory.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use crate::{Library, OutputMode, RenderError, RenderRequest};

/// Loading a directory stops here: a plain entry file should live in a directory of its own.
const MAX_DIRECTORY_FILES: usize = 10_000;
const MAX_DIRECTORY_BYTES: u64 = 64 * 1024 * 1024;

/// Builds the request for a plain Jsonnet entry file: the files of its directory (recursively, hidden
/// entries skipped) form the snippet, and each `-J` directory becomes a library named after the directory.
pub fn plain_request(entry: &Path, jpaths: &[PathBuf]) -> Result<RenderRequest, RenderError> {
    let entry = fs::canonicalize(entry)
        .map_err(|error| RenderError::InvalidSpec(format!("cannot read {}: {error}", entry.display())))?;
    let (Some(directory), Some(entry_name)) = (entry.parent(), entry.file_name()) else {
        return Err(RenderError::InvalidSpec(format!("{} is not a file", entry.display())));
    };
    let mut libraries: Vec<Library> = Vec::new();
    for jpath in jpaths {
        let canonical = fs::canonicalize(jpath)
            .map_err(|error| RenderError::InvalidSpec(format!("-J {}: {error}", jpath.display())))?;
        let name = canonical.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if libraries.iter().any(|library| library.name == name) {
            return Err(RenderError::InvalidSpec(format!("two -J directories are named {name:?}")));
        }
        libraries.push(Library { name, files: load_directory(&canonical)? });
    }
    let mut files = load_directory(directory)?;
    // A -J directory inside the entry's directory is mounted as a library, not loaded twice.
    files.retain(|path, _| !libraries.iter().any(|library| path.starts_with(&format!("{}/", library.name))));
    Ok(RenderRequest {
        entry_file: entry_name.to_string_lossy().into_owned(),
        files,
        libraries,
        ext_vars: Vec::new(),
        tlas: Vec::new(),
        output: OutputMode::Rendered,
    })
}

/// All regular UTF-8 files below `root`, keyed by `/`-separated relative path; hidden entries are skipped.
fn load_directory(root: &Path) -> Result<BTreeMap<String, String>, RenderError> {
    let mut files = BTreeMap::new();
    let mut total_bytes = 0_u64;
    let mut pending = vec![(root.to_path_buf(), String::new())];
    let io_error =
        |path: &Path, error: std::io::Error| RenderError::InvalidSpec(format!("{}: {error}", path.display()));
    while let Some((directory, prefix)) = pending.pop() {
        for dir_entry in fs::read_dir(&directory).map_err(|e| io_error(&directory, e))? {
            let dir_entry = dir_entry.map_err(|e| io_error(&directory, e))?;
            let name = dir_entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = dir_entry.path();
            let relative = format!("{prefix}{name}");
            let metadata = fs::metadata(&path).map_err(|e| io_error(&path, e))?;
            if metadata.is_dir() {
                pending.push((path, format!("{relative}/")));
            } else if metadata.is_file() {
                total_bytes += metadata.len();
                if files.len() >= MAX_DIRECTORY_FILES || total_bytes > MAX_DIRECTORY_BYTES {
                    return Err(RenderError::InvalidSpec(format!(
                        "{} holds too many files to load; put the entry file in a directory of its own",
                        root.display()
                    )));
                }
                // Files that are not UTF-8 text cannot be imported as Jsonnet or strings; skip them.
                if let Ok(content) = fs::read_to_string(&path) {
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

    #[test]
    fn plain_entry_loads_its_directory_and_jpaths() {
        let root = tempfile::tempdir().unwrap();
        let app = root.path().join("app");
        let vendor = root.path().join("vendor");
        fs::create_dir_all(app.join("sub")).unwrap();
        fs::create_dir_all(app.join(".git")).unwrap();
        fs::create_dir_all(&vendor).unwrap();
        fs::write(app.join("main.jsonnet"), "{}").unwrap();
        fs::write(app.join("sub/x.libsonnet"), "1").unwrap();
        fs::write(app.join(".git/config"), "x").unwrap();
        fs::write(vendor.join("v.libsonnet"), "2").unwrap();
        let request = plain_request(&app.join("main.jsonnet"), &[vendor]).unwrap();
        assert_eq!(request.entry_file, "main.jsonnet");
        assert_eq!(request.files.keys().collect::<Vec<_>>(), ["main.jsonnet", "sub/x.libsonnet"]);
        assert_eq!(request.libraries.len(), 1);
        assert_eq!(request.libraries[0].name, "vendor");
        assert_eq!(request.libraries[0].files.keys().collect::<Vec<_>>(), ["v.libsonnet"]);
    }
}
