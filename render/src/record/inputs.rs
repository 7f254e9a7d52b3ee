//! A render's inputs as its record holds them: each file the evaluation read, as a tar entry under `files/<tree
//! path>` in the order first read, the tar's end, all compressed as one zstd frame: the record's last. The worker
//! packs them once the value is sent, while the renderer reads it, from the evaluator's own file cache
//! (`crate::evaluate::FilesLoaded`), so a record costs the render neither a second read of the tree nor a copy of
//! its megabytes, kept or sent to the renderer: the worker sends back kilobytes. (Packing during the evaluation, on
//! its thread or on one beside it, slowed the evaluation by more than packing costs: docs/benchmarks.md, "Revision
//! records".)

use std::collections::BTreeMap;

use bytes::Bytes;

use super::codec::{self, RecordError};
use crate::RenderError;

/// zstd's level for records, written on every new revision in the render's path. Jsonnet inputs repeat themselves
/// (a jsonnet-bundler tree compresses 70 to 1): on the generated jb tree, level 2 took as long as level 1 (2.6 ms
/// for 6.5 MB) and came out 4 % smaller; level 3 came out larger and took 25 % longer.
pub(super) const LEVEL: i32 = 2;
/// The directory of the files read, inside the record's tar.
pub(super) const FILES_DIR: &str = "files/";

/// The files a render read, packed as the end of a record (see the module's documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedInputs {
    frame: Bytes,
}

impl PackedInputs {
    /// Packs `files` (tree path, bytes), in the order given.
    pub fn pack<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Result<Self, RenderError> {
        let encoder = zstd::stream::write::Encoder::new(Vec::new(), LEVEL).map_err(|error| packing_failed(&error))?;
        let mut tar = tar::Builder::new(encoder);
        for (path, bytes) in files {
            codec::append(&mut tar, &format!("{FILES_DIR}{path}"), bytes).map_err(|error| packing_failed(&error))?;
        }
        // `into_inner` ends the tar (two zero blocks) before handing the encoder back.
        let encoder = tar.into_inner().map_err(|error| packing_failed(&error))?;
        Ok(Self { frame: encoder.finish().map_err(|error| packing_failed(&error))?.into() })
    }

    /// Inputs a worker packed and sent. Nothing is checked here: a record is checked when it is read back.
    pub fn from_frame(frame: Vec<u8>) -> Self {
        Self { frame: frame.into() }
    }

    /// The compressed bytes, as they end the record.
    pub fn frame(&self) -> &[u8] {
        &self.frame
    }

    /// The files, by tree path, read back from the frame (decompressing at most `max_bytes`).
    pub fn unpack(&self, max_bytes: u64) -> Result<BTreeMap<String, Vec<u8>>, RecordError> {
        codec::read_files(&self.frame, max_bytes)
    }
}

fn packing_failed(error: &std::io::Error) -> RenderError {
    RenderError::Internal(format!("cannot pack the render's inputs: {error}"))
}
