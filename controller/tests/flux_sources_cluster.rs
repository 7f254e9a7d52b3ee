//! Snippets and libraries whose Jsonnet comes from Flux sources, against a real kube-apiserver (`KUBECONFIG`,
//! required) with real `jaas run` processes and a source-controller stand-in (cluster/source_server.rs) reached
//! through `--source-controller-localhost`: rendering from every source kind with provenance on the
//! ExternalArtifact, one download however many snippets share a source, prompt re-renders on a new commit,
//! libraries from a `vendor/` tree, chained snippets and their cycles, bad artifacts that keep the last good one
//! published, and the reasons for sources that are missing, not ready or in another namespace.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod cluster;

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::path::Path;
use std::pin::pin;
use std::time::{Duration, Instant};

use cluster::snippets::{
    self, READY_TIMEOUT, Readiness, delete_namespace_with_controller, readiness_of, wait_for_readiness,
    wait_ready_revision,
};
use cluster::source_server::{
    Published, SourceServer, TarEntry, VENDORED, create_source, gzip_bomb, incompressible, jb_tree, kind_name,
    sha256_digest, tar_gz,
};
use cluster::{ControllerProcess, TestNamespace, TestStorage, client, install_crds, install_flux_source_crds};
use futures::TryStreamExt as _;
use jaas_controller::conditions::{
    REASON_CROSS_NAMESPACE_REF_REJECTED, REASON_DEPENDENCY_CYCLE, REASON_SOURCE_FETCH_FAILED, REASON_SOURCE_NOT_FOUND,
    REASON_SOURCE_NOT_READY,
};
use jaas_controller::crd::{ExternalArtifact, FluxSourceKind, JsonnetSnippet};
use kube::api::Api;
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Client, ResourceExt as _};
use serde_json::{Value, json};

/// The longest a re-render on a new source revision may take here (the target is 1 s).
const RERENDER_BOUND: Duration = Duration::from_secs(5);
const GIT: FluxSourceKind = FluxSourceKind::GitRepository;

/// One test's world: its namespace and storage, the stand-in, and one `jaas run` pointed at it.
struct World {
    client: Client,
    ns: TestNamespace,
    storage: TestStorage,
    server: SourceServer,
    controller: ControllerProcess,
}

impl World {
    /// Installs the CRDs (Flux's sources before the controller starts, so that it watches them), then starts the
    /// stand-in and a controller with `flags`.
    async fn start(prefix: &str, flags: &[&str]) -> Self {
        let client = client().await;
        install_crds(&client).await;
        install_flux_source_crds(&client).await;
        let ns = TestNamespace::create(&client, prefix).await;
        let storage = TestStorage::new(&ns.name, false).await;
        let server = SourceServer::start(storage.store.clone()).await;
        let localhost = server.localhost_flag();
        let flags: Vec<&str> =
            [localhost.as_str(), "--leader-election=false"].into_iter().chain(flags.iter().copied()).collect();
        let controller = ControllerProcess::start("a", &ns.name, &storage.flags, &flags);
        Self { client, ns, storage, server, controller }
    }

    /// A new commit of `tree` on the source `kind`/`name` in the test's namespace.
    async fn commit(&self, kind: FluxSourceKind, name: &str, tree: &[TarEntry]) -> Published {
        self.server.publish(&self.client, kind, &self.ns.name, name, tar_gz(tree)).await
    }

    /// Creates a JsonnetSnippet in the test's namespace.
    async fn create_snippet(&self, name: &str, spec: Value) {
        snippets::create_snippet(&self.client, &self.ns.name, name, spec).await;
    }

    /// Creates a JsonnetLibrary in the test's namespace.
    async fn create_library(&self, name: &str, spec: Value) {
        snippets::create_library(&self.client, &self.ns.name, name, spec).await;
    }

    /// Waits until the snippet is Ready with a revision other than `not`, and returns the revision.
    async fn wait_ready(&self, name: &str, not: Option<&str>) -> String {
        wait_ready_revision(&self.client, &self.ns.name, name, not).await
    }

    /// Waits until the snippet is Ready=False with `reason`.
    async fn wait_failed(&self, name: &str, reason: &str) -> Readiness {
        let what = format!("Ready=False {reason} (controller log: {})", self.controller.log.display());
        wait_for_readiness(&self.client, &self.ns.name, name, &what, |r| r.status == "False" && r.reason == reason)
            .await
    }

    /// The ExternalArtifact of the snippet `name`, if it exists.
    async fn external_artifact(&self, name: &str) -> Option<ExternalArtifact> {
        snippets::external_artifact(&self.client, &self.ns.name, name).await
    }

    /// The files of the artifact the snippet's ExternalArtifact points at, read from storage.
    async fn published_files(&self, name: &str) -> BTreeMap<String, String> {
        let ea = self.external_artifact(name).await.expect("an ExternalArtifact");
        let url = ea.status.unwrap().artifact.unwrap().url;
        let bytes = self.storage.bytes_at(&url).await.unwrap_or_else(|| panic!("no artifact in storage at {url}"));
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let mut files = BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            files.insert(entry.path().unwrap().to_string_lossy().into_owned(), text);
        }
        files
    }

    /// The published `rendered.json`.
    async fn rendered(&self, name: &str) -> Value {
        serde_json::from_str(&self.published_files(name).await["rendered.json"]).unwrap()
    }

    /// Deletes the namespace while the controller runs, waits until its snippets are withdrawn, then stops the
    /// controller, which must exit cleanly.
    async fn finish(self) {
        let Self { client, ns, mut controller, .. } = self;
        delete_namespace_with_controller(&client, ns).await;
        controller.terminate();
        let status = controller.wait_exit(Duration::from_secs(30)).await;
        assert!(status.success(), "{}", controller.logs());
    }
}

/// `spec.sourceRef` naming `kind`/`name`.
fn source_ref(kind: FluxSourceKind, name: &str) -> Value {
    json!({"kind": kind_name(kind), "name": name})
}

/// The `data` of the first ConfigMap of [`jb_tree`]'s rendered value.
fn widget_data(rendered: &Value) -> &Value {
    &rendered["widgets"]["items"][0]["data"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_kind_renders_and_its_external_artifact_names_the_source() {
    let world = World::start("kinds", &[]).await;
    let kinds = [GIT, FluxSourceKind::OciRepository, FluxSourceKind::Bucket, FluxSourceKind::ExternalArtifact];
    let mut commits = Vec::new();
    for kind in kinds {
        // Each tree differs, so each source has its own digest and its own download.
        let label = kind_name(kind).to_lowercase();
        commits.push(world.commit(kind, &format!("src-{label}"), &jb_tree(&label)).await);
        world
            .create_snippet(&format!("from-{label}"), json!({"sourceRef": source_ref(kind, &format!("src-{label}"))}))
            .await;
    }
    for (kind, commit) in kinds.into_iter().zip(&commits) {
        let label = kind_name(kind).to_lowercase();
        let snippet = format!("from-{label}");
        let revision = world.wait_ready(&snippet, None).await;
        let files = world.published_files(&snippet).await;
        let rendered: Value = serde_json::from_str(&files["rendered.json"]).unwrap();
        assert_eq!(widget_data(&rendered), &json!({"commit": label, "version": format!("widgets-{label}")}));
        let manifests = &files["widgets.yaml"];
        assert!(
            manifests.contains("widget-a") && manifests.contains("widget-b") && !manifests.contains("ConfigMapList"),
            "the ConfigMapList is flattened into its ConfigMaps: {manifests}"
        );
        let ea = world.external_artifact(&snippet).await.unwrap();
        let artifact = ea.status.unwrap().artifact.unwrap();
        assert_eq!(artifact.revision, revision);
        let expected = BTreeMap::from([
            ("org.opencontainers.image.revision".to_owned(), commit.revision.clone()),
            ("jaas.metio.wtf/source-kind".to_owned(), kind_name(kind)),
            ("jaas.metio.wtf/source-namespace".to_owned(), world.ns.name.clone()),
            ("jaas.metio.wtf/source-name".to_owned(), format!("src-{label}")),
        ]);
        let metadata = artifact.metadata.unwrap_or_default();
        for (key, value) in &expected {
            assert_eq!(metadata.get(key), Some(value), "{snippet}: status.artifact.metadata {metadata:?}");
        }
        let owner = ea.spec.source_ref.unwrap();
        assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("JsonnetSnippet", snippet.as_str()));
        assert_eq!(world.server.requests(&commit.path), 1, "{snippet}: one download of {}", commit.path);
        if kind == GIT {
            assert_eq!(local_render_digest(&tar_gz(&jb_tree(&label))), revision, "jaas render DIR on the same tree");
        }
    }
    world.finish().await;
}

/// The digest of `jaas render DIR -o` on the tree of `tarball` extracted locally: what a user renders from a
/// checkout of the source.
fn local_render_digest(tarball: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    tar::Archive::new(flate2::read::GzDecoder::new(tarball)).unpack(dir.path().join("tree")).unwrap();
    let out = dir.path().join("out.tar.gz");
    let output = std::process::Command::new(cluster::JAAS)
        .arg("render")
        .arg(dir.path().join("tree"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success(), "jaas render: {}", String::from_utf8_lossy(&output.stderr));
    sha256_digest(&std::fs::read(&out).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snippets_sharing_a_source_download_once_and_rerender_promptly_on_a_new_commit() {
    const SNIPPETS: usize = 5;
    let world = World::start("shared", &[]).await;
    let first = world.commit(GIT, "shared", &jb_tree("one")).await;
    let names: Vec<String> = (0..SNIPPETS).map(|i| format!("s{i}")).collect();
    for name in &names {
        world.create_snippet(name, json!({"sourceRef": source_ref(GIT, "shared")})).await;
    }
    let mut previous = HashMap::new();
    for name in &names {
        previous.insert(name.clone(), world.wait_ready(name, None).await);
    }
    assert_eq!(world.server.requests(&first.path), 1, "{SNIPPETS} snippets on one source download it once");

    let second = world.commit(GIT, "shared", &jb_tree("two")).await;
    let delays = republish_delays(&world, &previous, second.updated_at).await;
    let slowest = delays.values().max().copied().unwrap();
    println!(
        "{SNIPPETS} snippets republished after a new source revision: slowest {} ms, each {delays:?}",
        slowest.as_millis()
    );
    eprintln!("{SNIPPETS} snippets republished after a new source revision: slowest {} ms", slowest.as_millis());
    assert!(slowest < RERENDER_BOUND, "the re-render took {slowest:?}, more than {RERENDER_BOUND:?}");
    assert_eq!(world.server.requests(&second.path), 1, "the new revision is downloaded once too");
    for name in &names {
        assert_eq!(widget_data(&world.rendered(name).await)["commit"], "two", "{name}");
    }
    world.finish().await;
}

/// Watches the namespace's snippets until every one in `previous` is Ready with another revision, and returns how
/// long after `since` each was seen so (a watch, not polling, so the figure is close to the controller's).
async fn republish_delays(
    world: &World,
    previous: &HashMap<String, String>,
    since: Instant,
) -> BTreeMap<String, Duration> {
    let api = Api::<JsonnetSnippet>::namespaced(world.client.clone(), &world.ns.name);
    let mut stream = pin!(watcher(api, watcher::Config::default()).applied_objects());
    let mut delays = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    while delays.len() < previous.len() {
        let next = tokio::time::timeout_at(deadline, stream.try_next()).await;
        let snippet = next
            .unwrap_or_else(|_| panic!("timed out waiting for every snippet to republish; seen {delays:?}"))
            .unwrap()
            .expect("the watch ended");
        let name = snippet.name_any();
        let republished = readiness_of(&snippet)
            .is_some_and(|r| r.status == "True" && r.revision.is_some() && r.revision.as_ref() != previous.get(&name));
        if republished && previous.contains_key(&name) {
            delays.entry(name).or_insert_with(|| since.elapsed());
        }
    }
    delays
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libraries_mount_a_vendored_tree_and_cross_namespace_sources_can_be_allowed() {
    let world = World::start("library", &["--no-cross-namespace-refs=false"]).await;
    world.commit(GIT, "vendored", &jb_tree("lib-one")).await;
    let narrowed = json!({"kind": "GitRepository", "name": "vendored", "path": VENDORED});
    world.create_library("aliased", json!({"sourceRef": narrowed, "importPath": "github.com/x/widgets"})).await;
    world.create_library("widgets", json!({"sourceRef": narrowed})).await;
    let main = "local aliased = import 'github.com/x/widgets/main.libsonnet';\n\
                local named = import 'widgets/main.libsonnet';\n\
                { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'versions' },\n  \
                data: { aliased: aliased.version, named: named.version } }";
    world.create_snippet("app", json!({"libraries": ["aliased", "widgets"], "files": {"main.jsonnet": main}})).await;
    let first = world.wait_ready("app", None).await;
    let data = |value: &str| json!({"aliased": format!("widgets-{value}"), "named": format!("widgets-{value}")});
    assert_eq!(world.rendered("app").await["data"], data("lib-one"), "importPath and the default (the name)");

    let commit = world.commit(GIT, "vendored", &jb_tree("lib-two")).await;
    world.wait_ready("app", Some(&first)).await;
    println!("a library's new source revision was re-rendered {} ms after it", commit.updated_at.elapsed().as_millis());
    assert_eq!(world.rendered("app").await["data"], data("lib-two"), "a library's new revision re-renders");

    let other = TestNamespace::create(&world.client, "library-src").await;
    world.server.publish(&world.client, GIT, &other.name, "elsewhere", tar_gz(&jb_tree("elsewhere"))).await;
    let reference = json!({"kind": "GitRepository", "name": "elsewhere", "namespace": other.name});
    world.create_snippet("cross", json!({"sourceRef": reference})).await;
    world.wait_ready("cross", None).await;
    assert_eq!(widget_data(&world.rendered("cross").await)["commit"], "elsewhere");
    other.delete().await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chained_snippet_follows_its_producer() {
    let world = World::start("chain", &[]).await;
    world.commit(GIT, "app-src", &jb_tree("chain-one")).await;
    world.create_snippet("producer", json!({"sourceRef": source_ref(GIT, "app-src")})).await;
    world.create_snippet("consumer", chained_to("producer")).await;
    let produced = world.wait_ready("producer", None).await;
    let consumed = world.wait_ready("consumer", None).await;
    assert_eq!(world.rendered("consumer").await, world.rendered("producer").await);
    let artifact = world.external_artifact("consumer").await.unwrap().status.unwrap().artifact.unwrap();
    let metadata = artifact.metadata.unwrap_or_default();
    assert_eq!(metadata.get("jaas.metio.wtf/source-kind").map(String::as_str), Some("ExternalArtifact"));
    assert_eq!(metadata.get("jaas.metio.wtf/source-name").map(String::as_str), Some("producer"));
    assert_eq!(metadata.get("org.opencontainers.image.revision"), Some(&produced), "the producer's revision");

    world.commit(GIT, "app-src", &jb_tree("chain-two")).await;
    world.wait_ready("producer", Some(&produced)).await;
    world.wait_ready("consumer", Some(&consumed)).await;
    assert_eq!(widget_data(&world.rendered("consumer").await)["commit"], "chain-two");
    world.finish().await;
}

/// The spec of a snippet that renders the `rendered.json` of snippet `name`'s ExternalArtifact.
fn chained_to(name: &str) -> Value {
    json!({"sourceRef": source_ref(FluxSourceKind::ExternalArtifact, name), "entryFile": "rendered.json"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snippets_sourcing_each_other_report_a_dependency_cycle() {
    let world = World::start("cycle", &[]).await;
    // A cycle made by an edit: both have published when ping starts sourcing pong, which sources ping.
    world.commit(GIT, "app-src", &jb_tree("cycle")).await;
    world.create_snippet("ping", json!({"sourceRef": source_ref(GIT, "app-src")})).await;
    world.create_snippet("pong", chained_to("ping")).await;
    let revision = world.wait_ready("ping", None).await;
    world.wait_ready("pong", None).await;
    let published = world.external_artifact("ping").await.unwrap().status.unwrap().artifact;
    snippets::edit_snippet(&world.client, &world.ns.name, "ping", chained_to("pong")).await;
    let failed = world.wait_failed("ping", REASON_DEPENDENCY_CYCLE).await;
    assert!(failed.message.contains("ping") && failed.message.contains("pong"), "{}", failed.message);
    assert_eq!(failed.revision, Some(revision), "the last good revision stays published");
    assert_eq!(world.external_artifact("ping").await.unwrap().status.unwrap().artifact, published);

    // A cycle from the start: neither snippet has ever published.
    world.create_snippet("tick", chained_to("tock")).await;
    world.create_snippet("tock", chained_to("tick")).await;
    for name in ["tick", "tock"] {
        let failed = world.wait_failed(name, REASON_DEPENDENCY_CYCLE).await;
        assert!(failed.message.contains("tick") && failed.message.contains("tock"), "{name}: {}", failed.message);
        assert!(world.external_artifact(name).await.is_none(), "{name}: nothing published");
    }
    world.finish().await;
}

/// A bad commit of [`bad_artifacts_fail_with_their_reason_and_keep_the_last_good_one`]: the source it goes to,
/// its tarball, the digest its status claims (`None`: the tarball's), and the reason and message parts expected.
struct BadCommit {
    source: &'static str,
    tarball: Vec<u8>,
    claimed_digest: Option<String>,
    reason: &'static str,
    message_parts: Vec<String>,
}

/// The bad commits, for limits of 64 KiB compressed and 1 MiB extracted.
fn bad_commits(ns: &str) -> Vec<BadCommit> {
    let fetch_failed = |source, tarball, parts: &[&str]| BadCommit {
        source,
        tarball,
        claimed_digest: None,
        reason: REASON_SOURCE_FETCH_FAILED,
        message_parts: parts.iter().map(|p| (*p).to_owned()).collect(),
    };
    let with = |extra: TarEntry| {
        let mut tree = jb_tree("bad");
        tree.push(extra);
        tar_gz(&tree)
    };
    let absolute = format!("/tmp/{ns}-absolute.jsonnet");
    let mut escaping = jb_tree("bad");
    escaping[1] = TarEntry::file("main.jsonnet", "{ leaked: importstr 'escape/passwd' }");
    escaping.push(TarEntry::symlink("escape", "../../../../../../../../../../etc"));
    vec![
        BadCommit {
            claimed_digest: Some(sha256_digest(b"other bytes")),
            ..fetch_failed("digest", tar_gz(&jb_tree("bad")), &["digest mismatch"])
        },
        fetch_failed("oversized", incompressible(128 * 1024), &["--source-max-archive-bytes=65536"]),
        fetch_failed("bomb", gzip_bomb(8 * 1024 * 1024), &["--source-max-extracted-bytes=1048576"]),
        fetch_failed("dotdot", with(TarEntry::file("../escape.jsonnet", "{}")), &["../escape.jsonnet", "`..`"]),
        fetch_failed("absolute", with(TarEntry::file(&absolute, "{}")), &[&absolute, "is absolute"]),
        BadCommit {
            source: "symlink",
            tarball: tar_gz(&escaping),
            claimed_digest: None,
            reason: "EvaluationFailed",
            message_parts: vec!["escape/passwd".to_owned()],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_artifacts_fail_with_their_reason_and_keep_the_last_good_one() {
    let cache = tempfile::tempdir().unwrap();
    let cache_flag = format!("--source-cache-dir={}", cache.path().display());
    let limits = ["--source-max-archive-bytes=65536", "--source-max-extracted-bytes=1048576", cache_flag.as_str()];
    let world = World::start("bad", &limits).await;
    let bad = bad_commits(&world.ns.name);
    for commit in &bad {
        world.commit(GIT, commit.source, &jb_tree(commit.source)).await;
        world.create_snippet(commit.source, json!({"sourceRef": source_ref(GIT, commit.source)})).await;
    }
    let mut good = Vec::new();
    for commit in &bad {
        let revision = world.wait_ready(commit.source, None).await;
        good.push((revision, world.external_artifact(commit.source).await.unwrap().status.unwrap().artifact));
    }
    for commit in &bad {
        let (ns, tarball) = (&world.ns.name, commit.tarball.clone());
        let digest = commit.claimed_digest.clone().unwrap_or_else(|| sha256_digest(&tarball));
        world.server.publish_claiming(&world.client, GIT, ns, commit.source, tarball, &digest).await;
    }
    for (commit, (revision, artifact)) in bad.iter().zip(good) {
        let failed = world.wait_failed(commit.source, commit.reason).await;
        for part in &commit.message_parts {
            assert!(failed.message.contains(part.as_str()), "{}: {part:?} not in {:?}", commit.source, failed.message);
        }
        assert_eq!(failed.revision.as_ref(), Some(&revision), "{}: status.revision is kept", commit.source);
        let now = world.external_artifact(commit.source).await.unwrap().status.unwrap().artifact;
        assert_eq!(now, artifact, "{}: the ExternalArtifact is unchanged", commit.source);
        assert_eq!(world.storage.stored(&world.ns.name, commit.source).await, [revision], "{}", commit.source);
    }
    assert!(!Path::new(&format!("/tmp/{}-absolute.jsonnet", world.ns.name)).exists(), "an absolute name was written");
    let logs = world.controller.logs();
    assert!(logs.contains("skipping a symlink that leaves the tree"), "the escaping link was skipped at untar");
    let escaped = files_named(cache.path(), "escape.jsonnet");
    assert!(escaped.is_empty(), "a `..` name was written: {escaped:?}");
    world.finish().await;
}

/// Every file called `name` below `dir`.
fn files_named(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let (path, kind) = (entry.path(), entry.file_type().unwrap());
        if kind.is_dir() {
            found.extend(files_named(&path, name));
        } else if entry.file_name() == name {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_unready_and_cross_namespace_sources_have_their_reasons() {
    let world = World::start("reasons", &[]).await;
    world.create_snippet("missing", json!({"sourceRef": source_ref(GIT, "nowhere")})).await;
    create_source(&world.client, GIT, &world.ns.name, "unready").await;
    world.create_snippet("waiting", json!({"sourceRef": source_ref(GIT, "unready")})).await;
    let other = TestNamespace::create(&world.client, "reasons-src").await;
    world.server.publish(&world.client, GIT, &other.name, "elsewhere", tar_gz(&jb_tree("elsewhere"))).await;
    let reference = json!({"kind": "GitRepository", "name": "elsewhere", "namespace": other.name});
    world.create_snippet("cross", json!({"sourceRef": reference})).await;

    let missing = world.wait_failed("missing", REASON_SOURCE_NOT_FOUND).await;
    assert!(missing.message.contains("nowhere"), "{}", missing.message);
    let waiting = world.wait_failed("waiting", REASON_SOURCE_NOT_READY).await;
    assert!(waiting.message.contains("unready"), "{}", waiting.message);
    let cross = world.wait_failed("cross", REASON_CROSS_NAMESPACE_REF_REJECTED).await;
    assert!(cross.message.contains(&other.name), "{}", cross.message);
    for name in ["missing", "waiting", "cross"] {
        assert!(world.external_artifact(name).await.is_none(), "{name}: nothing published");
    }

    // The source appearing, and the source getting its first artifact, are changes the controller watches.
    world.commit(GIT, "nowhere", &jb_tree("found")).await;
    world.commit(GIT, "unready", &jb_tree("ready")).await;
    world.wait_ready("missing", None).await;
    world.wait_ready("waiting", None).await;
    assert_eq!(widget_data(&world.rendered("waiting").await)["commit"], "ready");
    other.delete().await;
    world.finish().await;
}
