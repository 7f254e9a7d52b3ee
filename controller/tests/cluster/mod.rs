//! Test harness for the cluster tests: a kube client from `KUBECONFIG` (required: these tests never skip), our
//! CRDs installed from `jaas crdgen`, one namespace per test, storage (a temp dir, or S3 when `JAAS_S3_ENDPOINT`
//! is set) readable from the test, `jaas run` child processes with their metrics endpoints, and a stand-in for Flux's
//! source-controller (with Flux's source CRDs, for a cluster without Flux).

#![allow(dead_code, clippy::missing_panics_doc)]

pub mod probes;
pub mod process;
pub mod snippets;
pub mod source_server;

use std::time::{Duration, Instant};

use clap::Parser;
use jaas_shared::{ArtifactKey, ArtifactStore, StorageArgs};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use sha2::Digest as _;

pub use process::ControllerProcess;

/// The `jaas` binary under test.
pub const JAAS: &str = env!("CARGO_BIN_EXE_jaas");

/// A client for the API server named by `KUBECONFIG`; fails the test with instructions when it is unset.
pub async fn client() -> Client {
    assert!(
        std::env::var_os("KUBECONFIG").is_some(),
        "KUBECONFIG is not set: these tests need a real kube-apiserver. Start one with \
         `eval \"$(bash e2e/kube-start.sh)\"` (or ../shared/scripts/kube-start.sh) and run the tests again."
    );
    Client::try_default().await.expect("KUBECONFIG must point at a reachable API server")
}

/// Polls `check` every 200 ms until it returns `Some`, failing with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Installs our CRDs and Flux's ExternalArtifact CRD, as `jaas crdgen` prints them, and waits until established.
pub async fn install_crds(client: &Client) {
    apply_crdgen(client, &[]).await;
    apply_crdgen(client, &["--external-artifact"]).await;
}

/// Installs Flux's GitRepository, OCIRepository and Bucket CRDs as `jaas crdgen --flux-sources` prints them (for a
/// cluster without Flux), and waits until established.
pub async fn install_flux_source_crds(client: &Client) {
    apply_crdgen(client, &["--flux-sources"]).await;
}

/// Applies the CRDs `jaas crdgen <flags>` prints and waits until each is established.
async fn apply_crdgen(client: &Client, flags: &[&str]) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let output = std::process::Command::new(JAAS).arg("crdgen").args(flags).output().expect("jaas crdgen runs");
    assert!(output.status.success(), "jaas crdgen failed: {}", String::from_utf8_lossy(&output.stderr));
    let yaml = String::from_utf8(output.stdout).unwrap();
    let crds: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&yaml).unwrap();
    for crd in crds {
        let name = crd.name_any();
        api.patch(&name, &PatchParams::apply("jaas-tests").force(), &Patch::Apply(&crd)).await.unwrap();
        eventually(&format!("CRD {name} to be established"), Duration::from_secs(30), || {
            let api = api.clone();
            let name = name.clone();
            async move {
                let crd = api.get(&name).await.ok()?;
                let established =
                    crd.status?.conditions?.iter().any(|c| c.type_ == "Established" && c.status == "True");
                established.then_some(())
            }
        })
        .await;
    }
}

/// A fresh namespace named after the test, deleted (best effort) when dropped.
pub struct TestNamespace {
    /// The namespace's name.
    pub name: String,
    client: Client,
}

impl TestNamespace {
    /// Creates `jaas-<test>-<random>`.
    pub async fn create(client: &Client, test: &str) -> Self {
        let suffix = format!(
            "{:x}",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() % 0xffff_ffff
        );
        let name = format!("jaas-{test}-{suffix}");
        let namespace: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).unwrap();
        Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &namespace).await.unwrap();
        Self { name, client: client.clone() }
    }
}

impl TestNamespace {
    /// Deletes the namespace (its objects go with it). Failed tests leave theirs behind for inspection.
    pub async fn delete(self) {
        let _ = Api::<Namespace>::all(self.client).delete(&self.name, &DeleteParams::default()).await;
    }
}

#[derive(Parser)]
struct StorageOnly {
    #[command(flatten)]
    storage: StorageArgs,
}

/// Where the controllers of one test store artifacts, and the test's own view of it.
pub struct TestStorage {
    /// The `jaas run` flags selecting this storage.
    pub flags: Vec<String>,
    /// The same storage, opened by the test.
    pub store: std::sync::Arc<dyn ArtifactStore>,
    /// A local root, kept alive as long as the storage.
    dir: Option<tempfile::TempDir>,
}

impl TestStorage {
    /// S3 (under a prefix unique to `namespace`) when `prefer_s3` and `JAAS_S3_ENDPOINT` is set, else a temp dir.
    pub async fn new(namespace: &str, prefer_s3: bool) -> Self {
        let (flags, dir) = match std::env::var("JAAS_S3_ENDPOINT") {
            Ok(endpoint) if prefer_s3 && !endpoint.is_empty() => {
                let bucket = std::env::var("JAAS_S3_BUCKET").expect("JAAS_S3_BUCKET must be set with JAAS_S3_ENDPOINT");
                let flags = vec![
                    "--storage-backend=s3".to_owned(),
                    format!("--s3-endpoint={endpoint}"),
                    format!("--s3-bucket={bucket}"),
                    format!("--s3-prefix=tests/{namespace}"),
                ];
                eprintln!("storage: S3 {endpoint} bucket {bucket} prefix tests/{namespace}");
                (flags, None)
            }
            _ => {
                let dir = tempfile::tempdir().unwrap();
                let flags =
                    vec!["--storage-backend=local".to_owned(), format!("--storage-path={}", dir.path().display())];
                eprintln!("storage: local {}", dir.path().display());
                (flags, Some(dir))
            }
        };
        let parsed =
            StorageOnly::try_parse_from(std::iter::once("test".to_owned()).chain(flags.iter().cloned())).unwrap();
        let store = parsed.storage.open().await.unwrap();
        Self { flags, store, dir }
    }

    /// The root directory of local storage; `None` for S3.
    pub fn local_root(&self) -> Option<&std::path::Path> {
        self.dir.as_ref().map(tempfile::TempDir::path)
    }

    /// Downloads what an artifact URL points at (by reading storage, as the artifact server would), or `None`
    /// when the object does not exist.
    pub async fn bytes_at(&self, url: &str) -> Option<bytes::Bytes> {
        let path = url.strip_prefix(BASE_URL).expect("artifact URLs start with the base URL");
        let key = ArtifactKey::parse_url_path(path).expect("the URL path is a valid artifact path");
        self.store.get(&key, None).await.ok()?.bytes().await.ok()
    }

    /// The `sha256:<hex>` of what an artifact URL points at, or `None` when the object does not exist.
    pub async fn digest_at(&self, url: &str) -> Option<String> {
        let bytes = self.bytes_at(url).await?;
        Some(format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes))))
    }

    /// The digests of the tarballs stored for a snippet.
    pub async fn stored(&self, namespace: &str, name: &str) -> Vec<String> {
        self.stored_of_kind(namespace, name, jaas_shared::ObjectKind::Tarball).await
    }

    /// The digests of the revision records stored for a snippet (each named by its tarball's digest).
    pub async fn stored_records(&self, namespace: &str, name: &str) -> Vec<String> {
        self.stored_of_kind(namespace, name, jaas_shared::ObjectKind::Record).await
    }

    async fn stored_of_kind(&self, namespace: &str, name: &str, kind: jaas_shared::ObjectKind) -> Vec<String> {
        let snippet = jaas_shared::SnippetRef::new(namespace, name).unwrap();
        let listed = self.store.list(&snippet).await.unwrap();
        let mut digests: Vec<String> =
            listed.iter().filter(|m| m.key.kind() == kind).map(|m| m.key.digest().to_string()).collect();
        digests.sort();
        digests
    }
}

/// The `--storage-base-url` the tests give the controller.
pub const BASE_URL: &str = "http://artifacts.jaas.test:8082";
