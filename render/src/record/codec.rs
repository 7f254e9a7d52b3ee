//! A record's bytes: its JSON compressed with zstd. Decoding is bounded, so a hostile or corrupt record cannot make
//! the reader allocate without limit, and refuses a schema this version does not know.

use std::io::Read;

use super::{RECORD_SCHEMA, RevisionRecord};
use crate::RenderError;

/// zstd's level for records: its default, most of the ratio of higher levels at a fraction of their time (a
/// record is written on every new revision, in the render's path).
const LEVEL: i32 = 3;

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
    /// The record's stored bytes: JSON, zstd-compressed.
    pub fn encode(&self) -> Result<Vec<u8>, RenderError> {
        let json = serde_json::to_vec(self)
            .map_err(|error| RenderError::Internal(format!("cannot encode the revision record: {error}")))?;
        zstd::bulk::compress(&json, LEVEL)
            .map_err(|error| RenderError::Internal(format!("cannot compress the revision record: {error}")))
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
