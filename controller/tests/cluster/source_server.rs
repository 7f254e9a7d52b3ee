//! A stand-in for Flux's source-controller in the cluster tests: an HTTP server on 127.0.0.1 that serves source
//! tarballs (and, as the artifact server would, what the controller under test published, read from the test's
//! storage) and counts the requests for each path; [`SourceServer::publish`] writes a source object's
//! `status.artifact` as source-controller does after a new commit. Tarballs are crafted entry by entry, so that a
//! test can serve the unsafe ones Flux's untar rules refuse.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use flate2::Compression;
use flate2::write::GzEncoder;
use jaas_controller::conditions::{Condition, ConditionStatus, READY, REASON_SUCCEEDED};
use jaas_controller::crd::{Artifact, Bucket, ExternalArtifact, FluxSourceKind, GitRepository, OCIRepository};
use jaas_shared::{ArtifactKey, ArtifactStore};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;
use sha2::Digest as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// The host every artifact URL names, as in a cluster; `--source-controller-localhost` must replace it.
pub const SOURCE_CONTROLLER_HOST: &str = "source-controller.flux-system.svc.cluster.local.";

/// The longest request head the server reads.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// What the server knows: tarballs by path, requests by path, and the storage it falls back to.
#[derive(Debug)]
struct ServerState {
    tarballs: Mutex<HashMap<String, Vec<u8>>>,
    requests: Mutex<HashMap<String, usize>>,
    store: Arc<dyn ArtifactStore>,
}

/// The running stand-in; it stops with the test's runtime.
pub struct SourceServer {
    address: String,
    state: Arc<ServerState>,
}

/// One artifact written to a source's status.
#[derive(Debug, Clone)]
pub struct Published {
    /// `status.artifact.revision`, e.g. `main@sha1:<hex>`.
    pub revision: String,
    /// `status.artifact.digest` as written (which need not be the tarball's).
    pub digest: String,
    /// The URL path the tarball is served on.
    pub path: String,
    /// When the status write returned.
    pub updated_at: Instant,
}

impl SourceServer {
    /// Starts serving on a free port of 127.0.0.1; paths it has no tarball for are looked up in `store`.
    pub async fn start(store: Arc<dyn ArtifactStore>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let state = Arc::new(ServerState { tarballs: Mutex::default(), requests: Mutex::default(), store });
        let serving = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, serving.clone()));
            }
        });
        eprintln!("source-controller stand-in on http://{address}");
        Self { address, state }
    }

    /// The `jaas run` flag that sends every artifact download here.
    pub fn localhost_flag(&self) -> String {
        format!("--source-controller-localhost={}", self.address)
    }

    /// How many requests arrived for `path` so far.
    pub fn requests(&self, path: &str) -> usize {
        self.state.requests.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// A new commit: serves `tarball` and writes its artifact to the source's status (creating the source when
    /// missing).
    pub async fn publish(
        &self,
        client: &Client,
        kind: FluxSourceKind,
        ns: &str,
        name: &str,
        tarball: Vec<u8>,
    ) -> Published {
        let digest = sha256_digest(&tarball);
        self.publish_claiming(client, kind, ns, name, tarball, &digest).await
    }

    /// Like [`Self::publish`], but the status claims `digest` whatever the bytes are.
    pub async fn publish_claiming(
        &self,
        client: &Client,
        kind: FluxSourceKind,
        ns: &str,
        name: &str,
        tarball: Vec<u8>,
        digest: &str,
    ) -> Published {
        let hex = sha256_digest(&tarball).trim_start_matches("sha256:").to_owned();
        let relative = format!("{}/{ns}/{name}/{hex}.tar.gz", kind_name(kind).to_lowercase());
        let artifact = Artifact {
            digest: digest.to_owned(),
            last_update_time: Time(k8s_openapi::jiff::Timestamp::now()),
            metadata: None,
            path: relative.clone(),
            revision: revision_for(kind, &hex),
            size: Some(i64::try_from(tarball.len()).unwrap()),
            url: format!("http://{SOURCE_CONTROLLER_HOST}/{relative}"),
        };
        let path = format!("/{relative}");
        self.state.tarballs.lock().unwrap().insert(path.clone(), tarball);
        let api = source_api(client, kind, ns);
        let generation = create_source(client, kind, ns, name).await.metadata.generation;
        let message = format!("stored artifact for revision '{}'", artifact.revision);
        let ready = Condition::new(READY, ConditionStatus::True, REASON_SUCCEEDED, &message, generation);
        let status = json!({"status": {"artifact": artifact, "conditions": [ready]}});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(status)).await.unwrap();
        Published { revision: artifact.revision, digest: digest.to_owned(), path, updated_at: Instant::now() }
    }
}

/// Reads one request and answers it with the tarball or stored artifact at its path, or 404.
async fn answer(mut stream: TcpStream, state: Arc<ServerState>) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 2048];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(count) => head.extend_from_slice(&buffer[..count]),
        }
        if head.len() > MAX_REQUEST_HEAD {
            return;
        }
    }
    let path = String::from_utf8_lossy(&head).split(' ').nth(1).unwrap_or_default().to_owned();
    *state.requests.lock().unwrap().entry(path.clone()).or_default() += 1;
    let served = state.tarballs.lock().unwrap().get(&path).cloned();
    let body = match served {
        Some(body) => Some(body),
        None => stored_artifact(&state.store, &path).await,
    };
    let (status, body) = match body {
        Some(body) => ("200 OK", body),
        None => ("404 Not Found", b"not found".to_vec()),
    };
    let header = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    let _ = stream.write_all(header.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

/// The bytes stored for an artifact URL path (`/<namespace>/<name>/sha256-<hex>.tar.gz`), if any.
async fn stored_artifact(store: &Arc<dyn ArtifactStore>, path: &str) -> Option<Vec<u8>> {
    let key = ArtifactKey::parse_url_path(path).ok()?;
    Some(store.get(&key, None).await.ok()?.bytes().await.ok()?.to_vec())
}

/// The source object, created (without status, as source-controller finds it) when it does not exist yet.
pub async fn create_source(client: &Client, kind: FluxSourceKind, ns: &str, name: &str) -> DynamicObject {
    let api = source_api(client, kind, ns);
    if let Some(existing) = api.get_opt(name).await.unwrap() {
        return existing;
    }
    let spec = match kind {
        FluxSourceKind::GitRepository => {
            json!({"url": format!("https://git.example.com/{name}.git"), "interval": "1m"})
        }
        FluxSourceKind::OciRepository => json!({"url": format!("oci://registry.example.com/{name}"), "interval": "1m"}),
        FluxSourceKind::Bucket => json!({"bucketName": name, "endpoint": "minio.example.com", "interval": "1m"}),
        FluxSourceKind::ExternalArtifact => json!({}),
    };
    let resource = resource_of(kind);
    let object = json!({"apiVersion": resource.api_version, "kind": resource.kind,
        "metadata": {"name": name, "namespace": ns}, "spec": spec});
    api.create(&PostParams::default(), &serde_json::from_value(object).unwrap()).await.unwrap()
}

/// The API of one Flux source kind in `ns`.
fn source_api(client: &Client, kind: FluxSourceKind, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &resource_of(kind))
}

/// The group, version, kind and plural of a Flux source kind, from our types.
fn resource_of(kind: FluxSourceKind) -> ApiResource {
    match kind {
        FluxSourceKind::GitRepository => ApiResource::erase::<GitRepository>(&()),
        FluxSourceKind::OciRepository => ApiResource::erase::<OCIRepository>(&()),
        FluxSourceKind::Bucket => ApiResource::erase::<Bucket>(&()),
        FluxSourceKind::ExternalArtifact => ApiResource::erase::<ExternalArtifact>(&()),
    }
}

/// The kind as Kubernetes spells it (`OCIRepository`).
pub fn kind_name(kind: FluxSourceKind) -> String {
    resource_of(kind).kind
}

/// A revision in the style source-controller writes for `kind`.
fn revision_for(kind: FluxSourceKind, hex: &str) -> String {
    match kind {
        FluxSourceKind::GitRepository => format!("main@sha1:{}", &hex[..40]),
        FluxSourceKind::OciRepository => format!("latest@sha256:{hex}"),
        FluxSourceKind::Bucket | FluxSourceKind::ExternalArtifact => format!("sha256:{hex}"),
    }
}

/// One entry of a crafted tarball; names and link targets are written byte for byte, unsafe ones included.
pub enum TarEntry {
    /// A regular file.
    File(String, Vec<u8>),
    /// A symlink `name -> target`.
    Symlink(String, String),
}

impl TarEntry {
    /// A regular file with text content.
    pub fn file(name: &str, content: &str) -> Self {
        Self::File(name.to_owned(), content.as_bytes().to_vec())
    }

    /// A symlink.
    pub fn symlink(name: &str, target: &str) -> Self {
        Self::Symlink(name.to_owned(), target.to_owned())
    }
}

/// A gzip'd tar of `entries`, in order, with zero timestamps (the same entries give the same bytes). Headers are
/// written raw, since the `tar` crate's setters refuse `..` and absolute names.
pub fn tar_gz(entries: &[TarEntry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let (name, kind, data, link): (&str, tar::EntryType, &[u8], &str) = match entry {
            TarEntry::File(name, data) => (name, tar::EntryType::Regular, data, ""),
            TarEntry::Symlink(name, target) => (name, tar::EntryType::Symlink, &[], target),
        };
        let mut header = tar::Header::new_gnu();
        let gnu = header.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_entry_type(kind);
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(&builder.into_inner().unwrap()).unwrap();
    encoder.finish().unwrap()
}

/// A tarball of one file of `bytes` zeros: tiny compressed, `bytes` and more extracted.
pub fn gzip_bomb(bytes: usize) -> Vec<u8> {
    tar_gz(&[TarEntry::File("zeros.json".to_owned(), vec![0; bytes])])
}

/// A tarball of one file of `bytes` pseudo-random bytes, which gzip cannot shrink.
pub fn incompressible(bytes: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise = (0..bytes)
        .map(|_| {
            // xorshift64: enough entropy that deflate stores the bytes as they are.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    tar_gz(&[TarEntry::File("noise.bin".to_owned(), noise)])
}

/// The `sha256:<hex>` digest of `bytes`, as Flux writes it.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// The vendored library of [`jb_tree`] and its jb legacy link name.
pub const VENDORED: &str = "vendor/github.com/x/widgets";

/// A small jsonnet-bundler project whose output carries `commit`: `main.jsonnet` imports `config.libsonnet` from
/// `lib/` and `widgets/main.libsonnet` through jb's legacy link `vendor/widgets -> github.com/x/widgets` (both by
/// the default import paths), and returns a `ConfigMapList` of two ConfigMaps under the key `widgets`.
pub fn jb_tree(commit: &str) -> Vec<TarEntry> {
    vec![
        TarEntry::file("jsonnetfile.json", r#"{"version": 1, "dependencies": [], "legacyImports": true}"#),
        TarEntry::file(
            "main.jsonnet",
            "local config = import 'config.libsonnet';\nlocal widgets = import 'widgets/main.libsonnet';\n\
             { widgets: widgets.list(config) }\n",
        ),
        TarEntry::file("lib/config.libsonnet", &format!("{{ commit: '{commit}', namespace: 'apps' }}\n")),
        TarEntry::file(
            &format!("{VENDORED}/main.libsonnet"),
            &format!(
                "local cm = import 'configmap.libsonnet';\n{{\n  version: 'widgets-{commit}',\n  \
                 list(config):: {{ apiVersion: 'v1', kind: 'ConfigMapList',\n    \
                 items: [cm.new(n, config.namespace, {{ commit: config.commit, version: $.version }}) \
                 for n in ['widget-a', 'widget-b']] }},\n}}\n"
            ),
        ),
        TarEntry::file(
            &format!("{VENDORED}/configmap.libsonnet"),
            "{ new(name, namespace, data):: { apiVersion: 'v1', kind: 'ConfigMap', \
             metadata: { name: name, namespace: namespace }, data: data } }\n",
        ),
        TarEntry::symlink("vendor/widgets", "github.com/x/widgets"),
    ]
}
