//! A record's bytes: a tar compressed with zstd, `record.json` first, then each file read under `files/<tree path>`
//! with its bytes as they were (no escaping, no base64: writing a record costs little more than compressing its
//! inputs). Entries are written as the reproducible tarball's are (sorted, mode 0644, uid/gid 0, mtime 0). Decoding
//! is bounded, so a hostile or corrupt record cannot make the reader allocate without limit, refuses a schema this
//! version does not know, and accepts only the files `record.json` lists, under clean relative paths.

use std::collections::BTreeMap;
use std::io::{BufWriter, Read};

use super::{RECORD_SCHEMA, RevisionRecord};
use crate::RenderError;
use crate::request::check_file_path;

/// zstd's level for records: the fastest of its regular levels. A record is written on every new revision, in the
/// render's path, and its inputs repeat themselves (Jsonnet libraries): level 3 made the jsonnet-bundler tree's
/// record 2 % smaller for 60 % more time.
const LEVEL: i32 = 1;
/// Compression threads besides the caller (zstd's own workers): a large record compresses on another core while
/// the tar is written.
const THREADS: u32 = 1;
/// The tar reaches the compressor in pieces this large.
const WRITE_BUFFER: usize = 128 * 1024;
/// The first entry: the record without the files' bytes.
const RECORD_JSON: &str = "record.json";
/// The directory of the files read.
const FILES_DIR: &str = "files/";

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
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), LEVEL).map_err(failed)?;
        encoder.multithread(THREADS).map_err(failed)?;
        let mut tar = tar::Builder::new(BufWriter::with_capacity(WRITE_BUFFER, encoder));
        append(&mut tar, RECORD_JSON, &json).map_err(failed)?;
        for (path, bytes) in &self.contents {
            append(&mut tar, &format!("{FILES_DIR}{path}"), bytes).map_err(failed)?;
        }
        let buffered = tar.into_inner().map_err(failed)?;
        buffered.into_inner().map_err(|error| failed(error.into_error()))?.finish().map_err(failed)
    }

    /// Reads a record's stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        Self::decode_at_most(bytes, MAX_DECODED_RECORD_BYTES)
    }

    /// [`Self::decode`], refusing a record that decompresses to more than `max_bytes`.
    pub(super) fn decode_at_most(bytes: &[u8], max_bytes: u64) -> Result<Self, RecordError> {
        let unreadable = |error: std::io::Error| RecordError::Unreadable(error.to_string());
        let decoder = zstd::stream::read::Decoder::new(bytes).map_err(unreadable)?;
        let mut bounded = Bounded { inner: decoder, left: max_bytes, max_bytes };
        let mut archive = tar::Archive::new(&mut bounded);
        let mut entries = archive.entries().map_err(unreadable)?;
        let mut record = match entries.next() {
            Some(first) => read_record_json(first.map_err(unreadable)?)?,
            None => return Err(RecordError::Invalid(format!("it is empty; {RECORD_JSON} comes first"))),
        };
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
        let listed: Vec<&String> = record.request.files.iter().collect();
        let present: Vec<&String> = contents.keys().collect();
        if listed != present {
            return Err(RecordError::Invalid(format!(
                "{RECORD_JSON} lists {} files, the record holds {} others or more",
                listed.len(),
                present.len()
            )));
        }
        record.contents = contents;
        Ok(record)
    }
}

/// Appends one regular file the way the reproducible tarball does.
fn append(tar: &mut tar::Builder<impl std::io::Write>, path: &str, bytes: &[u8]) -> std::io::Result<()> {
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
