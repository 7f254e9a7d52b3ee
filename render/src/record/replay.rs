//! A record back into a request that renders the same tarball: the recorded files in memory, as the controller
//! sends a snippet's own files, or, when one of them is not text (an `importbin` of a binary file in a source
//! tree), written into a scratch directory and mounted from there as the source tree was.

use std::{collections::BTreeMap, fs, path::Path};

use super::{RecordError, RevisionRecord};
use crate::{Library, RenderRequest};

impl RevisionRecord {
    /// The request to render this revision again. `scratch` is an empty directory, used (and to be kept until the
    /// render is done) only when a recorded file is not text.
    pub fn replay_request(&self, scratch: &Path) -> Result<RenderRequest, RecordError> {
        let recorded = &self.request;
        let contents = self.inputs.contents()?;
        let all_text = contents.values().all(|bytes| std::str::from_utf8(bytes).is_ok());
        let mut request = RenderRequest {
            entry_file: recorded.entry_file.clone(),
            import_paths: recorded.import_paths.clone(),
            libraries: recorded
                .libraries
                .iter()
                .map(|library| Library {
                    name: library.name.clone(),
                    import_path: (library.mounted_at != library.name).then(|| library.mounted_at.clone()),
                    ..Library::default()
                })
                .collect(),
            ext_vars: recorded.ext_vars.clone(),
            tlas: recorded.tlas.clone(),
            output: recorded.output,
            ..RenderRequest::default()
        };
        let mut root_files = BTreeMap::new();
        let mut library_files: Vec<BTreeMap<String, String>> = vec![BTreeMap::new(); request.libraries.len()];
        for (path, bytes) in contents.iter() {
            let (mount, within) = self.mount_of(path);
            if all_text {
                let text = String::from_utf8_lossy(bytes).into_owned();
                match mount {
                    Some(index) => library_files[index].insert(within.to_owned(), text),
                    None => root_files.insert(within.to_owned(), text),
                };
            } else {
                let directory =
                    mount.map_or_else(|| scratch.join("root"), |index| scratch.join(format!("library-{index}")));
                write_file(&directory, within, bytes)?;
            }
        }
        if all_text {
            request.files = root_files;
            for (library, files) in request.libraries.iter_mut().zip(library_files) {
                library.files = files;
            }
        } else {
            request.directory = Some(make_dir(&scratch.join("root"))?);
            for (index, library) in request.libraries.iter_mut().enumerate() {
                library.directory = Some(make_dir(&scratch.join(format!("library-{index}")))?);
            }
        }
        Ok(request)
    }

    /// The library a tree path belongs to (`None`: the root) and the path within it.
    fn mount_of<'p>(&self, path: &'p str) -> (Option<usize>, &'p str) {
        for (index, library) in self.request.libraries.iter().enumerate() {
            if let Some(within) = path.strip_prefix(&library.mounted_at).and_then(|rest| rest.strip_prefix('/')) {
                return (Some(index), within);
            }
        }
        (None, path)
    }
}

/// Writes a recorded file below `directory`, refusing a path that is not clean and relative (a record is input
/// from storage: it must not write elsewhere).
fn write_file(directory: &Path, path: &str, bytes: &[u8]) -> Result<(), RecordError> {
    crate::request::check_file_path(path)
        .map_err(|why| RecordError::Invalid(format!("recorded file {path:?}: {why}")))?;
    let target = directory.join(path);
    let io_error = |error: std::io::Error| RecordError::Invalid(format!("cannot write {path:?}: {error}"));
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io_error)?;
    }
    fs::write(&target, bytes).map_err(io_error)
}

fn make_dir(directory: &Path) -> Result<std::path::PathBuf, RecordError> {
    fs::create_dir_all(directory)
        .map_err(|error| RecordError::Invalid(format!("cannot create {}: {error}", directory.display())))?;
    Ok(directory.to_path_buf())
}
