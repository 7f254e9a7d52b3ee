//! What the store holds, read behind the controller's back: every file under the local root, or every object under
//! the stack's S3 prefix plus the multipart uploads left open there. Each must be a whole artifact
//! (`<namespace>/<name>/sha256-<hex>.tar.gz` whose bytes hash to `<hex>`) or the revision record beside one
//! (`sha256-<hex>.record.zst` that reads as a record of revision `<hex>`); anything else is residue of an
//! interrupted write: a local temp file (`*.tmp`, which the controller's sweep must remove), a record whose tarball
//! is missing (the controller writes the record first and retention deletes such orphans), or on S3 a stray
//! object or an unfinished multipart upload (the S3 store writes with one PutObject, so there should be none).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use jaas_e2e::stack::{Backend, Stack};
use sha2::{Digest, Sha256};

/// The local backend's temp files end so, for tarballs (`.tar.gz.tmp`) and records (`.record.zst.tmp`) alike.
const TMP_SUFFIX: &str = ".tmp";

/// The store's contents, keyed by path below the storage root (or the S3 prefix).
pub struct Contents {
    objects: BTreeMap<String, Vec<u8>>,
    multipart_uploads: usize,
}

/// The contents sorted out.
#[derive(Debug, Default)]
pub struct Audit {
    /// Keys of whole artifacts whose bytes match their name.
    pub artifacts: Vec<String>,
    /// Keys of artifacts whose bytes do not hash to their name: a torn or corrupt write.
    pub corrupt: Vec<String>,
    /// Keys of records that read as the record of the revision they are named by.
    pub records: Vec<String>,
    /// Artifacts without their record beside them (a published tarball must always have one).
    pub unrecorded: Vec<String>,
    /// Records without their tarball: an interrupted store, until retention deletes them.
    pub orphan_records: Vec<String>,
    /// Local temp files.
    pub temp: Vec<String>,
    /// Anything else.
    pub stray: Vec<String>,
    /// Multipart uploads never completed or aborted (S3).
    pub multipart_uploads: usize,
}

impl Audit {
    /// Leftovers of interrupted writes.
    pub fn residue(&self) -> usize {
        self.temp.len() + self.stray.len() + self.orphan_records.len() + self.multipart_uploads
    }
}

impl Contents {
    /// Reads the whole store of `stack`.
    pub async fn read(backend: &Backend, stack: &Stack) -> Result<Self> {
        match backend {
            Backend::Local => {
                let mut objects = BTreeMap::new();
                for path in files_under(&stack.local_root)? {
                    let key = path.strip_prefix(&stack.local_root)?.to_string_lossy().into_owned();
                    // A temp file may be renamed or swept between listing and reading.
                    if let Ok(bytes) = std::fs::read(&path) {
                        objects.insert(key, bytes);
                    }
                }
                Ok(Self { objects, multipart_uploads: 0 })
            }
            Backend::S3 { .. } => read_s3(backend, &stack.s3_prefix).await,
        }
    }

    /// Sorts the contents out.
    pub fn audit(&self) -> Audit {
        let mut audit = Audit { multipart_uploads: self.multipart_uploads, ..Audit::default() };
        for (key, bytes) in &self.objects {
            let list = match named_hex(key, ".tar.gz") {
                Some(hex) if hex::encode(Sha256::digest(bytes)) == hex => &mut audit.artifacts,
                Some(_) => &mut audit.corrupt,
                None => match named_hex(key, ".record.zst") {
                    Some(hex) if describes(bytes, hex) => &mut audit.records,
                    Some(_) => &mut audit.corrupt,
                    None if key.ends_with(TMP_SUFFIX) => &mut audit.temp,
                    None => &mut audit.stray,
                },
            };
            list.push(key.clone());
        }
        let record_of = |key: &String| format!("{}.record.zst", key.trim_end_matches(".tar.gz"));
        let tarball_of = |key: &String| format!("{}.tar.gz", key.trim_end_matches(".record.zst"));
        audit.unrecorded =
            audit.artifacts.iter().filter(|key| !audit.records.contains(&record_of(key))).cloned().collect();
        audit.orphan_records =
            audit.records.iter().filter(|key| !self.objects.contains_key(&tarball_of(key))).cloned().collect();
        audit
    }
}

/// The hex digest a key `<namespace>/<name>/sha256-<hex><suffix>` is named by.
fn named_hex<'k>(key: &'k str, suffix: &str) -> Option<&'k str> {
    key.rsplit('/')
        .next()
        .and_then(|file| file.strip_prefix("sha256-"))
        .and_then(|file| file.strip_suffix(suffix))
        .filter(|hex| hex.len() == 64 && key.split('/').count() == 3)
}

/// Whether `bytes` read as the revision record of the tarball with digest `hex`.
fn describes(bytes: &[u8], hex: &str) -> bool {
    jaas_render::record::RevisionRecord::decode(bytes)
        .is_ok_and(|record| record.revision.digest == format!("sha256:{hex}"))
}

/// The local temp files under `root` right now.
pub fn local_temp_files(root: &Path) -> Result<usize> {
    Ok(files_under(root)?.iter().filter(|p| p.to_string_lossy().ends_with(TMP_SUFFIX)).count())
}

/// Every file below `root`, recursively.
fn files_under(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue, // removed by a delete meanwhile
            entries => entries.with_context(|| format!("listing {}", dir.display()))?,
        };
        for entry in entries.filter_map(Result::ok) {
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => dirs.push(entry.path()),
                Ok(_) => files.push(entry.path()),
                Err(_) => {}
            }
        }
    }
    Ok(files)
}

async fn read_s3(backend: &Backend, prefix: &str) -> Result<Contents> {
    let Backend::S3 { endpoint, bucket, region, access_key, secret_key } = backend else {
        anyhow::bail!("not an S3 backend");
    };
    let http = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .endpoint_url(endpoint)
        .region(Region::new(region.clone()))
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "jaas-e2e"))
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(config);
    let prefix = format!("{prefix}/");
    let mut objects = BTreeMap::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(&prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        for object in page.context("listing the S3 prefix")?.contents() {
            let Some(key) = object.key() else { continue };
            let body = s3.get_object().bucket(bucket).key(key).send().await.with_context(|| format!("GET {key}"))?;
            let bytes = body.body.collect().await.with_context(|| format!("reading {key}"))?.into_bytes();
            objects.insert(key.strip_prefix(&prefix).unwrap_or(key).to_owned(), bytes.to_vec());
        }
    }
    let uploads = s3.list_multipart_uploads().bucket(bucket).prefix(&prefix).send().await;
    let multipart_uploads = uploads.context("listing multipart uploads")?.uploads().len();
    Ok(Contents { objects, multipart_uploads })
}
