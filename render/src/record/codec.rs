//! A record's bytes: its JSON compressed with zstd. Decoding is bounded, so a hostile or corrupt record cannot make
//! the reader allocate without limit, and refuses a schema this version does not know.

use std::io::{BufWriter, Read};

use super::{RECORD_SCHEMA, RevisionRecord};
use crate::RenderError;

/// zstd's level for records: the fastest of its regular levels. A record is written on every new revision, in the
/// render's path, and its inputs repeat themselves (Jsonnet libraries): level 3 made the jsonnet-bundler tree's
/// record 5 % smaller for a quarter more time.
const LEVEL: i32 = 1;
/// Compression threads besides the caller (zstd's own workers): a large record compresses on another core while
/// the JSON is written.
const THREADS: u32 = 1;
/// JSON reaches the compressor in pieces this large, not value by value.
const WRITE_BUFFER: usize = 128 * 1024;

/// The most a record may decompress to. A record holds the files a render read: a kube-prometheus render reads a
/// few MiB; 256 MiB is far above any real one and still bounded.
pub const MAX_DECODED_RECORD_BYTES: u64 = 256 * 1024 * 1024;

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not zstd, truncated, or larger than [`MAX_DECODED_RECORD_BYTES`] once decompressed.
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
    /// The record's stored bytes: JSON, zstd-compressed as it is written (no copy of the whole JSON is made), on
    /// [`THREADS`] threads besides the caller.
    pub fn encode(&self) -> Result<Vec<u8>, RenderError> {
        let failed =
            |error: std::io::Error| RenderError::Internal(format!("cannot encode the revision record: {error}"));
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), LEVEL).map_err(failed)?;
        encoder.multithread(THREADS).map_err(failed)?;
        let mut buffered = BufWriter::with_capacity(WRITE_BUFFER, encoder);
        serde_json::to_writer(&mut buffered, self).map_err(|error| failed(error.into()))?;
        buffered.into_inner().map_err(|error| failed(error.into_error()))?.finish().map_err(failed)
    }

    /// Reads a record's stored bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        Self::decode_at_most(bytes, MAX_DECODED_RECORD_BYTES)
    }

    /// [`Self::decode`], refusing a record that decompresses to more than `max_bytes`.
    pub(super) fn decode_at_most(bytes: &[u8], max_bytes: u64) -> Result<Self, RecordError> {
        let json = decompress(bytes, max_bytes)?;
        let schema: Schema = serde_json::from_slice(&json)
            .map_err(|error| RecordError::Invalid(format!("not a JSON object: {error}")))?;
        if schema.schema != RECORD_SCHEMA {
            return Err(RecordError::UnknownSchema { found: schema.schema });
        }
        serde_json::from_slice(&json).map_err(|error| RecordError::Invalid(error.to_string()))
    }
}

/// Only the schema field, read first so that a record of another schema is named as such, not as invalid.
#[derive(serde::Deserialize)]
struct Schema {
    #[serde(default)]
    schema: String,
}

fn decompress(bytes: &[u8], max_bytes: u64) -> Result<Vec<u8>, RecordError> {
    let unreadable = |error: std::io::Error| RecordError::Unreadable(error.to_string());
    let decoder = zstd::stream::read::Decoder::new(bytes).map_err(unreadable)?;
    let mut json = Vec::new();
    decoder.take(max_bytes + 1).read_to_end(&mut json).map_err(unreadable)?;
    if json.len() as u64 > max_bytes {
        return Err(RecordError::Unreadable(format!("it decompresses to more than {max_bytes} bytes")));
    }
    Ok(json)
}
