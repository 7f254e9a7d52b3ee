//! What an [`S3Store`](super::S3Store) needs to reach one bucket: endpoint, bucket, prefix, region, credentials and
//! the checksum mode. Built from the flags by [`StorageArgs::s3_settings`](crate::config::StorageArgs::s3_settings).

use serde::{Deserialize, Serialize};

/// When the SDK computes and checks payload checksums. Many on-premises servers (Ceph radosgw 16 among them) reject
/// the SDK's default `aws-chunked` trailing checksums, hence `when-required` by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChecksumMode {
    /// Only where an operation requires one.
    #[default]
    WhenRequired,
    /// Wherever the operation supports one (the AWS SDK default).
    WhenSupported,
}

/// Where the S3 credentials come from.
#[derive(Clone, PartialEq, Eq)]
pub enum S3Credentials {
    /// Fixed keys.
    Static {
        /// The access key id.
        access_key: String,
        /// The secret access key.
        secret_key: String,
        /// A session token for temporary keys.
        session_token: Option<String>,
    },
    /// No signing at all (a public bucket).
    Anonymous,
    /// The AWS default chain: environment, web identity (IRSA), profile, container and instance metadata.
    DefaultChain,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Static { .. } => "Static(<redacted>)",
            Self::Anonymous => "Anonymous",
            Self::DefaultChain => "DefaultChain",
        })
    }
}

/// Everything needed to reach one bucket.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// The endpoint as a URL with scheme, e.g. `http://127.0.0.1:7480`.
    pub endpoint_url: String,
    /// Path-style addressing (`endpoint/bucket/key`); needed by nearly every non-AWS server.
    pub force_path_style: bool,
    /// The bucket; it must exist.
    pub bucket: String,
    /// Key prefix inside the bucket; may be empty.
    pub prefix: String,
    /// The signing region.
    pub region: String,
    /// How requests are signed.
    pub credentials: S3Credentials,
    /// When payload checksums are computed and validated.
    pub checksum: ChecksumMode,
}
