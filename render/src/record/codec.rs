//! A record's bytes: a tar compressed with zstd, `record.json` first, then each file read under `files/<tree path>`
//! with its bytes as they were (no escaping, no base64), written as the reproducible tarball's entries are (mode
//! 0644, uid/gid 0, mtime 0). The tar is two zstd frames, which any zstd reader reads as one stream: the first holds
//! `record.json`, the second the files and the tar's end, packed by the worker that read them
//! ([`super::inputs`]). Decoding is bounded, so a hostile or corrupt record cannot make the reader allocate without
//! limit, refuses a schema this version does not know, and accepts only the files `record.json` lists, under clean
//! relative paths.

use std::collections::BTreeMap;
use std::io::Read;

use super::inputs::{FILES_DIR, LEVEL, PackedInputs};
use super::{RECORD_SCHEMA, RecordedFiles, RevisionRecord};
use crate::RenderError;
use crate::request::check_file_path;

/// The first entry: the record without the files' bytes.
const RECORD_JSON: &str = "record.json";
/// The end of a tar: two zero blocks.
const TAR_END_BYTES: usize = 1024;

/// The most a record may decompress to. A record holds the files a render read: a kube-prometheus render reads a
/// few MiB; 256 MiB is far above any real one and still bounded.
pub const MAX_DECODED_RECORD_BYTES: u64 = 256 * 1024 * 1024;

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not zstd or not a tar, truncated, or larger than [`MAX_DECODED_RECORD_BYTES`] once decompressed.
    #[error("not a readable revision record: {0}")]
    Unreadable(String),
    /// A record of a schema this version does not read.
    #[error("the record's schema is {found:?}; this version of jaas reads {RECORD_SCHEMA:?}")]
    UnknownSchema {
        /// The schema the record names.
        found: String,
    },
    /// Readable, but not a valid record of its schema.
    #[error("an invalid revision record: {0}")]
    Invalid(String),
}

impl RevisionRecord {
    /// The record's stored bytes.
    pub fn encode(&self) -> Result<Vec<u8>, RenderError> {
        let failed =
            |error: std::io::Error| RenderError::Internal(format!("cannot encode the revision record: {error}"));
        let json = serde_json::to_vec(self).map_err(|error| failed(error.into()))?;
        let mut header = tar::Builder::new(Vec::new());
        append(&mut header, RECORD_JSON, &json).map_err(failed)?;
        let mut header = header.into_inner().map_err(failed)?;
        // The tar goes on in the inputs' frame, which ends it.
        header.truncate(header.len() - TAR_END_BYTES);
        let mut bytes = zstd::bulk::compress(&header, LEVEL).map_err(failed)?;
        let packed;
        let inputs = match &self.inputs {
            RecordedFiles::Packed(inputs) => inputs,
            RecordedFiles::Unpacked(files) => {
                packed = PackedInputs::pack(files.iter().map(|(path, bytes)| (path.as_str(), bytes.as_slice())))?;
                &packed
            }
        };
        bytes.extend_from_slice(inputs.frame());
        Ok(bytes)
    }

    /// Reads a record's stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        Self::decode_at_most(bytes, MAX_DECODED_RECORD_BYTES)
    }

    /// [`Self::decode`], refusing a record that decompresses to more than `max_bytes`.
    pub(super) fn decode_at_most(bytes: &[u8], max_bytes: u64) -> Result<Self, RecordError> {
        let unreadable = |error: std::io::Error| RecordError::Unreadable(error.to_string());
        let mut bounded = bounded_decoder(bytes, max_bytes)?;
        let mut archive = tar::Archive::new(&mut bounded);
        let mut entries = archive.entries().map_err(unreadable)?;
        let mut record = match entries.next() {
            Some(first) => read_record_json(first.map_err(unreadable)?)?,
            None => return Err(RecordError::Invalid(format!("it is empty; {RECORD_JSON} comes first"))),
        };
        let contents = read_file_entries(entries)?;
        let listed: Vec<&String> = record.request.files.iter().collect();
        let present: Vec<&String> = contents.keys().collect();
        if listed != present {
            return Err(RecordError::Invalid(format!(
                "{RECORD_JSON} lists {} files, the record holds {} others or more",
                listed.len(),
                present.len()
            )));
        }
        record.inputs = RecordedFiles::Unpacked(contents);
        Ok(record)
    }
}

/// The files of a tar of `files/` entries (packed inputs alone), decompressing at most `max_bytes`.
pub(super) fn read_files(compressed: &[u8], max_bytes: u64) -> Result<BTreeMap<String, Vec<u8>>, RecordError> {
    let mut bounded = bounded_decoder(compressed, max_bytes)?;
    let mut archive = tar::Archive::new(&mut bounded);
    read_file_entries(archive.entries().map_err(|error| RecordError::Unreadable(error.to_string()))?)
}

/// A zstd reader of `compressed` (every frame in turn) that fails past `max_bytes`.
fn bounded_decoder(compressed: &[u8], max_bytes: u64) -> Result<Bounded<impl Read + '_>, RecordError> {
    let decoder =
        zstd::stream::read::Decoder::new(compressed).map_err(|error| RecordError::Unreadable(error.to_string()))?;
    Ok(Bounded { inner: decoder, left: max_bytes, max_bytes })
}

/// The `files/` entries left in a tar, by tree path: each a clean relative path, none twice.
fn read_file_entries(entries: tar::Entries<'_, impl Read>) -> Result<BTreeMap<String, Vec<u8>>, RecordError> {
    let unreadable = |error: std::io::Error| RecordError::Unreadable(error.to_string());
    let mut contents = BTreeMap::new();
    for entry in entries {
        let mut entry = entry.map_err(unreadable)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = name
            .strip_prefix(FILES_DIR)
            .ok_or_else(|| RecordError::Invalid(format!("unexpected entry {name:?}")))?
            .to_owned();
        check_file_path(&path).map_err(|why| RecordError::Invalid(format!("entry {name:?}: {why}")))?;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(unreadable)?;
        if contents.insert(path, bytes).is_some() {
            return Err(RecordError::Invalid(format!("entry {name:?} appears twice")));
        }
    }
    Ok(contents)
}

/// Appends one regular file the way the reproducible tarball does.
pub(super) fn append(tar: &mut tar::Builder<impl std::io::Write>, path: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, bytes)
}

/// Reads `record.json`, schema first, so that a record of another schema is named as such, not as invalid.
fn read_record_json(mut entry: tar::Entry<'_, impl Read>) -> Result<RevisionRecord, RecordError> {
    let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    if name != RECORD_JSON {
        return Err(RecordError::Invalid(format!("the first entry is {name:?}, not {RECORD_JSON}")));
    }
    let mut json = Vec::new();
    entry.read_to_end(&mut json).map_err(|error| RecordError::Unreadable(error.to_string()))?;
    let schema: Schema =
        serde_json::from_slice(&json).map_err(|error| RecordError::Invalid(format!("{RECORD_JSON}: {error}")))?;
    if schema.schema != RECORD_SCHEMA {
        return Err(RecordError::UnknownSchema { found: schema.schema });
    }
    serde_json::from_slice(&json).map_err(|error| RecordError::Invalid(format!("{RECORD_JSON}: {error}")))
}

/// Only the schema field.
#[derive(serde::Deserialize)]
struct Schema {
    #[serde(default)]
    schema: String,
}

/// A reader that fails once more than `max_bytes` have been read through it.
struct Bounded<R> {
    inner: R,
    left: u64,
    max_bytes: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.left = self
            .left
            .checked_sub(read as u64)
            .ok_or_else(|| std::io::Error::other(format!("it decompresses to more than {} bytes", self.max_bytes)))?;
        Ok(read)
    }
}
